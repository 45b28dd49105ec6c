"""``GlobalAveragePooling1D`` (alias ``GlobalAvgPool1D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BaseGlobalPooling

__all__ = ["GlobalAveragePooling1D", "GlobalAvgPool1D"]


class GlobalAveragePooling1D(BaseGlobalPooling):
    """Mean over the time axis: ``(N, steps, C)`` → ``(N, C)``; over the real steps only when the input carries
    a padding mask (``Embedding(mask_zero=True)``, ``Masking``)."""

    rank = 1
    mode = "average"
    consumes_mask = True


GlobalAvgPool1D = GlobalAveragePooling1D  # Keras's alias
