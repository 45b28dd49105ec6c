"""``UpSampling1D``, ``UpSampling2D``, ``UpSampling3D``: repeat each position (2-D also interpolates bilinearly),
channels last, as Keras's."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.base_pooling import check_rank
from meddl.layers.spatial import ntuple, to_channels_first, to_channels_last

__all__ = ["UpSampling1D", "UpSampling2D", "UpSampling3D"]

INTERPOLATIONS = ("nearest", "bilinear")


class _Repeat(Layer):
    """Repeat each position ``size`` times along each spatial axis (nearest-neighbour up-sampling)."""

    rank = 1

    def __init__(self, size=2, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        name = type(self).__name__
        check_channels_last(data_format, name)
        self.size = ntuple(size, self.rank, "size", name)

    def build(self, input_shape) -> None:
        check_rank(input_shape, self.rank, type(self).__name__)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        for axis, factor in enumerate(self.size, start=1):
            x = x.repeat_interleave(factor, dim=axis)
        return x

    def compute_output_shape(self, input_shape):
        return (*(n * f for n, f in zip(input_shape[:-1], self.size)), input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "size": self.size[0] if self.rank == 1 else list(self.size)}


class UpSampling1D(_Repeat):
    """Repeat each step of ``(N, steps, C)`` signals ``size`` times (Keras default 2)."""

    rank = 1


class UpSampling2D(_Repeat):
    """Scale height and width by ``size`` (Keras default 2): ``"nearest"`` repeats each pixel, ``"bilinear"``
    interpolates with half-pixel centres (Keras 3's resize; torch's ``align_corners=False``).

    Example:
        >>> from meddl.layers import UpSampling2D
        >>> UpSampling2D(2)([[[[1.0], [2.0]]]]).shape
        torch.Size([1, 2, 4, 1])
    """

    rank = 2

    def __init__(self, size=(2, 2), data_format: str | None = None, interpolation: str = "nearest", **kwargs):
        super().__init__(size, data_format, **kwargs)
        if interpolation not in INTERPOLATIONS:
            raise MeddlError(f"The 'interpolation' parameter of UpSampling2D must be 'nearest' or 'bilinear'. "
                             f"Got {interpolation!r} instead.")
        self.interpolation = interpolation

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if self.interpolation == "nearest":
            return super().call(x)
        y = F.interpolate(to_channels_first(x), scale_factor=self.size, mode="bilinear", align_corners=False)
        return to_channels_last(y)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "interpolation": self.interpolation}


class UpSampling3D(_Repeat):
    """Repeat each voxel of ``(N, D, H, W, C)`` volumes ``size`` times per axis (Keras default (2, 2, 2))."""

    rank = 3
