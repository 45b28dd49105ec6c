"""A model of your own, as Keras's subclassing: create layers in ``__init__``, compute in ``call``.

    class TwoLayers(meddl.Model):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = layers.Dense(units, activation="relu")
            self.out = layers.Dense(10, activation="softmax")

        def call(self, inputs, training=False):
            return self.out(self.hidden(inputs))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

The model's layers are the ``Layer`` attributes (and lists or dicts of them, which
are tracked as torch module containers so their weights train, as Keras tracks
them). It is built by one call on a zero sample; its weights are saved under
their attribute paths (``hidden.kernel``), which do not depend on layer names, so
a saved model loads in another process (``custom_objects={"TwoLayers": TwoLayers}``).
``call`` returns the model's outputs (probabilities after a softmax): meddl cannot
fold a final activation it does not see into the loss, so losses take
probabilities, clipped as Keras's are. One input tensor per sample.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["tracked_layers", "tracked_value", "build_own_model", "call_own_model"]


def tracked_layers(model: nn.Module) -> list[Layer]:
    """The model's layers: its ``Layer`` attributes, and those in lists and dicts of layers, in creation order."""
    found: list[Layer] = []
    for child in model.children():
        if isinstance(child, Layer):
            found.append(child)
        elif isinstance(child, (nn.ModuleList, nn.ModuleDict, nn.Sequential)):
            found.extend(module for module in child.children() if isinstance(module, Layer))
    return found


def tracked_value(value: Any) -> Any:
    """A list/tuple or dict of layers becomes a torch container, so the model owns (and trains) their weights."""
    if isinstance(value, (list, tuple)) and value and all(isinstance(item, Layer) for item in value):
        return nn.ModuleList(value)
    if isinstance(value, dict) and value and all(isinstance(item, Layer) for item in value.values()) \
            and all(isinstance(key, str) for key in value):
        return nn.ModuleDict(value)
    return value


def call_own_model(model: Any, x: torch.Tensor) -> torch.Tensor:
    """``model.call(x)``, with ``training=`` when ``call`` takes it (Keras passes the mode that way)."""
    out = model.call_in_mode(x)
    if not isinstance(out, torch.Tensor):
        raise MeddlError(f"{type(model).__name__}.call must return one torch tensor (the model's outputs); "
                         f"got {type(out).__name__}. meddl trains models of your own with one output.")
    return out


def build_own_model(model: Any, input_shape: Any) -> tuple[int, ...]:
    """Build every layer by calling the model on one zero sample; return the output shape (no batch axis)."""
    if type(model).call is Layer.call:
        raise MeddlError(f"{type(model).__name__} subclasses meddl.Model but defines no call(inputs): write the "
                         "computation in call, or use meddl.Sequential / meddl.Model(inputs, outputs).")
    if isinstance(input_shape, (list, tuple)) and input_shape and isinstance(input_shape[0], (list, tuple)):
        raise MeddlError(f"{type(model).__name__}: a model of your own takes one input tensor; got the shapes "
                         f"{[tuple(s) for s in input_shape]}. Use meddl.Model(inputs, outputs) for several inputs.")
    shape = tuple(int(d) for d in input_shape)
    was_training = model.training
    model.train(False)
    try:
        with torch.no_grad():
            out = call_own_model(model, torch.zeros((1, *shape), dtype=model.dtype_arg or torch.get_default_dtype()))
    finally:
        model.train(was_training)
    return tuple(out.shape[1:])
