"""Write meddl models as Keras 3 files: ``model.save("model.keras")`` and ``save_weights("x.weights.h5")``.

A ``.keras`` file is a zip of ``config.json`` (the architecture, in Keras's serialisation), ``model.weights.h5``
(each layer's variables under ``layers/<name>/vars``, its sub-layers' under their own groups, as Keras lays
them out) and ``metadata.json``; a ``.weights.h5`` file is the weights part alone. Keras loads them with
``keras.saving.load_model`` / ``load_weights`` (``bench/keras_layer_parity.py`` checks every layer that way),
and so does meddl. Sequential, functional and subclassed models are written, with layers and activation functions
of your own as Keras writes them (class or function name, registered name, ``get_config()``); a subclassed model
inside another model, a ``Lambda`` or a layer Keras lacks (``ResidualBlock``) is refused by name, never written
half. A compiled
model's optimizer (class and settings, not its state), loss(es), metrics and ``loss_weights`` are written as
Keras's ``compile_config``, so Keras loads it compiled; what has no Keras counterpart (``AdamL2``, a loss or
metric of your own) is left out with a ``UserWarning`` (without the optimizer or loss, Keras loads the model
uncompiled).
"""

from __future__ import annotations

import io
import json
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from meddl.errors import ModelFileError, import_optional
from meddl.io import atomic_write_bytes
from meddl.layers.activations import ACTIVATIONS
from meddl.layers.base import Layer, snake_case
from meddl.layers.bidirectional import Bidirectional
from meddl.layers.input_layer import InputLayer
from meddl.layers.multi_head_attention import MultiHeadAttention
from meddl.layers.normalization import Normalization
from meddl.layers.attention import Attention
from meddl.layers.time_distributed import TimeDistributed
from meddl.models import keras_compile
from meddl.saving import custom_object, get_registered_name

__all__ = ["save_keras_model", "save_keras_weights", "keras_layer_order", "own_model_layers", "KERAS_VERSION"]

#: the Keras version the files say they were written for (the format meddl writes and reads)
KERAS_VERSION = "3.15.1"
_RECURRENT = ("LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D")
_NOT_IN_KERAS = ("ResidualBlock", "Lambda")
# meddl's own settings in some layers' configs, which Keras's constructors do not take
_MEDDL_ONLY = {"MultiHeadAttention": ("use_causal_mask", "return_attention_scores"),
               "Attention": ("use_causal_mask", "return_attention_scores"),
               "AdditiveAttention": ("use_causal_mask", "return_attention_scores"),
               "SimpleRNN": ("recurrent_activation",)}


def save_keras_model(model, path: Path) -> None:
    """Write ``model`` as a Keras 3 ``.keras`` file, atomically."""
    config = _model_spec(model, top=True)
    config["compile_config"], left_out = keras_compile.compile_config(model)
    if left_out:
        warnings.warn(f"'{Path(path).name}' is written without {'; '.join(left_out)}. meddl's own format (a folder) "
                      "keeps them.", UserWarning, stacklevel=3)
    payload = io.BytesIO()
    with zipfile.ZipFile(payload, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": KERAS_VERSION,
                                                      "date_saved": time.strftime("%Y-%m-%d@%H:%M:%S")}))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", _weights_h5(model))
    atomic_write_bytes(Path(path), payload.getvalue())


def save_keras_weights(model, path: Path) -> None:
    """Write ``model``'s weights as a Keras 3 ``.weights.h5`` file, atomically."""
    _model_spec(model, top=True)  # the same refusals as a whole model's file
    atomic_write_bytes(Path(path), _weights_h5(model))


# -- architecture ------------------------------------------------------------------------------------------
def _model_spec(model, top: bool = False) -> dict[str, Any]:
    kind = type(model).__name__
    if kind == "Sequential":
        config = _sequential_config(model)
    elif getattr(model, "_graph_model", False):
        config = _functional_config(model)
    elif top:
        return _own_model_spec(model)
    else:
        raise ModelFileError(f"Model '{model.name}' is a subclassed model ({kind}) inside another model: a Keras "
                             "file holds one only as the whole model. Save it in meddl's format (a folder), or "
                             "rebuild it as a functional model.")
    spec = {"module": "keras" if kind == "Sequential" else "keras.src.models.functional",
            "class_name": kind if kind == "Sequential" else "Functional", "config": config, "registered_name": None}
    if top or kind == "Sequential":
        spec["build_config"] = {"input_shape": _batch_shape(model.input_shape_)}
    return spec


