"""``UpSampling2D``: repeat (or bilinearly interpolate) rows and columns of channels-last images."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.base_pooling import check_rank
from meddl.layers.spatial import pair, to_channels_first, to_channels_last

__all__ = ["UpSampling2D"]

INTERPOLATIONS = ("nearest", "bilinear")


class UpSampling2D(Layer):
    """Scale height and width by ``size`` (Keras default 2): ``"nearest"`` repeats each pixel, ``"bilinear"``
    interpolates with half-pixel centres (Keras 3's resize; torch's ``align_corners=False``).

    Example:
        >>> from meddl.layers import UpSampling2D
        >>> UpSampling2D(2)([[[[1.0], [2.0]]]]).shape
        torch.Size([1, 2, 4, 1])
    """

    def __init__(self, size=(2, 2), data_format: str | None = None, interpolation: str = "nearest", **kwargs):
        super().__init__(**kwargs)
        check_channels_last(data_format, "UpSampling2D")
        self.size = pair(size, "size", "UpSampling2D")
        if interpolation not in INTERPOLATIONS:
            raise MeddlError(f"The 'interpolation' parameter of UpSampling2D must be 'nearest' or 'bilinear'. "
                             f"Got {interpolation!r} instead.")
        self.interpolation = interpolation

    def build(self, input_shape) -> None:
        check_rank(input_shape, 2, "UpSampling2D")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if self.interpolation == "nearest":
            return x.repeat_interleave(self.size[0], dim=1).repeat_interleave(self.size[1], dim=2)
        y = F.interpolate(to_channels_first(x), scale_factor=self.size, mode="bilinear", align_corners=False)
        return to_channels_last(y)

    def compute_output_shape(self, input_shape):
        height, width, channels = input_shape
        return (height * self.size[0], width * self.size[1], channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": list(self.size), "interpolation": self.interpolation}
