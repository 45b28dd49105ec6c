"""``GlobalMaxPooling3D`` (alias ``GlobalMaxPool3D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BaseGlobalPooling

__all__ = ["GlobalMaxPooling3D", "GlobalMaxPool3D"]


class GlobalMaxPooling3D(BaseGlobalPooling):
    """Maximum over depth, height and width: ``(N, D, H, W, C)`` → ``(N, C)``."""

    rank = 3
    mode = "max"


GlobalMaxPool3D = GlobalMaxPooling3D  # Keras's alias
