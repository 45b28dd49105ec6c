"""Functional models: ``meddl.Model(inputs, outputs)`` over a graph of layers, as in Keras.

Layers called on symbolic tensors (``meddl.Input``) record nodes; the model
walks them back from ``outputs`` once, keeps them in execution order, and runs
that list on data. Several inputs (an image and clinical variables), several
outputs, shared layers and models used as layers all follow from it.

Example:
    >>> import meddl
    >>> from meddl import layers
    >>> image = meddl.Input(shape=(28, 28, 1), name="image")
    >>> clinical = meddl.Input(shape=(5,), name="clinical")
    >>> features = layers.Flatten()(layers.Conv2D(4, 3, activation="relu")(image))
    >>> joined = layers.Concatenate()([features, clinical])
    >>> risk = layers.Dense(1, activation="sigmoid")(joined)
    >>> model = meddl.Model(inputs=[image, clinical], outputs=risk)
"""

from __future__ import annotations

import contextlib
from typing import Any

from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer, unique_layer_name
from meddl.layers.input_layer import InputLayer
from meddl.layers.registry import deserialize, register_layer_class, serialize
from meddl.layers.symbolic import Node, SymbolicTensor, flatten_symbolic
from meddl.models import model as model_module
from meddl.models.model import Model
from meddl.saving import register_class

__all__ = ["Functional"]


