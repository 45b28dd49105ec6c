"""``Conv3D``: 3-D convolution over channels-last volumes ``(N, depth, height, width, channels)`` (CT, MRI)."""

from __future__ import annotations

from meddl.layers.base_conv import BaseConv

__all__ = ["Conv3D"]


class Conv3D(BaseConv):
    """3-D convolution with Keras's arguments and defaults (strides 1, 'valid' padding, glorot-uniform kernel).

    Example:
        >>> from meddl.layers import Conv3D
        >>> layer = Conv3D(8, (3, 3, 3), padding="same", activation="relu")
    """

    rank = 3
