"""The convolution shared by ``Conv1D``, ``Conv2D`` and ``Conv3D`` (Keras's ``base_conv``).

Inputs are channels-last ``(N, *spatial, C)``, as in Keras. The kernel is
stored in torch's ``(filters, C/groups, *kernel)`` layout so the convolution
runs on torch's kernels without a copy; ``get_weights``/``set_weights`` and
Keras model import use Keras's ``(*kernel, C/groups, filters)`` layout.
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
from meddl.layers.initializers import check_initializer, initialize_
from meddl.layers.spatial import channels_first, channels_last, ntuple, output_length, pad_same_nd

__all__ = ["BaseConv", "check_channels_last"]

_CONVOLUTIONS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_AXES = {1: "(steps, channels)", 2: "(height, width, channels)", 3: "(depth, height, width, channels)"}


def check_channels_last(data_format: str | None, layer: str) -> None:
    if data_format not in (None, "channels_last"):
        raise MeddlError(f"The 'data_format' parameter of {layer} must be 'channels_last' (meddl keeps channels last, "
                         f"as Keras does by default). Got {data_format!r} instead; move the channel axis last with "
                         "np.moveaxis(x, 1, -1).")


class BaseConv(Layer):
    """N-D convolution with Keras's arguments and defaults; subclasses set ``rank``."""

    rank = 2
    paddings = ("valid", "same")

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", data_format: str | None = None,
                 dilation_rate=1, groups: int = 1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, *, name: str | None = None,
                 input_shape=None, trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, activation=activation, trainable=trainable, dtype=dtype)
        layer = type(self).__name__
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise MeddlError(f"The 'filters' parameter of {layer} must be a positive integer. Got {filters!r} instead.")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0 or filters % groups:
            raise MeddlError(f"The 'groups' parameter of {layer} must be a positive integer dividing filters "
                             f"({filters}). Got {groups!r} instead.")
        check_channels_last(data_format, layer)
        self.filters, self.groups = int(filters), groups
        self.kernel_size = ntuple(kernel_size, self.rank, "kernel_size", layer)
        self.strides = ntuple(strides, self.rank, "strides", layer)
        self.dilation_rate = ntuple(dilation_rate, self.rank, "dilation_rate", layer)
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise MeddlError(f"{layer} does not support strides > 1 together with dilation_rate > 1 (Keras refuses "
                             f"it too). Got strides={self.strides} and dilation_rate={self.dilation_rate}.")
        if not isinstance(padding, str) or padding.lower() not in self.paddings:
            allowed = " or ".join(", ".join(repr(p) for p in self.paddings).rsplit(", ", 1))
            raise MeddlError(f"The 'padding' parameter of {layer} must be {allowed}. Got {padding!r} instead.")
        self.padding = padding.lower()
        self.use_bias = bool(use_bias)
        self.kernel_initializer = check_initializer(kernel_initializer, "kernel_initializer", layer)
        self.bias_initializer = check_initializer(bias_initializer, "bias_initializer", layer)
        self._set_regularizers(kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                               activity_regularizer=activity_regularizer)
        self.kernel: nn.Parameter | None = None
        self.bias: nn.Parameter | None = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        layer = type(self).__name__
        if len(input_shape) != self.rank + 1:
            hint = " For grayscale images add the channel axis, e.g. x[..., None]." if self.rank == 2 else ""
            raise MeddlError(f"{layer} expects inputs of shape {_AXES[self.rank]}; got inputs of shape "
                             f"{tuple(input_shape)}.{hint}")
        channels = input_shape[-1]
        if channels % self.groups:
            raise MeddlError(f"{layer} has groups={self.groups}, which must divide the input channels ({channels}).")
        per_group = channels // self.groups
        receptive = math.prod(self.kernel_size)
        kernel = torch.empty(self.filters, per_group, *self.kernel_size)
        self.kernel = nn.Parameter(initialize_(kernel, self.kernel_initializer, receptive * per_group,
                                               receptive * self.filters))
        if self.use_bias:
            self.bias = nn.Parameter(initialize_(torch.empty(self.filters), self.bias_initializer, 1, self.filters))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        x = channels_first(x)
        if self.padding == "same":
            x = pad_same_nd(x, self.kernel_size, self.strides, self.dilation_rate)
        elif self.padding == "causal":
            x = F.pad(x, ((self.kernel_size[0] - 1) * self.dilation_rate[0], 0))
        y = _CONVOLUTIONS[self.rank](x, self.kernel, self.bias, stride=self.strides, dilation=self.dilation_rate,
                                     groups=self.groups)
        return channels_last(y)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        padding = "same" if self.padding == "causal" else self.padding
        spatial = tuple(output_length(length, k, s, padding, d) for length, k, s, d in
                        zip(input_shape[:-1], self.kernel_size, self.strides, self.dilation_rate))
        if min(spatial) <= 0:
            raise MeddlError(
                f"{type(self).__name__} '{self.name}' with kernel_size {self.kernel_size} cannot be applied to inputs "
                f"of shape {tuple(input_shape)}: the output would be empty. Use padding='same' or a smaller kernel."
            )
        return (*spatial, self.filters)

    def keras_weight(self, key: str, tensor: torch.Tensor) -> np.ndarray:
        array = tensor.detach().cpu().numpy()
        if key == "kernel":  # (out, in, *k) -> (*k, in, out)
            array = np.transpose(array, (*range(2, self.rank + 2), 1, 0))
        return array.copy()

    def from_keras_weight(self, key: str, array: np.ndarray) -> torch.Tensor:
        array = np.asarray(array)
        if key == "kernel" and array.ndim == self.rank + 2:
            array = np.transpose(array, (self.rank + 1, self.rank, *range(self.rank)))
        return torch.as_tensor(np.ascontiguousarray(array))

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                  "strides": list(self.strides), "padding": self.padding, "dilation_rate": list(self.dilation_rate),
                  "use_bias": self.use_bias, **self._regularizer_config()}
        if self.groups != 1:
            config["groups"] = self.groups
        for key in ("kernel_initializer", "bias_initializer"):
            if getattr(self, key) != {"kernel_initializer": "glorot_uniform", "bias_initializer": "zeros"}[key]:
                config[key] = getattr(self, key)
        return config