@register_class("model")
@register_layer_class
class Functional(Model):
    """A model defined by its symbolic ``inputs`` and ``outputs`` (use ``meddl.Model(inputs, outputs)``)."""

    _graph_model = True

    def __init__(self, inputs=None, outputs=None, name: str | None = None, trainable: bool = True, **ignored):
        super().__init__(name=name or unique_layer_name("functional"), trainable=trainable)
        self._single_input = isinstance(inputs, SymbolicTensor)
        self._single_output = isinstance(outputs, SymbolicTensor)
        self.inputs = flatten_symbolic(inputs, "inputs")
        self.outputs = flatten_symbolic(outputs, "outputs")
        # outputs given as a dict: Keras names the outputs by its keys, and predict returns a dict
        self._output_keys = [str(key) for key in outputs] if isinstance(outputs, dict) else None
        for tensor in self.inputs:
            if not isinstance(tensor.layer, InputLayer):
                raise MeddlError(f"Model inputs must come from meddl.Input; {tensor!r} was produced by a layer.")
        self._nodes = _nodes_in_order(self.inputs, self.outputs)
        layers: list[Layer] = [tensor.layer for tensor in self.inputs]
        for node in self._nodes:
            if node.layer not in layers:
                layers.append(node.layer)
        names = [layer.name for layer in layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise MeddlError(f"Layer names must be unique within a model; {duplicates} are used more than once.")
        self.layers = nn.ModuleList(layers)
        self._input_ids = [id(tensor) for tensor in self.inputs]
        self._output_ids = [id(tensor) for tensor in self.outputs]
        self._plan = [(node.layer, [id(t) for t in node.inputs], node.single_input, [id(t) for t in node.outputs],
                       node.training, node.positional) for node in self._nodes]
        self.input_shape_ = _one_or_list([tensor.sample_shape for tensor in self.inputs], self._single_input)
        self.output_shape_ = _one_or_list([tensor.sample_shape for tensor in self.outputs], self._single_output)
        self.built = True

    @property
    def default_name(self) -> str:
        return "functional"

    # -- structure -------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def input_names(self) -> list[str]:
        return [tensor.layer.name for tensor in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return self._output_keys or [tensor.layer.name for tensor in self.outputs]

    @property
    def output_keys(self) -> list[str] | None:
        """The keys of the outputs when the model was given them as a dict (``predict`` returns a dict), or None."""
        return self._output_keys

    @property
    def sample_input_shapes(self) -> list[tuple[int, ...]]:
        return [tensor.sample_shape for tensor in self.inputs]

    def outputs_list(self) -> list:
        return self.outputs

    @property
    def output_layer(self) -> Layer:
        return self.outputs[0].layer

    @property
    def final_activation(self) -> str:
        layer = self.output_layer
        if len(self.outputs) > 1 or len(self.outputs[0].node.outputs) > 1:
            return "linear"
        return layer.final_activation if isinstance(layer, Model) else layer.activation_name

    def build_for(self, input_shape):
        shape = input_shape if isinstance(input_shape, list) else [input_shape]
        shape = [tuple(int(d) for d in item) for item in shape]
        if shape != self.sample_input_shapes:
            raise MeddlError(f"Model '{self.name}' takes inputs of shape "
                             f"{[(None, *s) for s in self.sample_input_shapes]}; got {[(None, *s) for s in shape]}.")
        return self.output_shape_

    def build(self, input_shape=None) -> None:
        """Functional models are built when they are made; this only checks ``input_shape``."""
        if input_shape is not None:
            self.build_for(input_shape)

    def compute_output_shape(self, input_shape):
        return self.output_shape_

    # -- computation -----------------------------------------------------------
    def forward(self, x, logits: bool = False):
        values: dict[int, Any] = {}
        items = [x] if self._single_input or not isinstance(x, (list, tuple)) else list(x)
        if len(items) != len(self._input_ids):
            raise MeddlError(f"Model '{self.name}' takes {len(self._input_ids)} inputs ({self.input_names}); "
                             f"got {len(items)}.")
        for key, value in zip(self._input_ids, items):
            values[key] = value
        last = len(self._plan) - 1
        for index, (layer, input_ids, single, output_ids, training, positional) in enumerate(self._plan):
            arguments = values[input_ids[0]] if single else [values[key] for key in input_ids]
            if training is None:
                result = _run(layer, arguments, logits and index == last, positional)
            else:  # layer(x, training=...) in the graph: that mode, whatever the model's
                with _fixed_mode(layer, training):
                    result = _run(layer, arguments, logits and index == last, positional)
            if len(output_ids) == 1:
                values[output_ids[0]] = result
            else:
                for key, value in zip(output_ids, result):
                    values[key] = value
        outputs = [values[key] for key in self._output_ids]
        return outputs[0] if self._single_output else outputs

    def forward_logits(self, x):
        if len(self.outputs) != 1 or self._plan[-1][3] != self._output_ids:
            return self.forward(x)
        return self.forward(x, logits=True)

    def _output_units(self) -> int:
        return self.outputs[0].sample_shape[-1]

    # -- config ----------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Plain data: the layers, and each node as ``[layer name, [[producer, node, output index], ...]]``."""
        node_index = {}
        for tensor in self.inputs:
            node_index[id(tensor.node)] = 0
        counters: dict[str, int] = {}
        for node in self._nodes:
            node_index[id(node)] = counters.get(node.layer.name, 0)
            counters[node.layer.name] = node_index[id(node)] + 1

        def ref(tensor: SymbolicTensor) -> list:
            return [tensor.layer.name, node_index[id(tensor.node)], tensor.index]

        config = {
            "name": self.name,
            "layers": [serialize(layer) for layer in self.layers],
            "nodes": [{"layer": node.layer.name, "inputs": [ref(t) for t in node.inputs], "single": node.single_input,
                       **({} if node.training is None else {"training": node.training}),
                       **({"positional": True} if node.positional else {})}
                      for node in self._nodes],
            "input_layers": [ref(t) for t in self.inputs],
            "output_layers": [ref(t) for t in self.outputs],
            "single_input": self._single_input,
            "single_output": self._single_output,
            **({} if self._output_keys is None else {"output_keys": self._output_keys}),
        }
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Functional":
        layers = {}
        produced: dict[str, list[Node]] = {}
        for spec in config["layers"]:
            layer = deserialize(spec)
            layer.input_shape_arg = None
            layers[layer.name] = layer
            if isinstance(layer, InputLayer):
                produced[layer.name] = [layer._inbound_nodes[0]]

        def tensor(ref) -> SymbolicTensor:
            name, node, index = ref
            try:
                return produced[name][node].outputs[index]
            except (KeyError, IndexError):
                raise MeddlError(f"The saved graph refers to output {index} of call {node} of layer {name!r}, "
                                 "which it does not define.") from None

        for node in config["nodes"]:
            inputs = [tensor(ref) for ref in node["inputs"]]
            layer = layers[node["layer"]]
            if node.get("positional"):
                layer(*inputs, training=node.get("training"))
            else:
                layer(inputs[0] if node["single"] else inputs, training=node.get("training"))
            produced.setdefault(layer.name, []).append(layer._inbound_nodes[-1])
        inputs = [tensor(ref) for ref in config["input_layers"]]
        outputs = [tensor(ref) for ref in config["output_layers"]]
        if config.get("output_keys"):
            outputs = dict(zip(config["output_keys"], outputs))
        model = cls(inputs[0] if config.get("single_input", True) and len(inputs) == 1 else inputs,
                    outputs[0] if config.get("single_output", True) and len(outputs) == 1 else outputs,
                    name=config.get("name"))
        if config.get("trainable") is False:
            model.trainable = False
        return model


def _run(layer: Layer, arguments: Any, logits: bool, positional: bool = False) -> Any:
    """One node: the layer on its inputs (its logits, for the last node of a stable loss); ``positional``: the
    inputs as separate arguments, ``layer(a, b)``."""
    if positional:
        return layer(*arguments)
    if logits:
        return layer.forward_logits(arguments) if isinstance(layer, Model) else layer.call_in_mode(arguments)
    return layer(arguments)


@contextlib.contextmanager
def _fixed_mode(layer: Layer, training: bool):
    """Run ``layer`` in the mode its graph call fixed (``training=True``: Monte Carlo dropout at prediction;
    ``False``: a base model whose BatchNormalization keeps its statistics while fine-tuning), then restore it."""
    if training == layer.training:
        yield
        return
    previous = layer.training
    layer.train(training)
    try:
        yield
    finally:
        layer.train(previous)


def _one_or_list(shapes: list, single: bool):
    return shapes[0] if single else shapes


def _nodes_in_order(inputs: list[SymbolicTensor], outputs: list[SymbolicTensor]) -> list[Node]:
    """The nodes between ``inputs`` and ``outputs`` in an order where every node follows its inputs."""
    input_ids = {id(tensor) for tensor in inputs}
    order: list[Node] = []
    seen: set[int] = set()
    path: set[int] = set()

    def visit(tensor: SymbolicTensor, consumer: str) -> None:
        if id(tensor) in input_ids:
            return
        node = tensor.node
        if node is None or isinstance(node.layer, InputLayer):
            source = "an Input" if node is not None else "no layer"
            raise MeddlError(f"Graph disconnected: layer '{consumer}' needs {tensor!r} (from {source}) that is not "
                             f"among the model's inputs. Pass every meddl.Input the outputs depend on in 'inputs'.")
        if id(node) in seen:
            return
        if id(node) in path:  # pragma: no cover - a symbolic graph cannot loop
            raise MeddlError("The graph has a cycle.")
        path.add(id(node))
        for source in node.inputs:
            visit(source, node.layer.name)
        path.discard(id(node))
        seen.add(id(node))
        order.append(node)

    for tensor in outputs:
        if id(tensor) in input_ids:
            continue
        visit(tensor, "the model output")
    return order


model_module._FUNCTIONAL_CLASS.append(Functional)
