"""``Rescaling``: ``x * scale + offset`` inside the model (e.g. pixel values 0–255 to [0, 1])."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["Rescaling"]


class Rescaling(Layer):
    """Multiply by ``scale`` and add ``offset``; the same in training and inference, and saved with the model.

    Example:
        >>> from meddl.layers import Rescaling
        >>> layer = Rescaling(1.0 / 255)
    """

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, scale: float, offset: float = 0.0, *, name: str | None = None, input_shape=None,
                 trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        for argument, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise MeddlError(f"The '{argument}' parameter of Rescaling must be a number. Got {value!r} instead.")
        self.scale, self.offset = float(scale), float(offset)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale + self.offset

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "scale": self.scale, "offset": self.offset}
