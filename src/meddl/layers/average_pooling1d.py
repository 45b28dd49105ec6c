"""``AveragePooling1D`` (alias ``AvgPool1D``)."""

from __future__ import annotations

from meddl.layers.base_pooling import BasePooling

__all__ = ["AveragePooling1D", "AvgPool1D"]


class AveragePooling1D(BasePooling):
    """Average pooling over signals ``(N, steps, C)``; with 'same' padding the pad is left out of the mean, as in Keras."""

    rank = 1
    mode = "average"


AvgPool1D = AveragePooling1D  # Keras's alias
