"""``Permute``, ``RepeatVector``, ``Identity`` and ``Lambda``: Keras's small rearranging layers."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["Permute", "RepeatVector", "Identity", "Lambda"]


class Permute(Layer):
    """Reorder the axes of each sample: ``dims`` is a permutation of ``1..rank`` (the batch axis stays first).

    Example:
        >>> from meddl.layers import Permute
        >>> Permute((2, 1))([[[1.0, 2.0, 3.0]]]).shape
        torch.Size([1, 3, 1])
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            self.dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise MeddlError(f"The 'dims' parameter of Permute must be a tuple of axes such as (2, 1). "
                             f"Got {dims!r} instead.") from None
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise MeddlError(f"The 'dims' of Permute must be a permutation of 1..{len(self.dims)} (axis 0, the "
                             f"batch, stays first). Got {dims!r} instead.")

    def build(self, input_shape) -> None:
        if len(input_shape) != len(self.dims):
            raise MeddlError(f"Permute {self.dims} needs samples with {len(self.dims)} axes; got shape "
                             f"{tuple(input_shape)}.")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *self.dims)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[d - 1] for d in self.dims)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dims": list(self.dims)}


class RepeatVector(Layer):
    """Repeat each ``(N, features)`` sample ``n`` times: ``(N, n, features)`` (e.g. to feed a recurrent decoder)."""

    def __init__(self, n: int, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise MeddlError(f"The 'n' parameter of RepeatVector must be a positive integer. Got {n!r} instead.")
        self.n = n

    def build(self, input_shape) -> None:
        if len(input_shape) != 1:
            raise MeddlError(f"RepeatVector needs inputs of shape (features,); got {tuple(input_shape)}.")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x.unsqueeze(1).expand(-1, self.n, -1)

    def compute_output_shape(self, input_shape):
        return (self.n, *input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "n": self.n}


class Identity(Layer):
    """Return the inputs unchanged (a placeholder, as Keras's)."""

    supports_masking = True  # steps kept: a padding mask passes through

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x


class Lambda(Layer):
    """Wrap a function of tensors as a layer, as Keras's ``Lambda``: ``Lambda(lambda x: x / 255.0)``.

    The function must use torch operations. It is Python code, not data, so a model
    holding a ``Lambda`` trains and predicts but cannot be saved: the error says to
    write a layer of your own instead (``call`` plus ``get_config``), which can be.
    """

    def __init__(self, function: Any, output_shape: Any = None, arguments: dict | None = None, **kwargs):
        super().__init__(**kwargs)
        if not callable(function):
            raise MeddlError(f"Lambda needs a function of tensors, e.g. Lambda(lambda x: x / 255.0). "
                             f"Got {function!r} instead.")
        self.function, self.arguments = function, dict(arguments or {})

    def call(self, x: torch.Tensor) -> torch.Tensor:
        out = self.function(x, **self.arguments)
        if not isinstance(out, torch.Tensor):
            raise MeddlError(f"The function of Lambda layer '{self.name}' must return a torch tensor; got "
                             f"{type(out).__name__}. Use torch operations in it.")
        return out

    def compute_output_shape(self, input_shape):
        with torch.no_grad():
            return tuple(self.call(torch.zeros((1, *input_shape), dtype=self._compute_dtype())).shape[1:])

    def get_config(self) -> dict[str, Any]:
        raise MeddlError(f"Lambda layer '{self.name}' holds Python code, which meddl does not save (loading it "
                         "would run code from a file). Write a layer of your own: subclass meddl.layers.Layer with "
                         "call() and get_config(), and register it (see meddl.layers.Layer).")
