"""``MaxPooling2D`` (alias ``MaxPool2D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BasePooling

__all__ = ["MaxPooling2D", "MaxPool2D"]


class MaxPooling2D(BasePooling):
    """Max pooling over images ``(N, H, W, C)`` (Keras defaults: 2×2, strides = pool_size, 'valid')."""

    rank = 2
    mode = "max"


MaxPool2D = MaxPooling2D  # Keras's alias
