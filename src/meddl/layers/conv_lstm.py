"""``ConvLSTM1D``/``2D``/``3D``: an LSTM whose gates are convolutions, for sequences of signals, images or
volumes (cine MRI, perfusion series, echocardiogram frames) that keep their spatial layout (Shi et al. 2015)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers import activations
from meddl.layers.base import Layer, refuse_unsupported
from meddl.layers.base_conv import check_channels_last
from meddl.layers.initializers import check_initializer, initialize_
from meddl.layers.spatial import channels_first, channels_last, check_padding, ntuple, output_length, pad_same_nd

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]

_CONVOLUTIONS = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


class _ConvLSTM(Layer):
    """Keras's ConvLSTM over inputs ``(N, steps, *spatial, C)``; the gates (input, forget, cell, output, in
    Keras's order) convolve the input (``padding``, ``strides``) and the last hidden state ('same'). Weights in
    Keras's layout: ``kernel`` ``(*kernel_size, C, 4·filters)``, ``recurrent_kernel`` ``(*kernel_size, filters,
    4·filters)``."""

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid", data_format: str | None = None,
                 dilation_rate=1, activation="tanh", recurrent_activation="sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 unit_forget_bias: bool = True, dropout: float = 0.0, recurrent_dropout: float = 0.0,
                 return_sequences: bool = False, return_state: bool = False, go_backwards: bool = False,
                 stateful: bool = False, *, name: str | None = None, input_shape=None, trainable: bool = True,
                 dtype=None, **ignored):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        layer = type(self).__name__
        refuse_unsupported(ignored, layer)
        check_channels_last(data_format, layer)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise MeddlError(f"The 'filters' parameter of {layer} must be a positive integer. Got {filters!r} instead.")
        if dropout or recurrent_dropout or stateful:
            raise MeddlError(f"{layer} in meddl does not support dropout, recurrent_dropout or stateful=True; put a "
                             "SpatialDropout layer before it instead.")
        self.filters = int(filters)
        self.kernel_size = ntuple(kernel_size, self.rank, "kernel_size", layer)
        self.strides = ntuple(strides, self.rank, "strides", layer)
        self.dilation_rate = ntuple(dilation_rate, self.rank, "dilation_rate", layer)
        self.padding = check_padding(padding, layer)
        self.activation_name = activations.serialize(activation)
        self.recurrent_activation_name = activations.serialize(recurrent_activation)
        self.cell_activation, self.gate_activation = activations.get(activation), activations.get(recurrent_activation)
        self.use_bias, self.unit_forget_bias = bool(use_bias), bool(unit_forget_bias)
        self.kernel_initializer = check_initializer(kernel_initializer, "kernel_initializer", layer)
        self.recurrent_initializer = check_initializer(recurrent_initializer, "recurrent_initializer", layer)
        self.bias_initializer = check_initializer(bias_initializer, "bias_initializer", layer)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)

    def build(self, input_shape) -> None:
        if len(input_shape) != self.rank + 2:
            raise MeddlError(f"{type(self).__name__} expects sequences of shape (steps, {'spatial, ' * self.rank}"
                             f"channels); got inputs of shape {tuple(input_shape)}.")
        channels, width = input_shape[-1], 4 * self.filters
        receptive = int(np.prod(self.kernel_size))
        kernel = torch.empty(*self.kernel_size, channels, width)
        self.kernel = nn.Parameter(initialize_(kernel, self.kernel_initializer, channels * receptive,
                                               width * receptive))
        recurrent = torch.empty(*self.kernel_size, self.filters, width)
        self.recurrent_kernel = nn.Parameter(initialize_(recurrent, self.recurrent_initializer,
                                                         self.filters * receptive, width * receptive))
        if self.use_bias:
            bias = initialize_(torch.empty(width), self.bias_initializer, width, width)
            if self.unit_forget_bias:
                bias[self.filters:2 * self.filters] = 1.0
            self.bias = nn.Parameter(bias)
        else:
            self.bias = None

    def _torch_kernel(self, kernel: torch.Tensor) -> torch.Tensor:
        """Keras's ``(*kernel, in, out)`` to torch's ``(out, in, *kernel)``."""
        return kernel.permute(self.rank + 1, self.rank, *range(self.rank))

    def call(self, x: torch.Tensor):
        steps = x.shape[1]
        if self.go_backwards:
            x = x.flip(1)
        frames = channels_first(x.reshape(-1, *x.shape[2:]))  # (N·steps, C, *spatial)
        if self.padding == "same":
            frames = pad_same_nd(frames, self.kernel_size, self.strides, self.dilation_rate)
        convolve = _CONVOLUTIONS[self.rank]
        projected = convolve(frames, self._torch_kernel(self.kernel), self.bias, stride=self.strides,
                             dilation=self.dilation_rate)
        projected = projected.reshape(x.shape[0], steps, *projected.shape[1:])
        recurrent_kernel = self._torch_kernel(self.recurrent_kernel)
        hidden = projected.new_zeros(x.shape[0], self.filters, *projected.shape[3:])
        cell = torch.zeros_like(hidden)
        outputs = []
        for t in range(steps):
            gates = projected[:, t] + convolve(pad_same_nd(hidden, self.kernel_size, (1,) * self.rank),
                                               recurrent_kernel)
            i, f, c, o = gates.chunk(4, dim=1)
            cell = self.gate_activation(f) * cell + self.gate_activation(i) * self.cell_activation(c)
            hidden = self.gate_activation(o) * self.cell_activation(cell)
            if self.return_sequences:
                outputs.append(channels_last(hidden))
        sequence = torch.stack(outputs, dim=1) if self.return_sequences else channels_last(hidden)
        if self.return_state:
            return [sequence, channels_last(hidden), channels_last(cell)]
        return sequence

    def compute_output_shape(self, input_shape):
        spatial = tuple(output_length(length, k, s, self.padding, d) for length, k, s, d in
                        zip(input_shape[1:-1], self.kernel_size, self.strides, self.dilation_rate))
        if min(spatial) <= 0:
            raise MeddlError(f"{type(self).__name__} '{self.name}' with kernel_size {self.kernel_size} cannot be "
                             f"applied to inputs of shape {tuple(input_shape)}: the output would be empty.")
        frame = (*spatial, self.filters)
        output = (input_shape[0], *frame) if self.return_sequences else frame
        return [output, frame, frame] if self.return_state else output

    def get_config(self) -> dict[str, Any]:
        if None in (self.activation_name, self.recurrent_activation_name):
            raise MeddlError(f"Layer '{self.name}' uses a custom activation function, which cannot be saved.")
        config = {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                  "strides": list(self.strides), "padding": self.padding, "dilation_rate": list(self.dilation_rate),
                  "activation": self.activation_name, "recurrent_activation": self.recurrent_activation_name,
                  "use_bias": self.use_bias, "unit_forget_bias": self.unit_forget_bias,
                  "return_sequences": self.return_sequences, "return_state": self.return_state,
                  "go_backwards": self.go_backwards}
        for argument, default in (("kernel_initializer", "glorot_uniform"), ("recurrent_initializer", "orthogonal"),
                                  ("bias_initializer", "zeros")):
            if getattr(self, argument) != default:
                config[argument] = getattr(self, argument)
        return config


class ConvLSTM1D(_ConvLSTM):
    """ConvLSTM over sequences of signals ``(N, steps, length, C)``."""

    rank = 1


class ConvLSTM2D(_ConvLSTM):
    """ConvLSTM over sequences of images ``(N, steps, H, W, C)`` (cine MRI, echocardiogram frames).

    Example:
        >>> from meddl.layers import ConvLSTM2D
        >>> layer = ConvLSTM2D(16, 3, padding="same", return_sequences=True)
    """

    rank = 2


class ConvLSTM3D(_ConvLSTM):
    """ConvLSTM over sequences of volumes ``(N, steps, D, H, W, C)``."""

    rank = 3
