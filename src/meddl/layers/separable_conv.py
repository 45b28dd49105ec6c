"""``DepthwiseConv2D`` and ``SeparableConv2D``: the light convolutions of MobileNet-style networks, Keras semantics.

A depthwise convolution filters each input channel on its own (``depth_multiplier``
filters per channel); a separable convolution follows it with a 1×1 convolution
mixing the channels. For ``C`` input channels, ``F`` filters and a ``k×k`` kernel
that is ``k²·C + C·F`` weights instead of ``k²·C·F``: a network that fits a
small CPU or a small data set (limited compute, scarce data). Weights are stored
in torch's grouped-convolution layout; ``get_weights`` and Keras import use
Keras's ``depthwise_kernel (kh, kw, C, multiplier)`` and ``pointwise_kernel
(1, 1, C·multiplier, F)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.initializers import check_initializer, initialize_
from meddl.layers.spatial import check_padding, output_length, pad_same, pair, to_channels_first, to_channels_last

__all__ = ["DepthwiseConv2D", "SeparableConv2D"]


def _positive_int(value: Any, argument: str, layer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise MeddlError(f"The '{argument}' parameter of {layer} must be a positive integer. Got {value!r} instead.")
    return int(value)


class DepthwiseConv2D(Layer):
    """Filter each channel of ``(N, H, W, C)`` images on its own: ``C · depth_multiplier`` output channels.

    Example:
        >>> from meddl.layers import DepthwiseConv2D
        >>> layer = DepthwiseConv2D(3, padding="same", depth_multiplier=2)
    """

    REGULARIZED_WEIGHTS = {"depthwise_regularizer": "depthwise_kernel", "pointwise_regularizer": "pointwise_kernel",
                           "bias_regularizer": "bias"}

    def __init__(self, kernel_size, strides=(1, 1), padding: str = "valid", depth_multiplier: int = 1,
                 data_format: str | None = None, dilation_rate=(1, 1), activation=None, use_bias: bool = True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, **kwargs):
        super().__init__(activation=activation, **kwargs)
        self._set_regularizers(depthwise_regularizer=depthwise_regularizer, bias_regularizer=bias_regularizer,
                               activity_regularizer=activity_regularizer)
        layer = type(self).__name__
        check_channels_last(data_format, layer)
        self.kernel_size = pair(kernel_size, "kernel_size", layer)
        self.strides = pair(strides, "strides", layer)
        self.dilation_rate = pair(dilation_rate, "dilation_rate", layer)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise MeddlError(f"{layer} does not support strides > 1 together with dilation_rate > 1 (Keras refuses "
                             f"it too). Got strides={self.strides} and dilation_rate={self.dilation_rate}.")
        self.padding = check_padding(padding, layer)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier", layer)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = check_initializer(depthwise_initializer, "depthwise_initializer", layer)
        self.bias_initializer = check_initializer(bias_initializer, "bias_initializer", layer)
        self.depthwise_kernel: nn.Parameter | None = None
        self.bias: nn.Parameter | None = None

    def _channels(self, input_shape: tuple[int, ...]) -> int:
        if len(input_shape) != 3:
            raise MeddlError(f"{type(self).__name__} expects inputs of shape (height, width, channels); got inputs "
                             f"of shape {tuple(input_shape)}. For grayscale images add the channel axis, x[..., None].")
        return input_shape[-1]

    def _build_depthwise(self, channels: int) -> None:
        receptive = math.prod(self.kernel_size)  # Keras's fans for (kh, kw, C, multiplier)
        kernel = torch.empty(channels * self.depth_multiplier, 1, *self.kernel_size)
        self.depthwise_kernel = nn.Parameter(initialize_(kernel, self.depthwise_initializer, receptive * channels,
                                                         receptive * self.depth_multiplier))

    def build(self, input_shape: tuple[int, ...]) -> None:
        channels = self._channels(input_shape)
        self._build_depthwise(channels)
        if self.use_bias:
            size = channels * self.depth_multiplier
            self.bias = nn.Parameter(initialize_(torch.empty(size), self.bias_initializer, 1, size))

    def _depthwise(self, x_first: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        if self.padding == "same":
            x_first = pad_same(x_first, self.kernel_size, self.strides, self.dilation_rate)
        return F.conv2d(x_first, self.depthwise_kernel, bias, stride=self.strides, dilation=self.dilation_rate,
                        groups=x_first.shape[1])

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return to_channels_last(self._depthwise(to_channels_first(x), self.bias))

    def _spatial_output(self, input_shape: tuple[int, ...]) -> tuple[int, int]:
        spatial = tuple(output_length(n, k, s, self.padding, d) for n, k, s, d in
                        zip(input_shape[:2], self.kernel_size, self.strides, self.dilation_rate))
        if min(spatial) <= 0:
            raise MeddlError(f"{type(self).__name__} '{self.name}' with kernel_size {self.kernel_size} cannot be "
                             f"applied to inputs of shape {tuple(input_shape)}: the output would be empty.")
        return spatial

    def compute_output_shape(self, input_shape):
        return (*self._spatial_output(input_shape), input_shape[-1] * self.depth_multiplier)

    def keras_weight(self, key: str, tensor: torch.Tensor) -> np.ndarray:
        array = tensor.detach().cpu().numpy()
        if key == "depthwise_kernel":  # (C·m, 1, kh, kw) -> (kh, kw, C, m)
            array = array.reshape(-1, self.depth_multiplier, *self.kernel_size).transpose(2, 3, 0, 1)
        elif key == "pointwise_kernel":  # (F, C·m, 1, 1) -> (1, 1, C·m, F)
            array = array.transpose(2, 3, 1, 0)
        return array.copy()

    def from_keras_weight(self, key: str, array: np.ndarray) -> torch.Tensor:
        array = np.asarray(array)
        if key == "depthwise_kernel" and array.ndim == 4:
            array = array.transpose(2, 3, 0, 1).reshape(-1, 1, *array.shape[:2])
        elif key == "pointwise_kernel" and array.ndim == 4:
            array = array.transpose(3, 2, 0, 1)
        return torch.as_tensor(np.ascontiguousarray(array))

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "kernel_size": list(self.kernel_size), "strides": list(self.strides),
                  "padding": self.padding, "depth_multiplier": self.depth_multiplier,
                  "dilation_rate": list(self.dilation_rate), "use_bias": self.use_bias, **self._regularizer_config()}
        for key, default in (("depthwise_initializer", "glorot_uniform"), ("bias_initializer", "zeros")):
            if getattr(self, key) != default:
                config[key] = getattr(self, key)
        return config


class SeparableConv2D(DepthwiseConv2D):
    """A depthwise convolution, then a 1×1 convolution to ``filters`` channels (Keras's ``SeparableConv2D``).

    Example:
        >>> from meddl.layers import SeparableConv2D
        >>> layer = SeparableConv2D(32, 3, padding="same", activation="relu")
    """

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 data_format: str | None = None, dilation_rate=(1, 1), depth_multiplier: int = 1, activation=None,
                 use_bias: bool = True, depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, pointwise_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding, depth_multiplier=depth_multiplier,
                         data_format=data_format, dilation_rate=dilation_rate, activation=activation,
                         use_bias=use_bias, depthwise_initializer=depthwise_initializer,
                         bias_initializer=bias_initializer, depthwise_regularizer=depthwise_regularizer,
                         bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer, **kwargs)
        self._set_regularizers(pointwise_regularizer=pointwise_regularizer)
        self.filters = _positive_int(filters, "filters", type(self).__name__)
        self.pointwise_initializer = check_initializer(pointwise_initializer, "pointwise_initializer",
                                                       type(self).__name__)
        self.pointwise_kernel: nn.Parameter | None = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        channels = self._channels(input_shape)
        self._build_depthwise(channels)
        mixed = channels * self.depth_multiplier  # Keras's fans for (1, 1, C·m, F)
        self.pointwise_kernel = nn.Parameter(initialize_(torch.empty(self.filters, mixed, 1, 1),
                                                         self.pointwise_initializer, mixed, self.filters))
        if self.use_bias:
            self.bias = nn.Parameter(initialize_(torch.empty(self.filters), self.bias_initializer, 1, self.filters))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return to_channels_last(F.conv2d(self._depthwise(to_channels_first(x), None), self.pointwise_kernel, self.bias))

    def compute_output_shape(self, input_shape):
        return (*self._spatial_output(input_shape), self.filters)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "filters": self.filters}
        if self.pointwise_initializer != "glorot_uniform":
            config["pointwise_initializer"] = self.pointwise_initializer
        return config
