"""``Conv2DTranspose``: the transposed 2-D convolution (a U-Net decoder's up-convolution), Keras semantics.

It is the adjoint of ``Conv2D`` with the same kernel, strides and padding: for
``padding="same"`` the output is ``input × strides`` pixels, cropped as the
gradient of a same-padded convolution is (Keras's and TensorFlow's rule); for
``"valid"`` it is ``input × strides + max(kernel − strides, 0)``. The kernel is
stored in torch's ``(in, filters, kh, kw)`` layout; ``get_weights`` and Keras
import use Keras's ``(kh, kw, filters, in)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base_conv import BaseConv
from meddl.layers.initializers import initialize_
from meddl.layers.spatial import to_channels_first, to_channels_last

__all__ = ["Conv2DTranspose"]


def transposed_length(length: int, kernel: int, stride: int, padding: str) -> int:
    """Keras's output length of a transposed convolution (no output_padding)."""
    return length * stride if padding == "same" else length * stride + max(kernel - stride, 0)


class Conv2DTranspose(BaseConv):
    """Transposed 2-D convolution over ``(N, H, W, C)`` images (up-sampling with learnt filters).

    Example:
        >>> from meddl.layers import Conv2DTranspose
        >>> Conv2DTranspose(8, 3, strides=2, padding="same").compute_output_shape((14, 14, 16))
        (28, 28, 8)
    """

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid", output_padding=None,
                 data_format: str | None = None, dilation_rate=(1, 1), activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         kernel_initializer=kernel_initializer, bias_initializer=bias_initializer, **kwargs)
        if output_padding is not None or self.dilation_rate != (1, 1):
            raise MeddlError(f"Conv2DTranspose in meddl supports output_padding=None and dilation_rate=1 only. Got "
                             f"output_padding={output_padding!r}, dilation_rate={dilation_rate!r}.")

    def build(self, input_shape: tuple[int, ...]) -> None:
        if len(input_shape) != 3:
            raise MeddlError(f"Conv2DTranspose expects inputs of shape (height, width, channels); got inputs of "
                             f"shape {tuple(input_shape)}.")
        channels, receptive = input_shape[-1], math.prod(self.kernel_size)
        # Keras's fans for a (kh, kw, filters, in) kernel: fan_in = filters·kh·kw, fan_out = in·kh·kw
        kernel = torch.empty(channels, self.filters, *self.kernel_size)
        self.kernel = nn.Parameter(initialize_(kernel, self.kernel_initializer, receptive * self.filters,
                                               receptive * channels))
        if self.use_bias:
            self.bias = nn.Parameter(initialize_(torch.empty(self.filters), self.bias_initializer, 1, self.filters))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        full = F.conv_transpose2d(to_channels_first(x), self.kernel, stride=self.strides)  # (in − 1)·s + k
        for axis, (length, k, s) in enumerate(zip(x.shape[1:3], self.kernel_size, self.strides), start=2):
            target = transposed_length(length, k, s, self.padding)
            crop = max(full.shape[axis] - target, 0)
            start = crop // 2 if self.padding == "same" else 0  # a same-padded convolution pads total // 2 first
            full = full.narrow(axis, start, min(target, full.shape[axis] - start))
            if full.shape[axis] < target:  # kernel < strides: the last pixels get no contribution
                extra = target - full.shape[axis]
                full = F.pad(full, [0, extra] if axis == 3 else [0, 0, 0, extra])
        if self.bias is not None:
            full = full + self.bias.view(1, -1, 1, 1)
        return to_channels_last(full)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        height, width = (transposed_length(n, k, s, self.padding)
                         for n, k, s in zip(input_shape[:2], self.kernel_size, self.strides))
        return (height, width, self.filters)

    def keras_weight(self, key: str, tensor: torch.Tensor) -> np.ndarray:
        array = tensor.detach().cpu().numpy()
        return (np.transpose(array, (2, 3, 1, 0)) if key == "kernel" else array).copy()  # (in, out, kh, kw) -> Keras

    def from_keras_weight(self, key: str, array: np.ndarray) -> torch.Tensor:
        array = np.asarray(array)
        if key == "kernel" and array.ndim == 4:
            array = np.transpose(array, (3, 2, 0, 1))
        return torch.as_tensor(np.ascontiguousarray(array))
