"""Keras's ``keras.activations`` namespace: activation functions on torch tensors, ``get`` and ``serialize``.

Example:
    >>> import meddl
    >>> layer = meddl.layers.Dense(8, activation=meddl.activations.relu6)
"""

from meddl.layers.activations import (celu, elu, exponential, gelu, get, hard_sigmoid, hard_silu, hard_tanh,
                                      leaky_relu, linear, log_sigmoid, log_softmax, mish, relu, relu6, selu,
                                      serialize, sigmoid, silu, softmax, softplus, softsign, swish, tanh)
from meddl.errors import missing_name

__all__ = ["celu", "elu", "exponential", "gelu", "get", "hard_sigmoid", "hard_silu", "hard_tanh", "leaky_relu",
           "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu", "serialize", "sigmoid", "silu",
           "softmax", "softplus", "softsign", "swish", "tanh"]

def __getattr__(name: str):
    raise missing_name("meddl.activations", name, __all__)
