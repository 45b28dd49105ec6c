"""``BatchNormalization`` over the last (channel) axis, with Keras's defaults."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalise the last axis with batch statistics in training and moving averages at inference.

    Keras's defaults: ``momentum=0.99`` (the moving average keeps 99% of its old
    value each step; torch's ``momentum`` is ``1 - momentum``) and ``epsilon=1e-3``.
    Keras counts the moving mean and variance as (non-trainable) parameters; so does ``summary``.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, *, center: bool = True, scale: bool = True,
                 name: str | None = None, input_shape: tuple[int, ...] | None = None, trainable: bool = True):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable)
        if not 0 <= momentum < 1:
            raise MeddlError(f"The 'momentum' parameter of BatchNormalization must be in [0, 1). Got {momentum!r} instead.")
        if epsilon <= 0:
            raise MeddlError(f"The 'epsilon' parameter of BatchNormalization must be positive. Got {epsilon!r} instead.")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)

    def build(self, input_shape: tuple[int, ...]) -> None:
        channels = input_shape[-1]
        self.gamma = nn.Parameter(torch.ones(channels)) if self.scale else None
        self.beta = nn.Parameter(torch.zeros(channels)) if self.center else None
        self.register_buffer("moving_mean", torch.zeros(channels))
        self.register_buffer("moving_variance", torch.ones(channels))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        # Frozen layers run in inference mode, as Keras does for fine-tuning.
        training = self.training and self.trainable
        if x.dim() == 4:  # (N, H, W, C): normalise channels in torch's layout (a view, no copy)
            y = F.batch_norm(x.permute(0, 3, 1, 2), self.moving_mean, self.moving_variance, self.gamma, self.beta,
                             training, 1.0 - self.momentum, self.epsilon)
            return y.permute(0, 2, 3, 1)
        if x.dim() == 2:
            return F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                                training, 1.0 - self.momentum, self.epsilon)
        flat = x.reshape(-1, x.shape[-1])
        return F.batch_norm(flat, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                            training, 1.0 - self.momentum, self.epsilon).reshape(x.shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}
