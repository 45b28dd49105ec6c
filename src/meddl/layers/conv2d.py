"""``Conv2D``: 2-D convolution over channels-last images, Keras semantics."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from meddl.layers.base_conv import BaseConv
from meddl.layers.spatial import pad_same, to_channels_first, to_channels_last

__all__ = ["Conv2D"]


class Conv2D(BaseConv):
    """2-D convolution over ``(N, H, W, C)`` images.

    Args:
        filters: number of output channels.
        kernel_size: an int or a pair ``(kh, kw)``.
        strides: an int or a pair (default 1, as in Keras).
        padding: ``"valid"`` (default, as in Keras) or ``"same"`` (TensorFlow's rule).
        dilation_rate: an int or a pair (not together with strides > 1, as in Keras).
        groups: grouped convolution (``filters`` and the input channels divisible by it).
        activation: activation name or callable; ``None`` is linear.

    The kernel is stored in torch's ``(filters, C, kh, kw)`` layout (for speed);
    ``get_weights`` gives Keras's ``(kh, kw, C, filters)``; parameter counts equal Keras's.

    Example:
        >>> from meddl.layers import Conv2D
        >>> layer = Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1))
    """

    rank = 2

    def call(self, x: torch.Tensor) -> torch.Tensor:
        # The 2-D path keeps fixed permutes (the seed CNN's hot path, bench/seed_throughput.py).
        x = to_channels_first(x)
        strides = self.strides
        if self.kernel_size == (1, 1) and strides != (1, 1):
            # A strided 1×1 convolution is a 1×1 convolution of every strides-th pixel ("same" pads nothing
            # here). Computed that way because torch 2.13's oneDNN kernel for it returns a wrong kernel
            # gradient, run to run different, and corrupts the heap on AVX2 CPUs (measured on an AMD EPYC
            # with 1–4 input channels: ResidualBlock's shortcut; tests/layers/test_conv_strided_pointwise.py).
            x, strides = x[:, :, ::strides[0], ::strides[1]], (1, 1)
        elif self.padding == "same":
            x = pad_same(x, self.kernel_size, strides, self.dilation_rate)
        y = F.conv2d(x, self.kernel, self.bias, stride=strides, dilation=self.dilation_rate, groups=self.groups)
        return to_channels_last(y)
