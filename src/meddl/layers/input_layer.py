"""``Input``: declares the shape of one sample (without the batch axis)."""

from __future__ import annotations

from typing import Any

import torch

from meddl.layers.base import Layer, _as_shape

__all__ = ["Input", "InputLayer"]


class InputLayer(Layer):
    """Declares the input shape of a ``Sequential`` model; passes data through unchanged.

    Example:
        >>> from meddl import Sequential
        >>> from meddl.layers import Input, Dense
        >>> model = Sequential([Input(shape=(100,)), Dense(10)])
    """

    def __init__(self, shape: tuple[int, ...], *, name: str | None = None):
        super().__init__(name=name)
        self.shape = _as_shape(shape, "shape")
        self.input_shape_arg = self.shape

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape)}

    @property
    def default_name(self) -> str:
        return "input"


def Input(shape: tuple[int, ...], *, name: str | None = None) -> InputLayer:  # noqa: N802 - Keras's name
    """Keras-style ``Input(shape=...)`` for use as the first entry of ``Sequential``."""
    return InputLayer(shape, name=name)
