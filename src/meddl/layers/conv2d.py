"""``Conv2D``: 2-D convolution over channels-last images, Keras semantics."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.initializers import glorot_uniform_
from meddl.layers.spatial import check_padding, output_length, pad_same, pair, to_channels_first, to_channels_last

__all__ = ["Conv2D"]


class Conv2D(Layer):
    """2-D convolution over ``(N, H, W, C)`` images.

    Args:
        filters: number of output channels.
        kernel_size: an int or a pair ``(kh, kw)``.
        strides: an int or a pair (default 1, as in Keras).
        padding: ``"valid"`` (default, as in Keras) or ``"same"`` (TensorFlow's rule).
        dilation_rate: an int or a pair.
        activation: activation name; ``None`` is linear.

    The kernel is stored in torch's ``(filters, C, kh, kw)`` layout (for speed);
    parameter counts equal Keras's.

    Example:
        >>> from meddl.layers import Conv2D
        >>> layer = Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1))
    """

    def __init__(self, filters: int, kernel_size=3, strides=1, padding: str = "valid", activation: str | None = None, *,
                 dilation_rate=1, use_bias: bool = True, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, trainable: bool = True):
        super().__init__(name=name, input_shape=input_shape, activation=activation, trainable=trainable)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise MeddlError(f"The 'filters' parameter of Conv2D must be a positive integer. Got {filters!r} instead.")
        self.filters = filters
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = pair(strides, "strides", "Conv2D")
        self.dilation_rate = pair(dilation_rate, "dilation_rate", "Conv2D")
        self.padding = check_padding(padding, "Conv2D")
        self.use_bias = bool(use_bias)
        self.kernel: nn.Parameter | None = None
        self.bias: nn.Parameter | None = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise MeddlError(
                f"Conv2D expects images of shape (height, width, channels); got inputs of shape {tuple(input_shape)}. "
                "For grayscale images add the channel axis, e.g. x[..., None]."
            )
        channels = input_shape[-1]
        kh, kw = self.kernel_size
        self.kernel = nn.Parameter(glorot_uniform_(torch.empty(self.filters, channels, kh, kw),
                                                   kh * kw * channels, kh * kw * self.filters))
        if self.use_bias:
            self.bias = nn.Parameter(torch.zeros(self.filters))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        x = to_channels_first(x)
        if self.padding == "same":
            x = pad_same(x, self.kernel_size, self.strides, self.dilation_rate)
        y = F.conv2d(x, self.kernel, self.bias, stride=self.strides, dilation=self.dilation_rate)
        return to_channels_last(y)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        height, width, _ = input_shape
        out_h = output_length(height, self.kernel_size[0], self.strides[0], self.padding, self.dilation_rate[0])
        out_w = output_length(width, self.kernel_size[1], self.strides[1], self.padding, self.dilation_rate[1])
        if out_h <= 0 or out_w <= 0:
            raise MeddlError(
                f"Conv2D '{self.name}' with kernel_size {self.kernel_size} cannot be applied to inputs of shape "
                f"{tuple(input_shape)}: the output would be empty. Use padding='same' or a smaller kernel."
            )
        return (out_h, out_w, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "dilation_rate": list(self.dilation_rate), "use_bias": self.use_bias}
