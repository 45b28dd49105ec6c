"""Layers without weights of their own: Flatten, Dropout, Activation."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["Flatten", "Dropout", "Activation"]


class Flatten(Layer):
    """Flatten each sample to a vector, in Keras's (height, width, channel) order."""

    def __init__(self, data_format: str | None = None, *, name: str | None = None, input_shape=None,
                 trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        if data_format not in (None, "channels_last"):
            raise MeddlError(f"The 'data_format' parameter of Flatten must be 'channels_last'. Got {data_format!r} instead.")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], -1)

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(input_shape),)


class Dropout(Layer):
    """Randomly zero a fraction ``rate`` of inputs during training (scaled by 1/(1-rate)); identity at inference."""

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, rate: float, noise_shape=None, seed: int | None = None, *, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        if noise_shape is not None:
            raise MeddlError("Dropout's 'noise_shape' is not supported; use SpatialDropout2D to drop whole channels.")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise MeddlError(f"The 'rate' parameter of Dropout must be a float in the range [0, 1). Got {rate!r} instead.")
        self.rate = float(rate)
        self.seed = seed  # accepted for Keras compatibility; meddl.set_seed governs randomness

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        return F.dropout(x, self.rate, training=True)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}


class Activation(Layer):
    """Apply an activation by name or as a callable, e.g. ``Activation("softmax")`` or ``Activation(torch.tanh)``."""

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, activation, *, name: str | None = None, input_shape: tuple[int, ...] | None = None,
                 trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, activation=activation, trainable=trainable, dtype=dtype)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "activation": self.activation_name}
