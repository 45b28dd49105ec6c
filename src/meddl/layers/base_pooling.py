"""Pooling shared by every rank (1-D signals, 2-D images, 3-D volumes), channels-last, Keras semantics."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.spatial import channels_first, channels_last, check_padding, ntuple, output_length, pad_same_nd

__all__ = ["BasePooling", "BaseGlobalPooling"]

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVERAGE = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_AXES = {1: "(steps, channels)", 2: "(height, width, channels)", 3: "(depth, height, width, channels)"}


def check_rank(input_shape, rank: int, layer: str) -> None:
    if len(input_shape) != rank + 1:
        raise MeddlError(f"{layer} expects inputs of shape {_AXES[rank]}; got inputs of shape {tuple(input_shape)}.")


class BasePooling(Layer):
    """Max or average pooling over ``rank`` spatial axes; subclasses set ``rank`` and ``mode``."""

    rank = 2
    mode = "max"

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", data_format: str | None = None, *,
                 name: str | None = None, input_shape=None, trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        layer = type(self).__name__
        check_channels_last(data_format, layer)
        self.pool_size = ntuple(pool_size, self.rank, "pool_size", layer)
        self.strides = self.pool_size if strides is None else ntuple(strides, self.rank, "strides", layer)
        self.padding = check_padding(padding, layer)

    def build(self, input_shape) -> None:
        check_rank(input_shape, self.rank, type(self).__name__)

    def compute_output_shape(self, input_shape):
        out = tuple(output_length(length, k, s, self.padding)
                    for length, k, s in zip(input_shape[:-1], self.pool_size, self.strides))
        if min(out) <= 0:
            raise MeddlError(f"{type(self).__name__} '{self.name}' with pool_size {self.pool_size} cannot be applied "
                             f"to inputs of shape {tuple(input_shape)}: the output would be empty.")
        return (*out, input_shape[-1])

    def call(self, x: torch.Tensor) -> torch.Tensor:
        x = channels_first(x)
        if self.mode == "max":
            if self.padding == "same":
                x = pad_same_nd(x, self.pool_size, self.strides, value=float("-inf"))
            return channels_last(_MAX[self.rank](x, self.pool_size, self.strides))
        pool = _AVERAGE[self.rank]
        if self.padding == "valid":
            return channels_last(pool(x, self.pool_size, self.strides))
        # 'same': the padding is left out of each mean, as in Keras.
        ones = torch.ones_like(x[:1, :1])
        summed = pool(pad_same_nd(x, self.pool_size, self.strides), self.pool_size, self.strides)
        counts = pool(pad_same_nd(ones, self.pool_size, self.strides), self.pool_size, self.strides)
        return channels_last(summed / counts)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class BaseGlobalPooling(Layer):
    """Max or mean over every spatial axis: ``(N, *spatial, C)`` → ``(N, C)`` (or kept as 1s with ``keepdims``)."""

    rank = 2
    mode = "average"

    def __init__(self, data_format: str | None = None, keepdims: bool = False, *, name: str | None = None,
                 input_shape=None, trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        check_channels_last(data_format, type(self).__name__)
        self.keepdims = bool(keepdims)
        self._dims = tuple(range(1, self.rank + 1))

    def build(self, input_shape) -> None:
        check_rank(input_shape, self.rank, type(self).__name__)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "max":
            return x.amax(dim=self._dims, keepdim=self.keepdims)
        mask = getattr(x, "_keras_mask", None) if self.consumes_mask else None
        if mask is not None:  # the mean over the real steps only (padding left out), as Keras's
            weights = mask.to(x.dtype)[..., None]
            total = (x * weights).sum(dim=1, keepdim=self.keepdims)
            return total / weights.sum(dim=1, keepdim=self.keepdims).clamp(min=1)
        return x.mean(dim=self._dims, keepdim=self.keepdims)

    def compute_output_shape(self, input_shape):
        return (*(1,) * self.rank, input_shape[-1]) if self.keepdims else (input_shape[-1],)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        if self.keepdims:
            config["keepdims"] = True
        return config
