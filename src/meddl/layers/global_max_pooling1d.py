"""``GlobalMaxPooling1D`` (alias ``GlobalMaxPool1D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BaseGlobalPooling

__all__ = ["GlobalMaxPooling1D", "GlobalMaxPool1D"]


class GlobalMaxPooling1D(BaseGlobalPooling):
    """Maximum over the time axis: ``(N, steps, C)`` → ``(N, C)``."""

    rank = 1
    mode = "max"


GlobalMaxPool1D = GlobalMaxPooling1D  # Keras's alias
