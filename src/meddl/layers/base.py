"""The base class of every meddl layer.

A layer is a ``torch.nn.Module`` whose weights are created lazily by
``build(input_shape)`` the first time it sees an input, as in Keras, so
input sizes are optional. Shapes exclude the batch axis; images are
channels-last ``(H, W, C)``.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import nn

from meddl.errors import MeddlError, NotFittedError
from meddl.layers import activations

__all__ = ["Layer"]


def _snake_case(name: str) -> str:
    name = re.sub(r"(\d)D\b", r"\1d", name)  # Conv2D -> conv2d, as Keras names it
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class Layer(nn.Module):
    """Base class: stores its config, builds its weights on first use.

    Subclasses implement ``build(input_shape)`` (create parameters),
    ``call(x)`` (the computation before the activation) and
    ``compute_output_shape(input_shape)``, and list their constructor
    arguments in ``get_config()``.
    """

    def __init__(self, *, name: str | None = None, input_shape: tuple[int, ...] | None = None,
                 activation: str | None = None, trainable: bool = True):
        super().__init__()
        if name is not None and (not isinstance(name, str) or not name):
            raise MeddlError(f"The 'name' of a layer must be a non-empty string. Got {name!r} instead.")
        self.name = name
        self.input_shape_arg = None if input_shape is None else _as_shape(input_shape, "input_shape")
        self.activation_name = activations.serialize(activation)
        self._activation_fn = activations.get(activation)
        self.built = False
        self.input_shape_: tuple[int, ...] | None = None
        self.output_shape_: tuple[int, ...] | None = None
        self.trainable = trainable

    # -- to override -------------------------------------------------------
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the layer's weights for inputs of ``input_shape`` (no batch axis)."""

    def call(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"name": self.name}
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        if self.activation_name != "linear":
            config["activation"] = self.activation_name
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        config = dict(config)
        trainable = config.pop("trainable", True)  # every layer can be frozen, whatever its __init__ takes
        layer = cls(**config)
        layer.trainable = bool(trainable)
        return layer

    # -- shared machinery --------------------------------------------------
    @property
    def default_name(self) -> str:
        return _snake_case(type(self).__name__)

    def build_for(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Build once for ``input_shape`` and return the output shape."""
        input_shape = tuple(int(d) for d in input_shape)
        if self.built:
            if input_shape != self.input_shape_:
                raise MeddlError(
                    f"Layer '{self.name}' was built for inputs of shape {_fmt(self.input_shape_)} "
                    f"but received shape {_fmt(input_shape)}."
                )
            return self.output_shape_
        self.build(input_shape)
        self.input_shape_ = input_shape
        self.output_shape_ = tuple(int(d) for d in self.compute_output_shape(input_shape))
        self.built = True
        self._apply_trainable()
        return self.output_shape_

    def _apply_trainable(self) -> None:
        for parameter in self.parameters(recurse=False):
            parameter.requires_grad_(self.trainable)

    def set_trainable(self, trainable: bool) -> None:
        """Freeze (``False``) or unfreeze this layer's weights."""
        self.trainable = bool(trainable)
        self._apply_trainable()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.built:
            raise NotFittedError(f"Layer '{self.name}' is not built yet; call the model on data or give an input_shape first.")
        return self._activation_fn(self.call(x))

    def count_params(self) -> int:
        return sum(p.numel() for p in self.parameters()) + sum(b.numel() for b in self.buffers() if b.dtype.is_floating_point)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


def _as_shape(shape: Any, argument: str) -> tuple[int, ...]:
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise MeddlError(f"The '{argument}' must be a tuple of positive integers. Got {shape!r} instead.") from None
    if not dims or any(d <= 0 for d in dims) or any(int(d) != d for d in shape):
        raise MeddlError(f"The '{argument}' must be a tuple of positive integers. Got {shape!r} instead.")
    return dims


def _fmt(shape: tuple[int, ...] | None) -> str:
    return "(None, " + ", ".join(str(d) for d in shape) + ")" if shape else "(None,)"
