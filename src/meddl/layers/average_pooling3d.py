"""``AveragePooling3D`` (alias ``AvgPool3D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BasePooling

__all__ = ["AveragePooling3D", "AvgPool3D"]


class AveragePooling3D(BasePooling):
    """Average pooling over volumes ``(N, D, H, W, C)``; with 'same' padding the pad is left out of the mean."""

    rank = 3
    mode = "average"


AvgPool3D = AveragePooling3D  # Keras's alias
