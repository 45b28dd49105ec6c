"""Layers that merge a list of tensors into one (``Add``, ``Multiply``, ``Concatenate``, ...)."""

from __future__ import annotations

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer, refuse_unsupported

__all__ = ["BaseMerge"]


class BaseMerge(Layer):
    """Element-wise merge of two or more tensors of the same shape; subclasses implement ``merge``."""

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype=None, **ignored):
        super().__init__(name=name, trainable=trainable, dtype=dtype)
        refuse_unsupported(ignored, type(self).__name__)

    def _check_list(self, input_shape) -> list[tuple[int, ...]]:
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise MeddlError(f"{type(self).__name__} must be called on a list of at least 2 tensors; "
                             f"got inputs of shape {input_shape}.")
        return input_shape

    def build(self, input_shape) -> None:
        shapes = self._check_list(input_shape)
        if any(shape != shapes[0] for shape in shapes):
            raise MeddlError(f"{type(self).__name__} needs inputs of the same shape; got shapes "
                             f"{[(None, *shape) for shape in shapes]}.")

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        return self.merge(list(inputs))

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError
