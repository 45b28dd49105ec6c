"""``Conv1DTranspose``, ``Conv2DTranspose``, ``Conv3DTranspose``: transposed convolutions (a U-Net decoder's
up-convolution, in 2-D for images and 3-D for CT and MRI volumes), Keras semantics.

Each is the adjoint of the convolution of the same rank with the same kernel,
strides and padding: for ``padding="same"`` the output is ``input × strides``
positions, cropped as the gradient of a same-padded convolution is (Keras's and
TensorFlow's rule); for ``"valid"`` it is ``input × strides + max(kernel − strides, 0)``.
The kernel is stored in torch's ``(in, filters, *kernel)`` layout; ``get_weights``
and Keras import use Keras's ``(*kernel, filters, in)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base_conv import BaseConv
from meddl.layers.initializers import initialize_
from meddl.layers.spatial import channels_first, channels_last

__all__ = ["Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"]

_TRANSPOSED = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def transposed_length(length: int, kernel: int, stride: int, padding: str) -> int:
    """Keras's output length of a transposed convolution (no output_padding)."""
    return length * stride if padding == "same" else length * stride + max(kernel - stride, 0)


class BaseConvTranspose(BaseConv):
    """Transposed N-D convolution with Keras's arguments; subclasses set ``rank``."""

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", output_padding=None,
                 data_format: str | None = None, dilation_rate=1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer, **kwargs)
        if output_padding is not None or max(self.dilation_rate) != 1:
            raise MeddlError(f"{type(self).__name__} in meddl supports output_padding=None and dilation_rate=1 "
                             f"only. Got output_padding={output_padding!r}, dilation_rate={dilation_rate!r}.")

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != self.rank + 1:
            raise MeddlError(f"{type(self).__name__} expects inputs with {self.rank} spatial axes and channels last; "
                             f"got inputs of shape {tuple(input_shape)}.")
        channels, receptive = input_shape[-1], math.prod(self.kernel_size)
        # Keras's fans for a (*kernel, filters, in) kernel: fan_in = filters·|kernel|, fan_out = in·|kernel|
        kernel = torch.empty(channels, self.filters, *self.kernel_size)
        self.kernel = nn.Parameter(initialize_(kernel, self.kernel_initializer, receptive * self.filters,
                                               receptive * channels))
        if self.use_bias:
            self.bias = nn.Parameter(initialize_(torch.empty(self.filters), self.bias_initializer, 1, self.filters))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        full = _TRANSPOSED[self.rank](channels_first(x), self.kernel, stride=self.strides)  # (in − 1)·s + k
        for axis, (length, k, s) in enumerate(zip(x.shape[1:-1], self.kernel_size, self.strides), start=2):
            target = transposed_length(length, k, s, self.padding)
            start = max(full.shape[axis] - target, 0) // 2 if self.padding == "same" else 0  # as same padding pads
            full = full.narrow(axis, start, min(target, full.shape[axis] - start))
            if full.shape[axis] < target:  # kernel < strides: the last positions get no contribution
                full = F.pad(full, [0, 0] * (full.ndim - 1 - axis) + [0, target - full.shape[axis]])
        if self.bias is not None:
            full = full + self.bias.view(1, -1, *([1] * self.rank))
        return channels_last(full)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        spatial = (transposed_length(n, k, s, self.padding)
                   for n, k, s in zip(input_shape[:-1], self.kernel_size, self.strides))
        return (*spatial, self.filters)

    # keras_weight / from_keras_weight are BaseConv's: the same axis permutation maps torch's
    # (in, filters, *kernel) to Keras's (*kernel, filters, in).


class Conv1DTranspose(BaseConvTranspose):
    """Transposed 1-D convolution over ``(N, steps, C)`` signals."""

    rank = 1


class Conv2DTranspose(BaseConvTranspose):
    """Transposed 2-D convolution over ``(N, H, W, C)`` images (up-sampling with learnt filters).

    Example:
        >>> from meddl.layers import Conv2DTranspose
        >>> Conv2DTranspose(8, 3, strides=2, padding="same").compute_output_shape((14, 14, 16))
        (28, 28, 8)
    """

    rank = 2


class Conv3DTranspose(BaseConvTranspose):
    """Transposed 3-D convolution over ``(N, D, H, W, C)`` volumes (a 3-D U-Net's decoder)."""

    rank = 3
