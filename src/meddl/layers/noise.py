"""Keras's regularising layers: the noise layers, active only in training (``GaussianNoise``,
``GaussianDropout``), and ``ActivityRegularization``, a penalty on activations added to the loss."""

from __future__ import annotations

import math
from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.regularizers import L1L2

__all__ = ["GaussianNoise", "GaussianDropout", "ActivityRegularization"]


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


class ActivityRegularization(Layer):
    """The identity, adding ``l1·Σ|x| + l2·Σx²`` of its input, divided by the batch size as in Keras 3, to the
    training loss (Keras's ``ActivityRegularization``: sparse or small activations).

    Example:
        >>> from meddl.layers import ActivityRegularization
        >>> layer = ActivityRegularization(l1=1e-4)
    """

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, l1: float = 0.0, l2: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.activity_regularizer = L1L2(l1, l2)  # checks the factors
        self.l1, self.l2 = self.activity_regularizer.l1, self.activity_regularizer.l2

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
