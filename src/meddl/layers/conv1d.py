"""``Conv1D``: 1-D convolution over channels-last signals ``(N, steps, channels)`` (ECG, EEG, time series)."""

from __future__ import annotations

from meddl.layers.base_conv import BaseConv

__all__ = ["Conv1D"]


class Conv1D(BaseConv):
    """1-D convolution with Keras's arguments: ``padding`` is 'valid', 'same' or 'causal' (output at t sees
    only inputs up to t, for forecasting from signals).

    Example:
        >>> from meddl.layers import Conv1D
        >>> layer = Conv1D(16, 7, strides=2, padding="same", activation="relu")
    """

    rank = 1
    paddings = ("valid", "same", "causal")
