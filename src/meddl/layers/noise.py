"""Keras's regularising noise layers, active only in training: ``GaussianNoise`` and ``GaussianDropout``."""

from __future__ import annotations

import math
from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["GaussianNoise", "GaussianDropout"]


class GaussianNoise(Layer):
    """Add zero-mean Gaussian noise of standard deviation ``stddev`` in training; identity at inference.

    Example:
        >>> from meddl.layers import GaussianNoise
        >>> layer = GaussianNoise(0.1)
    """

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, stddev: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(stddev, bool) or not isinstance(stddev, (int, float)) or stddev < 0:
            raise MeddlError(f"The 'stddev' parameter of GaussianNoise must be a number >= 0. Got {stddev!r} instead.")
        self.stddev = float(stddev)
        self.seed = seed  # accepted for Keras compatibility; meddl.utils.set_random_seed governs randomness

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.stddev == 0:
            return x
        return x + torch.randn_like(x) * self.stddev

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "stddev": self.stddev}


class GaussianDropout(Layer):
    """Multiply by Gaussian noise of mean 1 and variance ``rate / (1 − rate)`` in training (Srivastava et al.
    2014, as dropout's variance); identity at inference."""

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise MeddlError(f"The 'rate' parameter of GaussianDropout must be a float in the range [0, 1). "
                             f"Got {rate!r} instead.")
        self.rate = float(rate)
        self.seed = seed

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        return x * (1.0 + torch.randn_like(x) * math.sqrt(self.rate / (1.0 - self.rate)))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}
