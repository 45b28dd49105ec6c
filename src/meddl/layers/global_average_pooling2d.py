"""``GlobalAveragePooling2D`` (alias ``GlobalAvgPool2D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BaseGlobalPooling

__all__ = ["GlobalAveragePooling2D", "GlobalAvgPool2D"]


class GlobalAveragePooling2D(BaseGlobalPooling):
    """Mean over the height and width axes: ``(N, H, W, C)`` → ``(N, C)``."""

    rank = 2
    mode = "average"


GlobalAvgPool2D = GlobalAveragePooling2D  # Keras's alias