def _own_model_spec(model) -> dict[str, Any]:
    """A subclassed model as Keras writes one: its class and registered name, its ``get_config()`` and the
    shape it was built for; Keras and meddl rebuild it from the registration or ``custom_objects``."""
    if model.input_shape_ is None:
        raise ModelFileError(f"Model '{model.name}' is not built: call it on data before saving it as a Keras file.")
    cls = type(model)
    config = {key: value for key, value in model.get_config().items() if key != "build_input_shape"}
    return {"module": None if cls.__module__ == "__main__" else cls.__module__, "class_name": cls.__name__,
            "config": config, "registered_name": get_registered_name(cls),
            "build_config": {"input_shape": _batch_shape(model.input_shape_)}}


def own_model_layers(model) -> list[tuple[str, Layer]]:
    """A subclassed model's layers under the paths Keras 3 writes their weights: the attribute's name
    (``head``), or for a list attribute its name and the layer's class in snake case, ``_1``, ``_2`` ... for the
    next of a class (``dense_layers/dense_1``)."""
    paths = []
    for attribute, child in model._modules.items():
        if isinstance(child, Layer):
            paths.append((attribute, child))
        elif isinstance(child, (nn.ModuleList, nn.Sequential)):
            used: dict[str, int] = {}
            paths += [(f"{attribute}/{_unique(snake_case(_keras_class(layer)), used)}", layer)
                      for layer in child if isinstance(layer, Layer)]
    return paths


def _batch_shape(shape):
    if isinstance(shape, list):
        return [_batch_shape(item) for item in shape]
    return [None, *(int(d) for d in shape)]


def _sequential_config(model) -> dict[str, Any]:
    if model.input_shape_ is None:
        raise ModelFileError(f"Model '{model.name}' is not built: give it an Input (or call it on data) before "
                             "saving it as a Keras file.")
    layers = [_input_layer_spec("input_layer", model.input_shape_, "float32")]
    layers += [_layer_spec(layer) for layer in model.layers]
    return {"name": model.name, "trainable": bool(model.trainable), "dtype": "float32", "layers": layers,
            "build_input_shape": _batch_shape(model.input_shape_)}


def _input_layer_spec(name: str, shape, dtype: str) -> dict[str, Any]:
    return {"module": "keras.layers", "class_name": "InputLayer",
            "config": {"batch_shape": _batch_shape(shape), "dtype": dtype, "sparse": False, "ragged": False,
                       "name": name},
            "registered_name": None}


def _layer_spec(layer: Layer) -> dict[str, Any]:
    kind = type(layer).__name__
    if hasattr(layer, "layers") and not isinstance(layer, (Bidirectional, TimeDistributed)):
        return _model_spec(layer)
    if type(layer).__module__.split(".")[0] != "meddl":
        return _own_layer_spec(layer)
    if kind in _NOT_IN_KERAS:
        raise ModelFileError(f"Layer '{layer.name}' ({kind}) has no Keras counterpart that a Keras file could name "
                             "(ResidualBlock or Lambda). Save the model in meddl's format (a folder).")
    config = {key: _keras_value(key, value) for key, value in layer.get_config().items()
              if key not in ("input_shape",) + _MEDDL_ONLY.get(kind, ())}
    config.update({"name": layer.name, "dtype": "float32"})
    if not layer.trainable:  # (some of Keras's layers take no 'trainable' argument: only a frozen one says it)
        config["trainable"] = False
    if isinstance(layer, TimeDistributed):  # a wrapper's layer(s), as Keras serialises them
        config["layer"] = _layer_spec(layer.layer)
    if isinstance(layer, Bidirectional):
        config["layer"] = _layer_spec(layer.forward_layer)
        config["backward_layer"] = _layer_spec(layer.backward_layer)
    spec = {"module": "keras.layers", "class_name": kind, "config": config, "registered_name": None}
    if isinstance(layer, MultiHeadAttention) and layer.input_shape_ is not None:
        shapes = [_batch_shape(shape) for shape in layer.input_shape_]
        shapes_dict = {"query_shape": shapes[0], "value_shape": shapes[1]}
        if len(shapes) == 3:
            shapes_dict["key_shape"] = shapes[2]
        spec["build_config"] = {"shapes_dict": shapes_dict}
    elif layer.input_shape_ is not None:
        spec["build_config"] = {"input_shape": _batch_shape(layer.input_shape_)}
    return spec


