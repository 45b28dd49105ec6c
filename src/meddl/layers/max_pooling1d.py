"""``MaxPooling1D`` (alias ``MaxPool1D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BasePooling

__all__ = ["MaxPooling1D", "MaxPool1D"]


class MaxPooling1D(BasePooling):
    """Max pooling over signals ``(N, steps, C)`` (Keras defaults: pool 2, strides = pool_size, 'valid')."""

    rank = 1
    mode = "max"


MaxPool1D = MaxPooling1D  # Keras's alias
