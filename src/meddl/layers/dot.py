"""``Dot``: the dot product of two tensors along given axes, per sample (Keras's merge layer; with
``normalize=True`` the cosine similarity, e.g. of two patients' embeddings)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer, refuse_unsupported

__all__ = ["Dot"]


class Dot(Layer):
    """``Dot(axes)([x, y])``: sum over ``x``'s axis ``axes[0]`` times ``y``'s axis ``axes[1]`` (one int: the same
    axis of both; axes count the batch as 0, as Keras's). The other axes follow, ``x``'s first; two vectors
    give ``(N, 1)``.

    Example:
        >>> from meddl.layers import Dot
        >>> similarity = Dot(axes=1, normalize=True)     # on [(N, d), (N, d)] -> (N, 1)
    """

    def __init__(self, axes, normalize: bool = False, **kwargs):
        extras = {key: kwargs.pop(key) for key in list(kwargs) if key not in ("name", "trainable", "dtype")}
        super().__init__(**kwargs)
        refuse_unsupported(extras, "Dot")
        pair = [axes, axes] if isinstance(axes, int) and not isinstance(axes, bool) else axes
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2
                or not all(isinstance(a, int) and not isinstance(a, bool) for a in pair)):
            raise MeddlError(f"The 'axes' parameter of Dot must be an int or a pair of ints. Got {axes!r} instead.")
        self.axes, self.normalize = [int(a) for a in pair], bool(normalize)

    def _sample_axes(self, shapes) -> list[int]:
        """The contracted axis of each input, counted within one sample (0 is the first axis after the batch)."""
        axes = []
        for axis, shape in zip(self.axes, shapes):
            position = axis - 1 if axis > 0 else len(shape) + axis
            if not 0 <= position < len(shape):
                raise MeddlError(f"Dot(axes={self.axes}) does not fit inputs of shapes {[(None, *s) for s in shapes]}.")
            axes.append(position)
        return axes

    def build(self, input_shape) -> None:
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise MeddlError(f"Dot must be called on a list of 2 tensors; got inputs of shape {input_shape}.")
        (left, right), (ax, ay) = input_shape, self._sample_axes(input_shape)
        if left[ax] != right[ay]:
            raise MeddlError(f"Dot(axes={self.axes}) multiplies axes of sizes {left[ax]} and {right[ay]}; they must "
                             f"match (inputs of shapes {[(None, *s) for s in input_shape]}).")

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        x, y = inputs
        ax, ay = (axis + 1 for axis in self._sample_axes([tuple(x.shape[1:]), tuple(y.shape[1:])]))
        if self.normalize:
            x, y = F.normalize(x, dim=ax), F.normalize(y, dim=ay)
        x, y = x.movedim(ax, -1), y.movedim(ay, 1)
        rest_x, rest_y = x.shape[1:-1], y.shape[2:]
        product = torch.bmm(x.reshape(x.shape[0], -1, x.shape[-1]), y.reshape(y.shape[0], y.shape[1], -1))
        shape = (*rest_x, *rest_y) or (1,)
        return product.reshape(x.shape[0], *shape)

    def compute_output_shape(self, input_shape):
        (left, right), (ax, ay) = input_shape, self._sample_axes(input_shape)
        shape = tuple(d for i, d in enumerate(left) if i != ax) + tuple(d for i, d in enumerate(right) if i != ay)
        return shape or (1,)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


