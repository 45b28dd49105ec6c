"""``Concatenate``: join tensors along one axis (e.g. image features and clinical variables)."""

from __future__ import annotations

import functools
from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import refuse_unsupported
from meddl.layers.base_merge import BaseMerge

__all__ = ["Concatenate"]


class Concatenate(BaseMerge):
    """Concatenate a list of tensors along ``axis`` (default the last, as in Keras); other axes must match.

    Example:
        >>> import meddl
        >>> from meddl import layers
        >>> image, clinical = meddl.Input(shape=(64,)), meddl.Input(shape=(12,))
        >>> joined = layers.Concatenate()([image, clinical])
        >>> joined.shape
        (None, 76)
    """

    def __init__(self, axis: int = -1, *, name: str | None = None, trainable: bool = True, dtype=None, **ignored):
        super().__init__(name=name, trainable=trainable, dtype=dtype)
        refuse_unsupported(ignored, "Concatenate")
        if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
            raise MeddlError(f"The 'axis' parameter of Concatenate must be a non-zero integer (axis 0 is the batch). "
                             f"Got {axis!r} instead.")
        self.axis = axis

    def _sample_axis(self, rank: int) -> int:
        axis = self.axis if self.axis < 0 else self.axis - 1  # on shapes without the batch axis
        if not -rank <= axis < rank:
            raise MeddlError(f"Concatenate's axis {self.axis} is out of range for inputs of rank {rank + 1}.")
        return axis % rank

    def build(self, input_shape) -> None:
        shapes = self._check_list(input_shape)
        rank = len(shapes[0])
        axis = self._sample_axis(rank)
        for shape in shapes:
            if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, shapes[0])) if i != axis):
                raise MeddlError(f"Concatenate needs inputs whose shapes match except on the concatenation axis "
                                 f"({self.axis}); got shapes {[(None, *s) for s in shapes]}.")

    def compute_output_shape(self, input_shape):
        axis = self._sample_axis(len(input_shape[0]))
        shape = list(input_shape[0])
        shape[axis] = sum(s[axis] for s in input_shape)
        return tuple(shape)

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(tensors, dim=self.axis)

    def merged_mask(self, inputs: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor | None:
        """Keras's rule: an input without a mask counts all its steps as real; joined along the steps, the masks
        are joined too; joined along the features, a step is real where it is real in any input."""
        filled = [torch.ones(tensor.shape[:2], dtype=torch.bool, device=tensor.device) if mask is None else mask
                  for tensor, mask in zip(inputs, masks)]
        if not self.loses_partial_masks(inputs):
            return torch.cat(filled, dim=1)
        return functools.reduce(torch.logical_or, filled)

    def loses_partial_masks(self, inputs: list[torch.Tensor]) -> bool:
        return self._sample_axis(inputs[0].dim() - 1) != 0  # joined along the features, not the steps

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}
