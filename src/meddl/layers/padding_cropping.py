"""``ZeroPadding1D``/``3D`` and ``Cropping1D``/``3D``: zeros added at, or steps/voxels removed from, the edges of
channels-last signals ``(N, steps, C)`` and volumes ``(N, D, H, W, C)`` (a 3-D U-Net's skip connections);
the 2-D layers are ``ZeroPadding2D`` and ``Cropping2D``."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.base_pooling import check_rank

__all__ = ["ZeroPadding1D", "ZeroPadding3D", "Cropping1D", "Cropping3D"]


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def edge_amounts(value: Any, rank: int, argument: str, layer: str) -> tuple[tuple[int, int], ...]:
    """Keras's forms: an int (every edge), ``rank`` ints (both edges of each axis), or ``rank`` pairs
    ``(before, after)``; for one axis, a pair is ``(before, after)``. Non-negative ints only."""
    message = (f"The '{argument}' parameter of {layer} must be a non-negative int, "
               + ("a pair (before, after)" if rank == 1 else f"{rank} ints, or {rank} pairs (before, after)")
               + f". Got {value!r} instead.")
    if _is_int(value):
        pairs = ((int(value), int(value)),) * rank
    elif rank == 1 and isinstance(value, (list, tuple)) and len(value) == 2 and all(map(_is_int, value)):
        pairs = ((int(value[0]), int(value[1])),)
    elif isinstance(value, (list, tuple)) and len(value) == rank and all(map(_is_int, value)):
        pairs = tuple((int(v), int(v)) for v in value)
    elif (isinstance(value, (list, tuple)) and len(value) == rank
          and all(isinstance(p, (list, tuple)) and len(p) == 2 and all(map(_is_int, p)) for p in value)):
        pairs = tuple((int(p[0]), int(p[1])) for p in value)
    else:
        raise MeddlError(message)
    if min(min(pair) for pair in pairs) < 0:
        raise MeddlError(message)
    return pairs


class _EdgeLayer(Layer):
    rank = 1
    argument = "padding"

    def __init__(self, amounts, data_format: str | None = None, *, name: str | None = None, input_shape=None,
                 trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        check_channels_last(data_format, type(self).__name__)
        self.amounts = edge_amounts(amounts, self.rank, self.argument, type(self).__name__)

    def build(self, input_shape) -> None:
        check_rank(input_shape, self.rank, type(self).__name__)
        self.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), self.argument: [list(pair) for pair in self.amounts]}


class _ZeroPadding(_EdgeLayer):
    def call(self, x: torch.Tensor) -> torch.Tensor:
        pads = [0, 0]  # the channel axis, last
        for before, after in reversed(self.amounts):
            pads += [before, after]
        return F.pad(x, pads)

    def compute_output_shape(self, input_shape):
        return (*(size + sum(pair) for size, pair in zip(input_shape[:-1], self.amounts)), input_shape[-1])


class _Cropping(_EdgeLayer):
    argument = "cropping"

    def call(self, x: torch.Tensor) -> torch.Tensor:
        windows = tuple(slice(before, size - after) for (before, after), size in zip(self.amounts, x.shape[1:-1]))
        return x[(slice(None), *windows)]

    def compute_output_shape(self, input_shape):
        if any(sum(pair) >= size for size, pair in zip(input_shape[:-1], self.amounts)):
            raise MeddlError(f"{type(self).__name__} {[list(p) for p in self.amounts]} leaves nothing of inputs of "
                             f"shape {tuple(input_shape)}.")
        return (*(size - sum(pair) for size, pair in zip(input_shape[:-1], self.amounts)), input_shape[-1])


class ZeroPadding1D(_ZeroPadding):
    """Pad the steps of ``(N, steps, C)`` signals with zeros: ``padding`` an int or ``(before, after)``."""

    def __init__(self, padding=1, **kwargs):
        super().__init__(padding, **kwargs)


class ZeroPadding3D(_ZeroPadding):
    """Pad depth, height and width of ``(N, D, H, W, C)`` volumes with zeros (Keras's default 1 on every edge)."""

    rank = 3

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs):
        super().__init__(padding, data_format, **kwargs)


class Cropping1D(_Cropping):
    """Remove steps at the start and end of ``(N, steps, C)`` signals: ``cropping`` an int or ``(before, after)``."""

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(cropping, **kwargs)


class Cropping3D(_Cropping):
    """Remove voxels at the edges of ``(N, D, H, W, C)`` volumes (Keras's default 1 on every edge)."""

    rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format: str | None = None, **kwargs):
        super().__init__(cropping, data_format, **kwargs)
