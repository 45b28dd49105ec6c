"""``MaxPooling3D`` (alias ``MaxPool3D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BasePooling

__all__ = ["MaxPooling3D", "MaxPool3D"]


class MaxPooling3D(BasePooling):
    """Max pooling over volumes ``(N, D, H, W, C)`` (Keras defaults: 2×2×2, strides = pool_size, 'valid')."""

    rank = 3
    mode = "max"


MaxPool3D = MaxPooling3D  # Keras's alias
