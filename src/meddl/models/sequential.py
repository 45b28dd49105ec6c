"""``Sequential``: a stack of layers with Keras's compile / fit / evaluate / predict.

Example (the seed's MLP):
    >>> from meddl import Sequential
    >>> from meddl.layers import Dense
    >>> model = Sequential([
    ...     Dense(64, activation="relu", input_shape=(100,)),
    ...     Dense(64, activation="relu"),
    ...     Dense(10, activation="softmax"),
    ... ])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> model.count_params()
    11274
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from meddl.errors import DataError, MeddlError
from meddl.layers.base import Layer, reserve_layer_name, unique_layer_name
from meddl.layers.input_layer import Input, InputLayer
from meddl.layers.registry import deserialize, register_layer_class, serialize
from meddl.layers.symbolic import SymbolicTensor
from meddl.models.model import Model
from meddl.saving import register_class

__all__ = ["Sequential"]


@register_class("model")
@register_layer_class
class Sequential(Model):
    """A linear stack of meddl layers; a ``torch.nn.Module`` you can also use directly.

    Args:
        layers: layers to add, in order. An ``Input(shape=...)`` first, or
            ``input_shape=`` on the first layer, builds the weights at once;
            otherwise they are built on the first ``fit``/``predict``/call.
        name: the model's name (shown by ``summary``).

    Once built, the model also has Keras's symbolic ``inputs``/``outputs``
    (and every layer its ``output``), for feature extraction with ``meddl.Model``.
    """

    _graph_model = True

    def __init__(self, layers: Sequence[Layer] | None = None, *, name: str | None = None, trainable: bool = True):
        super().__init__(name=name or unique_layer_name("sequential"), trainable=trainable)
        self.layers = nn.ModuleList()
        self.inputs: list[SymbolicTensor] | None = None
        self.outputs: list[SymbolicTensor] | None = None
        for layer in layers or []:
            self.add(layer)

    @property
    def default_name(self) -> str:
        return "sequential"

    # -- structure ---------------------------------------------------------
    def add(self, layer: Layer | SymbolicTensor) -> None:
        """Append a layer (an ``Input`` only as the first entry)."""
        if isinstance(layer, SymbolicTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer
        if not isinstance(layer, Layer):
            raise MeddlError(f"Sequential accepts meddl layers (meddl.layers.*); got {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if len(self.layers) or self.input_shape_ is not None:
                raise MeddlError("An Input layer can only be the first entry of a Sequential model.")
            self.inputs = [layer.output]
            self.input_shape_ = layer.shape
            return
        if layer.input_shape_arg is not None and not isinstance(layer, Model):
            if len(self.layers):
                raise MeddlError(f"Only the first layer may set input_shape; layer {len(self.layers) + 1} "
                                 f"({type(layer).__name__}) sets {layer.input_shape_arg}.")
            self.input_shape_ = layer.input_shape_arg
        layer.name = self._unique_name(layer.name or layer.default_name, explicit=layer.name is not None)
        reserve_layer_name(layer.name)
        self.layers.append(layer)
        if self.input_shape_ is None:
            return
        if self.outputs is None:
            self.build(self.input_shape_)
        else:  # extend the graph by one node, so earlier layers keep their symbolic outputs
            self._set_output(layer(self.outputs[0]))

    def pop(self) -> Layer:
        """Remove and return the last layer (Keras's ``pop``), e.g. to reuse a trained body with a new head."""
        if not len(self.layers):
            raise MeddlError("pop() on an empty Sequential model.")
        layer = self.layers[-1]
        del self.layers[-1]
        if self.outputs is not None:
            produced = self.outputs[0].node
            if produced in layer._inbound_nodes:
                layer._inbound_nodes.remove(produced)
            if len(self.layers):
                self._set_output(produced.inputs[0])
            else:
                self.outputs, self.output_shape_ = None, None
                self.built = False
        self._torch_optimizer = None
        return layer

    def _set_output(self, tensor: SymbolicTensor) -> None:
        self.outputs = [tensor]
        self.output_shape_ = tensor.sample_shape
        self.built = True

    def _unique_name(self, base: str, explicit: bool) -> str:
        taken = {layer.name for layer in self.layers}
        if explicit and base in taken:
            raise MeddlError(f"Layer names must be unique within a model; {base!r} is used twice.")
        if base not in taken:
            return base
        index = 1
        while f"{base}_{index}" in taken:
            index += 1
        return f"{base}_{index}"

    def build(self, input_shape: Sequence[int] | None = None) -> None:
        """Create every layer's weights for samples of ``input_shape`` (no batch axis)."""
        if input_shape is None:
            input_shape = self.input_shape_
        if isinstance(input_shape, (list, tuple)) and len(input_shape) and input_shape[0] is None:
            input_shape = input_shape[1:]  # Keras's build((None, 100))
        shape = tuple(int(d) for d in input_shape)
        if self.input_shape_ is not None and shape != tuple(self.input_shape_):
            raise DataError(f"The model was declared for inputs of shape {tuple(self.input_shape_)}; got {shape}.")
        self.input_shape_ = shape
        if self.inputs is None or self.inputs[0].sample_shape != shape:
            self.inputs = [Input(shape=shape)]
        if not len(self.layers):
            return
        tensor = self.inputs[0]
        for layer in self.layers:
            tensor = layer(tensor)
        self._set_output(tensor)
        self.to(self.device)

    def compute_output_shape(self, input_shape):
        return self.layers[-1].output_shape_

    def outputs_list(self) -> list:
        return [None]

    # -- computation -------------------------------------------------------
    def forward(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        if logits:
            return self.forward_logits(x)
        for layer in self.layers:
            x = layer(x)
        return x

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Like ``forward`` but without the last layer's activation (for stable losses)."""
        layers = self.layers
        for layer in layers[:-1]:
            x = layer(x)
        last = layers[-1]
        return last.forward_logits(x) if isinstance(last, Model) else last.call_in_mode(x)

    @property
    def final_activation(self) -> str:
        self._require_built("read the final activation")
        last = self.layers[-1]
        return last.final_activation if isinstance(last, Model) else last.activation_name

    @property
    def input_names(self) -> list[str]:
        return [self.inputs[0].layer.name] if self.inputs else ["input"]

    # -- config --------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        config = {"name": self.name, "input_shape": None if self.input_shape_ is None else list(self.input_shape_),
                  "layers": [serialize(layer) for layer in self.layers]}
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Sequential":
        layers = [deserialize(spec) for spec in config.get("layers", [])]
        for layer in layers:
            layer.input_shape_arg = None
        model = cls(layers, name=config.get("name", "sequential"))
        if config.get("input_shape"):
            model.build(config["input_shape"])
        if config.get("trainable") is False:
            model.trainable = False
        return model
