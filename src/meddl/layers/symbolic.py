"""Symbolic tensors and graph nodes: what the functional API records.

Calling a layer on a :class:`SymbolicTensor` (what ``meddl.Input`` returns)
computes nothing: it builds the layer for the input's shape, records a
:class:`Node` (which layer, which inputs) and returns new symbolic tensors
of the output shape. ``meddl.Model(inputs, outputs)`` then walks these nodes
back from the outputs to know which layers to run, in which order. This is
Keras's ``KerasTensor`` / ``Node`` design; the batch axis is ``None``.
"""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError

__all__ = ["SymbolicTensor", "Node", "is_symbolic", "flatten_symbolic", "call_layer_symbolically"]


class SymbolicTensor:
    """A placeholder with a shape ``(None, ...)``; the output of ``Input`` or of a layer called on one."""

    def __init__(self, shape: tuple[int, ...], node: "Node | None" = None, index: int = 0, name: str | None = None):
        self.shape = (None, *(int(d) for d in shape))
        self.node = node
        self.index = index
        self.name = name

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.shape[1:])

    @property
    def dtype(self) -> torch.dtype:
        return torch.get_default_dtype()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def layer(self):
        """The layer that produced this tensor (an ``InputLayer`` for ``Input``)."""
        return None if self.node is None else self.node.layer

    # ``x + y``, ``x - y``, ``x * y`` on symbolic tensors are Keras's Add, Subtract and Multiply layers
    # (filled in by meddl.layers.registry, which knows the layer classes).
    OPERATOR_LAYERS: dict[str, type] = {}

    def _merge(self, other: Any, operator: str, reflected: bool = False) -> "SymbolicTensor":
        if not isinstance(other, SymbolicTensor):
            raise MeddlError(f"A symbolic tensor can be combined with '{operator}' only with another symbolic tensor "
                             f"of the same shape; got {other!r}. For a constant, use Rescaling(scale, offset).")
        layer = self.OPERATOR_LAYERS[operator]()
        return layer([other, self] if reflected else [self, other])

    def __add__(self, other):
        return self._merge(other, "+")

    def __radd__(self, other):
        return self._merge(other, "+", reflected=True)

    def __sub__(self, other):
        return self._merge(other, "-")

    def __mul__(self, other):
        return self._merge(other, "*")

    def __repr__(self) -> str:
        source = f", produced by '{self.layer.name}'" if self.layer is not None else ""
        return f"<SymbolicTensor shape={self.shape}{source}>"

    def __bool__(self):  # pragma: no cover - a guard, not a feature
        raise TypeError("A symbolic tensor has no value; build a meddl.Model(inputs, outputs) and call it on data.")


class Node:
    """One call of ``layer`` in a graph: its input symbolic tensors and output symbolic tensors."""

    def __init__(self, layer, inputs: list[SymbolicTensor], single_input: bool):
        self.layer = layer
        self.inputs = inputs
        self.single_input = single_input  # the layer was called on one tensor, not on a list
        self.positional = False  # the layer was called with several tensors as arguments, layer(a, b)
        self.training: bool | None = None  # a mode fixed in this call (Monte Carlo dropout, a frozen base model)
        self.outputs: list[SymbolicTensor] = []

    def __repr__(self) -> str:
        return f"<Node {self.layer.name}({', '.join(str(t.shape) for t in self.inputs)})>"


def is_symbolic(value: Any) -> bool:
    if isinstance(value, SymbolicTensor):
        return True
    return isinstance(value, (list, tuple)) and bool(value) and all(isinstance(v, SymbolicTensor) for v in value)


def flatten_symbolic(value: Any, argument: str) -> list[SymbolicTensor]:
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if isinstance(value, dict):
        items = list(value.values())
    if not items or not all(isinstance(t, SymbolicTensor) for t in items):
        raise MeddlError(f"'{argument}' must be symbolic tensors (from meddl.Input or a layer called on one). "
                         f"Got {value!r} instead.")
    return items


def call_layer_symbolically(layer, inputs, training: bool | None = None,
                            positional: bool = False) -> SymbolicTensor | list[SymbolicTensor]:
    """Build ``layer`` for the inputs' shapes, record a node, and return the symbolic outputs. ``training`` fixes
    the layer's mode in this call (Keras's ``layer(x, training=True)``); ``None`` follows the model's.
    ``positional``: the layer was called with the tensors as separate arguments, ``layer(a, b)``."""
    single = isinstance(inputs, SymbolicTensor)
    tensors = [inputs] if single else list(inputs)
    shapes = tensors[0].sample_shape if single else [t.sample_shape for t in tensors]
    if positional:
        layer.__dict__["_positional_inputs"] = True
    output_shape = layer.build_for(shapes)
    node = Node(layer, tensors, single)
    node.positional = positional
    node.training = None if training is None else bool(training)
    layer._inbound_nodes.append(node)
    multiple = isinstance(output_shape, list)
    shapes_out = output_shape if multiple else [output_shape]
    node.outputs = [SymbolicTensor(shape, node, index) for index, shape in enumerate(shapes_out)]
    return node.outputs if multiple else node.outputs[0]
