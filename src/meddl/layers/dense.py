"""``Dense``: the textbook layer y = f(xW + b)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.initializers import check_initializer, initialize_

__all__ = ["Dense"]


class Dense(Layer):
    """Fully connected layer computing ``activation(x @ kernel + bias)`` on the last axis.

    Args:
        units: number of outputs.
        activation: activation name (``"relu"``, ``"softmax"``, ...); ``None`` is linear.
        use_bias: whether to add a bias vector.
        input_shape: optional shape of one sample, e.g. ``(100,)``; inferred on first use otherwise.
        input_dim: Keras 2's ``input_dim=100``, the same as ``input_shape=(100,)``.

    The kernel has Keras's layout ``(inputs, units)`` and Keras's glorot-uniform start.

    Example:
        >>> from meddl.layers import Dense
        >>> layer = Dense(64, activation="relu", input_shape=(100,))
    """

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, units: int, activation=None, use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 *, name: str | None = None, input_shape: tuple[int, ...] | None = None,
                 input_dim: int | None = None, trainable: bool = True, dtype=None):
        if input_dim is not None:  # Keras 2's spelling, used by the seed program
            if input_shape is not None:
                raise MeddlError("Give either 'input_shape' or 'input_dim' to Dense, not both.")
            input_shape = (input_dim,)
        super().__init__(name=name, input_shape=input_shape, activation=activation, trainable=trainable, dtype=dtype)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise MeddlError(f"The 'units' parameter of Dense must be a positive integer. Got {units!r} instead.")
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = check_initializer(kernel_initializer, "kernel_initializer", "Dense")
        self.bias_initializer = check_initializer(bias_initializer, "bias_initializer", "Dense")
        self._set_regularizers(kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                               activity_regularizer=activity_regularizer)
        self.kernel: nn.Parameter | None = None
        self.bias: nn.Parameter | None = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        fan_in = input_shape[-1]
        kernel = torch.empty(fan_in, self.units)
        self.kernel = nn.Parameter(initialize_(kernel, self.kernel_initializer, fan_in, self.units))
        if self.use_bias:
            self.bias = nn.Parameter(initialize_(torch.empty(self.units), self.bias_initializer, 1, self.units))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if self.bias is not None and x.dim() == 2:
            return torch.addmm(self.bias, x, self.kernel)
        y = x @ self.kernel
        return y + self.bias if self.bias is not None else y

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "units": self.units, "use_bias": self.use_bias, **self._regularizer_config()}
        if self.kernel_initializer != "glorot_uniform":
            config["kernel_initializer"] = self.kernel_initializer
        if self.bias_initializer != "zeros":
            config["bias_initializer"] = self.bias_initializer
        return config
