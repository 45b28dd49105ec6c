"""``BatchNormalization`` over the last (channel) axis, with Keras's defaults and statistics."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.initializers import check_initializer, initialize_
from meddl.layers.spatial import channels_first, channels_last

__all__ = ["BatchNormalization"]


class BatchNormalization(Layer):
    """Normalise the last axis with batch statistics in training and moving averages at inference.

    Keras's defaults: ``momentum=0.99`` (the moving average keeps 99% of its old
    value each step; torch's ``momentum`` is ``1 - momentum``) and ``epsilon=1e-3``.
    The moving variance averages the *biased* batch variance, as Keras does
    (torch's own ``batch_norm`` would average the unbiased one, n/(n−1) larger:
    0.11 apart on Keras's momentum-0 test with a batch of 10). A layer with
    ``trainable = False`` runs in inference mode, as in Keras 3 (fine-tuning).
    Keras counts the moving mean and variance as (non-trainable) parameters; so does ``summary``.
    """

    def __init__(self, axis: int = -1, momentum: float = 0.99, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones", *, name: str | None = None,
                 input_shape: tuple[int, ...] | None = None, trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        if isinstance(axis, float):  # an old positional call BatchNormalization(0.9) meant the momentum
            axis, momentum = -1, axis
        if axis != -1:
            raise MeddlError(f"The 'axis' parameter of BatchNormalization must be -1 (the channel axis, last in meddl). "
                             f"Got {axis!r} instead.")
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise MeddlError(f"The 'momentum' parameter of BatchNormalization must be in [0, 1]. Got {momentum!r} instead.")
        if epsilon <= 0:
            raise MeddlError(f"The 'epsilon' parameter of BatchNormalization must be positive. Got {epsilon!r} instead.")
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.initializers = {key: check_initializer(value, key, "BatchNormalization") for key, value in (
            ("beta_initializer", beta_initializer), ("gamma_initializer", gamma_initializer),
            ("moving_mean_initializer", moving_mean_initializer),
            ("moving_variance_initializer", moving_variance_initializer))}

    def build(self, input_shape: tuple[int, ...]) -> None:
        channels = input_shape[-1]

        def vector(key: str) -> torch.Tensor:
            return initialize_(torch.empty(channels), self.initializers[key], channels, channels)

        self.gamma = nn.Parameter(vector("gamma_initializer")) if self.scale else None
        self.beta = nn.Parameter(vector("beta_initializer")) if self.center else None
        self.register_buffer("moving_mean", vector("moving_mean_initializer"))
        self.register_buffer("moving_variance", vector("moving_variance_initializer"))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        first = channels_first(x) if x.dim() > 2 else x  # torch's layout, a view (no copy)
        if self.training and self.trainable:
            # Normalise with torch's fused kernel; keep the moving statistics ourselves (biased variance).
            y = F.batch_norm(first, None, None, self.gamma, self.beta, True, 0.0, self.epsilon)
            with torch.no_grad():
                dims = [d for d in range(x.dim()) if d != x.dim() - 1]
                variance, mean = torch.var_mean(x.detach(), dim=dims, correction=0)
                self.moving_mean.lerp_(mean.to(self.moving_mean.dtype), 1.0 - self.momentum)
                self.moving_variance.lerp_(variance.to(self.moving_variance.dtype), 1.0 - self.momentum)
        else:
            y = F.batch_norm(first, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                             False, 0.0, self.epsilon)
        return channels_last(y) if x.dim() > 2 else y

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                  "center": self.center, "scale": self.scale}
        defaults = {"beta_initializer": "zeros", "gamma_initializer": "ones", "moving_mean_initializer": "zeros",
                    "moving_variance_initializer": "ones"}
        config.update({key: value for key, value in self.initializers.items() if value != defaults[key]})
        return config
