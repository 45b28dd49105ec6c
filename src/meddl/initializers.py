"""Keras's ``keras.initializers`` namespace: initializer objects with arguments, and ``get``.

Example:
    >>> import meddl
    >>> layer = meddl.layers.Dense(8, kernel_initializer=meddl.initializers.RandomNormal(stddev=0.01))
"""

from meddl.layers.initializers import (Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Initializer,
                                       LecunNormal, LecunUniform, Ones, Orthogonal, RandomNormal, RandomUniform,
                                       TruncatedNormal, VarianceScaling, Zeros, get)
from meddl.errors import missing_name

__all__ = ["Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Initializer", "LecunNormal",
           "LecunUniform", "Ones", "Orthogonal", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling",
           "Zeros", "get"]

def __getattr__(name: str):
    raise missing_name("meddl.initializers", name, __all__)
