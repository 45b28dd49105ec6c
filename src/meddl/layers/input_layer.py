"""``Input`` and ``InputLayer``: declare the shape of one sample (without the batch axis).

``Input(shape=...)`` returns a symbolic tensor, as Keras's does: it starts a
functional graph (``meddl.Model(inputs, outputs)``) and may also be the first
entry of a ``Sequential``.
"""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer, _as_shape, refuse_unsupported
from meddl.layers.symbolic import Node, SymbolicTensor

__all__ = ["Input", "InputLayer"]


class InputLayer(Layer):
    """The layer behind ``Input``: passes data through unchanged.

    Example:
        >>> from meddl import Sequential
        >>> from meddl.layers import Input, Dense
        >>> model = Sequential([Input(shape=(100,)), Dense(10)])
    """

    def __init__(self, shape: tuple[int, ...] | None = None, *, batch_size: int | None = None, name: str | None = None,
                 batch_shape: tuple | None = None, input_shape: tuple | None = None, dtype=None, **ignored):
        super().__init__(name=name)
        refuse_unsupported(ignored, "InputLayer")
        self.input_dtype = dtype  # e.g. "int32" for codes fed to an Embedding; data are converted by the model
        if shape is None and batch_shape is not None:  # Keras's saved configs use batch_shape=(None, ...)
            shape = tuple(batch_shape)[1:]
        if shape is None:
            shape = input_shape
        if shape is None:
            raise MeddlError("InputLayer needs a 'shape' (one sample's shape, without the batch axis).")
        self.shape = _as_shape(shape, "shape")
        self.input_shape_arg = self.shape
        self.batch_size = batch_size
        self.build_for(self.shape)
        node = Node(self, [], True)
        node.outputs = [SymbolicTensor(self.shape, node, 0, name=self.name)]
        self._inbound_nodes.append(node)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "shape": list(self.shape)}

    @property
    def default_name(self) -> str:
        return "input_layer"


def Input(shape: tuple[int, ...] | None = None, batch_size: int | None = None, dtype=None,  # noqa: N802 - Keras's name
          sparse=None, batch_shape: tuple | None = None, name: str | None = None) -> SymbolicTensor:
    """Keras's ``Input(shape=...)``: a symbolic tensor to start a functional model (or a ``Sequential``).

    Example:
        >>> import meddl
        >>> from meddl import layers
        >>> inputs = meddl.Input(shape=(30,))
        >>> outputs = layers.Dense(1, activation="sigmoid")(inputs)
        >>> model = meddl.Model(inputs, outputs)
    """
    if sparse:
        raise MeddlError("Sparse inputs are not supported by meddl; pass dense arrays.")
    return InputLayer(shape, batch_size=batch_size, name=name, batch_shape=batch_shape, dtype=dtype).output
