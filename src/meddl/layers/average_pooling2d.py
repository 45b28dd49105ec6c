"""``AveragePooling2D`` (alias ``AvgPool2D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BasePooling

__all__ = ["AveragePooling2D", "AvgPool2D"]


class AveragePooling2D(BasePooling):
    """Average pooling over images ``(N, H, W, C)``; with 'same' padding the pad is left out of the mean, as in Keras."""

    rank = 2
    mode = "average"


AvgPool2D = AveragePooling2D  # Keras's alias