def _own_layer_spec(layer: Layer) -> dict[str, Any]:
    """A layer of your own as Keras writes one: its class, module and registered name (``"package>name"``
    for a class registered with ``register_keras_serializable``), and its ``get_config()``; Keras and meddl
    load it from the registration or from ``custom_objects``."""
    cls = type(layer)
    config = {key: _keras_value(key, value) for key, value in layer.get_config().items() if key != "input_shape"}
    config.update({"name": layer.name, "trainable": bool(layer.trainable)})
    spec = {"module": None if cls.__module__ == "__main__" else cls.__module__, "class_name": cls.__name__,
            "config": config, "registered_name": get_registered_name(cls)}
    if layer.input_shape_ is not None:
        spec["build_config"] = {"input_shape": _batch_shape(layer.input_shape_)}
    return spec


def _keras_value(key: str, value: Any) -> Any:
    """A config value as Keras writes it: an activation function of your own (saved by its name) as Keras's
    function record; anything else as it is."""
    if key in ("activation", "recurrent_activation") and isinstance(value, str) and value not in ACTIVATIONS:
        function = custom_object(value)
        return {"module": getattr(function, "__module__", None) if ">" not in value else "builtins",
                "class_name": "function", "config": value, "registered_name": "function"}
    return value


def _functional_config(model) -> dict[str, Any]:
    node_index: dict[int, int] = {}
    counters: dict[str, int] = {}
    for tensor in model.inputs:
        node_index[id(tensor.node)] = 0
    for node in model._nodes:
        node_index[id(node)] = counters.get(node.layer.name, 0)
        counters[node.layer.name] = node_index[id(node)] + 1

    def tensor_spec(tensor) -> dict[str, Any]:
        return {"class_name": "__keras_tensor__",
                "config": {"shape": _batch_shape(tensor.sample_shape), "dtype": "float32",
                           "keras_history": [tensor.layer.name, node_index[id(tensor.node)], tensor.index]}}

    def ref(tensor) -> list:
        return [tensor.layer.name, node_index[id(tensor.node)], tensor.index]

    layers = []
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            spec = _input_layer_spec(layer.name, layer.shape, "float32")
            spec.update({"name": layer.name, "inbound_nodes": []})
            layers.append(spec)
            continue
        spec = _layer_spec(layer)
        nodes = []
        for node in (n for n in model._nodes if n.layer is layer):
            tensors = [tensor_spec(t) for t in node.inputs]
            if node.single_input:
                args = tensors
            elif isinstance(layer, MultiHeadAttention) or node.positional:
                args = tensors  # query, value(, key) as separate arguments; a call(a, b) of your own
            else:
                args = [tensors]  # a merge or attention layer takes one list
            kwargs: dict[str, Any] = {}
            if isinstance(layer, (MultiHeadAttention, Attention)):
                for flag in ("use_causal_mask", "return_attention_scores"):
                    if getattr(layer, flag):
                        kwargs[flag] = True
            if node.training is not None:
                kwargs["training"] = node.training
            nodes.append({"args": args, "kwargs": kwargs})
        spec.update({"name": layer.name, "inbound_nodes": nodes})
        layers.append(spec)
    outputs = [ref(t) for t in model.outputs]
    keys = getattr(model, "output_keys", None)
    return {"name": model.name, "trainable": bool(model.trainable), "layers": layers,
            "input_layers": [ref(t) for t in model.inputs],
            "output_layers": dict(zip(keys, outputs)) if keys else outputs}


def keras_layer_order(model) -> list[Layer]:
    """The layers of a functional model in the order Keras lists them once it has loaded the file (Keras's
    ``map_graph``: by depth from the outputs, deepest first, then by first visit of a depth-first walk from
    the outputs; a dict of outputs is walked in its keys' sorted order)."""
    keys = getattr(model, "output_keys", None)
    outputs = [tensor for _, tensor in sorted(zip(keys, model.outputs))] if keys else list(model.outputs)
    finished, ordered_nodes, first_visit = set(), [], {}

    def visit(tensor) -> None:
        node = tensor.node
        if id(node) in finished:
            return
        first_visit.setdefault(id(node.layer), (len(first_visit), node.layer))
        if not isinstance(node.layer, InputLayer):
            for parent in node.inputs:
                visit(parent)
        finished.add(id(node))
        ordered_nodes.append(node)

    for tensor in outputs:
        visit(tensor)
    node_depth: dict[int, int] = {}
    layer_depth: dict[int, int] = {}
    for node in reversed(ordered_nodes):
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        if not isinstance(node.layer, InputLayer):
            for parent in node.inputs:
                node_depth[id(parent.node)] = max(depth + 1, node_depth.get(id(parent.node), 0))
    for tensor in model.inputs:  # an input no output depends on
        if id(tensor.layer) not in layer_depth:
            layer_depth[id(tensor.layer)] = 0
            first_visit[id(tensor.layer)] = (-1, tensor.layer)
    return [layer for _, (_, layer) in sorted(((-layer_depth[key], first_visit[key][0]), first_visit[key])
                                               for key in layer_depth)]


