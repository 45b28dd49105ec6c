"""Keras's ``keras.regularizers`` namespace: ``L1``, ``L2``, ``L1L2`` and ``l1``, ``l2``, ``l1_l2``.

Example:
    >>> import meddl
    >>> layer = meddl.layers.Dense(64, activation="relu", kernel_regularizer=meddl.regularizers.l2(0.001))
"""

from meddl.layers.regularizers import L1, L1L2, L2, Regularizer, get, l1, l1_l2, l2, serialize
from meddl.errors import missing_name

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]

def __getattr__(name: str):
    raise missing_name("meddl.regularizers", name, __all__)
