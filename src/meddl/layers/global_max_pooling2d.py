"""``GlobalMaxPooling2D`` (alias ``GlobalMaxPool2D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BaseGlobalPooling

__all__ = ["GlobalMaxPooling2D", "GlobalMaxPool2D"]


class GlobalMaxPooling2D(BaseGlobalPooling):
    """Maximum over the height and width axes: ``(N, H, W, C)`` → ``(N, C)``."""

    rank = 2
    mode = "max"


GlobalMaxPool2D = GlobalMaxPooling2D  # Keras's alias
