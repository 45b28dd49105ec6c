"""Pooling over channels-last images: max, average and global average."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.spatial import check_padding, output_length, pad_same, pair, to_channels_first, to_channels_last

__all__ = ["MaxPooling2D", "MaxPool2D", "AveragePooling2D", "AvgPool2D", "GlobalAveragePooling2D"]


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid", *, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None):
        super().__init__(name=name, input_shape=input_shape)
        layer = type(self).__name__
        self.pool_size = pair(pool_size, "pool_size", layer)
        self.strides = self.pool_size if strides is None else pair(strides, "strides", layer)
        self.padding = check_padding(padding, layer)

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise MeddlError(f"{type(self).__name__} expects images of shape (height, width, channels); "
                             f"got inputs of shape {tuple(input_shape)}.")

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        height, width, channels = input_shape
        out = (output_length(height, self.pool_size[0], self.strides[0], self.padding),
               output_length(width, self.pool_size[1], self.strides[1], self.padding))
        if min(out) <= 0:
            raise MeddlError(f"{type(self).__name__} '{self.name}' with pool_size {self.pool_size} cannot be applied "
                             f"to inputs of shape {tuple(input_shape)}: the output would be empty.")
        return (*out, channels)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding}


class MaxPooling2D(_Pooling2D):
    """Max pooling over ``(N, H, W, C)`` images (Keras defaults: 2×2, strides = pool_size, 'valid').

    Example:
        >>> from meddl.layers import MaxPooling2D
        >>> layer = MaxPooling2D((2, 2))
    """

    def call(self, x: torch.Tensor) -> torch.Tensor:
        x = to_channels_first(x)
        if self.padding == "same":
            x = pad_same(x, self.pool_size, self.strides, value=float("-inf"))
        return to_channels_last(F.max_pool2d(x, self.pool_size, self.strides))


class AveragePooling2D(_Pooling2D):
    """Average pooling over ``(N, H, W, C)`` images; with 'same' padding the pad is left out of the mean, as in Keras."""

    def call(self, x: torch.Tensor) -> torch.Tensor:
        x = to_channels_first(x)
        if self.padding == "valid":
            return to_channels_last(F.avg_pool2d(x, self.pool_size, self.strides))
        ones = torch.ones_like(x[:1, :1])
        summed = F.avg_pool2d(pad_same(x, self.pool_size, self.strides), self.pool_size, self.strides)
        counts = F.avg_pool2d(pad_same(ones, self.pool_size, self.strides), self.pool_size, self.strides)
        return to_channels_last(summed / counts)


class GlobalAveragePooling2D(Layer):
    """Mean over the height and width axes: ``(N, H, W, C)`` → ``(N, C)``."""

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise MeddlError(f"GlobalAveragePooling2D expects images of shape (height, width, channels); "
                             f"got inputs of shape {tuple(input_shape)}.")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(1, 2))

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (input_shape[-1],)


# Keras's aliases.
MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
