"""Layers that merge a list of tensors into one (``Add``, ``Multiply``, ``Concatenate``, ...)."""

from __future__ import annotations

import functools
import warnings

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer, padding_mask, refuse_unsupported

__all__ = ["BaseMerge", "fold_real_steps"]


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
        masks = [padding_mask(tensor) for tensor in inputs]
        if all(mask is None for mask in masks):
            return self.merge(list(inputs))
        merged = self.merge_masked(list(inputs), masks)
        mask = self.merged_mask(list(inputs), masks)
        if mask is not None:
            merged._keras_mask = mask
        if any(mask is None for mask in masks) and self.loses_partial_masks(inputs) \
                and not self.__dict__.get("_mask_warned"):
            self.__dict__["_mask_warned"] = True
            warnings.warn(f"Layer '{self.name}' ({type(self).__name__}) merges inputs of which only some carry a "
                          "padding mask; as in Keras, an input without one counts every step as real, so the "
                          "layers after it see the padding (mask the other inputs too, e.g. with the same "
                          "Embedding(mask_zero=True) codes).", stacklevel=4)
        return merged

    #: combines its inputs' padding masks itself (Keras's ``compute_mask`` of the merge layers)
    consumes_mask = True

    def loses_partial_masks(self, inputs: list[torch.Tensor]) -> bool:
        """Whether the output counts every step as real when only some inputs carry a padding mask."""
        return True

    def merge_masked(self, tensors: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        """The merge of inputs some of which carry padding masks: the plain merge (``Add``, ``Average``, ...);
        ``Maximum``, ``Minimum`` and ``Multiply`` leave the padded steps out, as Keras's do."""
        return self.merge(tensors)

    def merged_mask(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor | None:
        """Keras's rule: a step is real where it is real in any input, when every input has a mask (an input
        without one counts all its steps as real, so the output has none)."""
        if any(mask is None for mask in masks):
            return None
        return functools.reduce(torch.logical_or, masks)

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError


def fold_real_steps(operation, tensors: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
    """``Maximum`` / ``Minimum`` over the inputs' real steps, as Keras's: at a step padded in one input, the
    others' values are taken (where every input is padded, the inputs' own values are combined)."""
    output, output_mask = tensors[0], masks[0]
    for tensor, mask in zip(tensors[1:], masks[1:]):
        if mask is not None:
            tensor = torch.where(mask.unsqueeze(-1), tensor, output)
        if output_mask is not None:
            output = torch.where(output_mask.unsqueeze(-1), output, tensor)
        output_mask = output_mask | mask if mask is not None and output_mask is not None else None
        output = operation(output, tensor)
    return output
