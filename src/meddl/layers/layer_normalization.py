"""``LayerNormalization``: normalise each sample over its last axis (Keras's defaults)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer, refuse_unsupported

__all__ = ["LayerNormalization"]


class LayerNormalization(Layer):
    """``gamma * (x - mean) / sqrt(var + epsilon) + beta`` over the last axis; same in training and inference.

    Keras's defaults: ``axis=-1``, ``epsilon=1e-3`` (torch's ``LayerNorm`` uses 1e-5), ``center``/``scale`` on.

    Example:
        >>> from meddl.layers import LayerNormalization
        >>> layer = LayerNormalization()
    """

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, axis: int = -1, epsilon: float = 1e-3, center: bool = True, scale: bool = True, *,
                 name: str | None = None, input_shape=None, trainable: bool = True, dtype=None, **ignored):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        refuse_unsupported(ignored, "LayerNormalization")
        if axis not in (-1, [-1], (-1,)):
            raise MeddlError(f"The 'axis' parameter of LayerNormalization must be -1 (the last axis). Got {axis!r} instead.")
        if not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise MeddlError(f"The 'epsilon' parameter of LayerNormalization must be positive. Got {epsilon!r} instead.")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)

    def build(self, input_shape) -> None:
        features = input_shape[-1]
        self.gamma = nn.Parameter(torch.ones(features)) if self.scale else None
        self.beta = nn.Parameter(torch.zeros(features)) if self.center else None

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, (x.shape[-1],), self.gamma, self.beta, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center, "scale": self.scale}
