"""``Reshape``: give each sample a new shape (one dimension may be -1)."""

from __future__ import annotations

import math
from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["Reshape"]


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (without the batch axis), Keras semantics.

    Example:
        >>> from meddl.layers import Reshape
        >>> layer = Reshape((28, 28, 1))
    """

    def __init__(self, target_shape, *, name: str | None = None, input_shape=None, trainable: bool = True,
                 dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        try:
            self.target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise MeddlError(f"The 'target_shape' parameter of Reshape must be a tuple of integers. "
                             f"Got {target_shape!r} instead.") from None
        if sum(d == -1 for d in self.target_shape) > 1 or any(d == 0 or d < -1 for d in self.target_shape):
            raise MeddlError(f"The 'target_shape' of Reshape must hold positive integers and at most one -1. "
                             f"Got {target_shape!r} instead.")

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(d for d in self.target_shape if d != -1)
        if (-1 in self.target_shape and size % known) or (-1 not in self.target_shape and size != known):
            raise MeddlError(f"Reshape '{self.name}' cannot reshape inputs of shape {(None, *input_shape)} "
                             f"({size} values per sample) to {(None, *self.target_shape)}.")
        return tuple(size // known if d == -1 else d for d in self.target_shape)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.output_shape_)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_shape": list(self.target_shape)}
