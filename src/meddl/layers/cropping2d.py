"""``Cropping2D``: remove rows and columns at the edges of channels-last images (e.g. a U-Net's skip connection)."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.base_pooling import check_rank
from meddl.layers.spatial import edge_pairs

__all__ = ["Cropping2D"]


class Cropping2D(Layer):
    """Crop ``((top, bottom), (left, right))`` pixels (an int or ``(rows, columns)`` crop both sides alike).

    Example:
        >>> from meddl.layers import Cropping2D
        >>> layer = Cropping2D(((2, 2), (4, 4)))
    """

    def __init__(self, cropping=((0, 0), (0, 0)), data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        check_channels_last(data_format, "Cropping2D")
        self.cropping = edge_pairs(cropping, "cropping", "Cropping2D")

    def build(self, input_shape) -> None:
        check_rank(input_shape, 2, "Cropping2D")
        self.compute_output_shape(input_shape)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        (top, bottom), (left, right) = self.cropping
        return x[:, top:x.shape[1] - bottom, left:x.shape[2] - right]

    def compute_output_shape(self, input_shape):
        height, width, channels = input_shape
        (top, bottom), (left, right) = self.cropping
        if top + bottom >= height or left + right >= width:
            raise MeddlError(f"Cropping2D {[list(p) for p in self.cropping]} leaves nothing of images of shape "
                             f"{tuple(input_shape)}.")
        return (height - top - bottom, width - left - right, channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "cropping": [list(pair) for pair in self.cropping]}