# -- weights -------------------------------------------------------------------------------------------
def _weights_h5(model) -> bytes:
    h5py = import_optional("h5py", "Writing Keras files")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        _write_model(handle, model)
        handle.create_group("vars").attrs["name"] = model.name
    return buffer.getvalue()


def _write_model(group, model) -> None:
    """Each layer under ``layers/<its class in snake_case>`` (``_1``, ``_2`` ... for the next of a class), in
    the order Keras will list the loaded model's layers, as Keras names the groups (not by the layers' names);
    a subclassed model's layers under their attributes' names (:func:`own_model_layers`)."""
    if type(model).__name__ != "Sequential" and not getattr(model, "_graph_model", False):
        for path, layer in own_model_layers(model):
            child = group.create_group(path)
            if hasattr(layer, "layers") and not isinstance(layer, (Bidirectional, TimeDistributed)):
                _write_model(child, layer)
                child.create_group("vars").attrs["name"] = layer.name
            else:
                _write_layer(child, layer)
        return
    layers = group.create_group("layers")
    used: dict[str, int] = {}
    ordered = model.layers if type(model).__name__ == "Sequential" else keras_layer_order(model)
    for layer in ordered:
        child = layers.create_group(_unique(snake_case(_keras_class(layer)), used))
        if isinstance(layer, InputLayer):
            _vars(child, layer.name, [])
            continue
        if hasattr(layer, "layers") and not isinstance(layer, (Bidirectional, TimeDistributed)):
            _write_model(child, layer)
            child.create_group("vars").attrs["name"] = layer.name
        else:
            _write_layer(child, layer)


def _write_layer(group, layer: Layer) -> None:
    """``layer``'s variables in Keras's groups (its own, then a cell's, a wrapped layer's, the projections')."""
    arrays = [np.asarray(array) for array in layer.get_weights()]
    kind = type(layer).__name__
    if kind in _RECURRENT:
        _vars(group, layer.name, [])
        _vars(group.create_group("cell"), f"{kind.lower()}_cell", arrays)
    elif isinstance(layer, Bidirectional):
        _vars(group, layer.name, [])
        half = len(arrays) // 2
        for name, part, inner in (("forward_layer", arrays[:half], layer.forward_layer),
                                  ("backward_layer", arrays[half:], layer.backward_layer)):
            child = group.create_group(name)
            _vars(child, inner.name, [])
            _vars(child.create_group("cell"), f"{type(inner).__name__.lower()}_cell", part)
    elif isinstance(layer, TimeDistributed):
        _vars(group, layer.name, [])
        _write_layer(group.create_group("layer"), layer.layer)
    elif isinstance(layer, MultiHeadAttention):
        _vars(group, layer.name, [])
        per = 2 if layer.use_bias else 1
        for index, (name, keras_name) in enumerate((("query_dense", "query"), ("key_dense", "key"),
                                                    ("value_dense", "value"), ("output_dense", "attention_output"))):
            _vars(group.create_group(name), keras_name, arrays[index * per:(index + 1) * per])
    elif isinstance(layer, Normalization) and layer.given is not None:
        _vars(group, layer.name, [])  # Keras keeps given statistics in the config, not as variables
    else:
        _vars(group, layer.name, arrays)


def _keras_class(layer: Layer) -> str:
    kind = type(layer).__name__
    return "Functional" if kind != "Sequential" and getattr(layer, "_graph_model", False) else kind


def _unique(name: str, used: dict[str, int]) -> str:
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _vars(group, name: str, arrays: list[np.ndarray]) -> None:
    variables = group.create_group("vars")
    variables.attrs["name"] = name
    for index, array in enumerate(arrays):
        variables.create_dataset(str(index), data=array)
