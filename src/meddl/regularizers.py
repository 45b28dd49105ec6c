"""Keras's ``keras.regularizers`` namespace: ``L1``, ``L2``, ``L1L2`` and ``l1``, ``l2``, ``l1_l2``.

Example:
    >>> import meddl
    >>> layer = meddl.layers.Dense(64, activation="relu", kernel_regularizer=meddl.regularizers.l2(0.001))
"""

from meddl.layers.regularizers import L1, L1L2, L2, Regularizer, get, l1, l1_l2, l2, serialize

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]
