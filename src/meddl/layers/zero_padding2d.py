"""``ZeroPadding2D``: add rows and columns of zeros around channels-last images."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.base_pooling import check_rank
from meddl.layers.spatial import edge_pairs

__all__ = ["ZeroPadding2D"]


class ZeroPadding2D(Layer):
    """Pad height and width with zeros (Keras default ``padding=(1, 1)``).

    Example:
        >>> from meddl.layers import ZeroPadding2D
        >>> layer = ZeroPadding2D(((1, 2), (3, 4)))
    """

    def __init__(self, padding=(1, 1), data_format: str | None = None, *, name: str | None = None, input_shape=None,
                 trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        check_channels_last(data_format, "ZeroPadding2D")
        self.padding = edge_pairs(padding, "padding", "ZeroPadding2D")

    def build(self, input_shape) -> None:
        check_rank(input_shape, 2, "ZeroPadding2D")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = self.padding
        return F.pad(x, (0, 0, left, right, top, bottom))

    def compute_output_shape(self, input_shape):
        height, width, channels = input_shape
        (top, bottom), (left, right) = self.padding
        return (height + top + bottom, width + left + right, channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "padding": [list(pair) for pair in self.padding]}
