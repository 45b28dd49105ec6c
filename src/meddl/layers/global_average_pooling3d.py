"""``GlobalAveragePooling3D`` (alias ``GlobalAvgPool3D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BaseGlobalPooling

__all__ = ["GlobalAveragePooling3D", "GlobalAvgPool3D"]


class GlobalAveragePooling3D(BaseGlobalPooling):
    """Mean over depth, height and width: ``(N, D, H, W, C)`` → ``(N, C)``."""

    rank = 3
    mode = "average"


GlobalAvgPool3D = GlobalAveragePooling3D  # Keras's alias
