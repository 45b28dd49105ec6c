"""Read Keras's own model files into meddl models: Keras 3 ``.keras`` and legacy ``.h5``.

A ``.keras`` file is a zip holding ``config.json`` (the architecture) and
``model.weights.h5`` (weights grouped per layer, each group's ``vars`` tagged
with the layer's name); a legacy ``.h5`` file holds the architecture as JSON in
the ``model_config`` attribute and weights under ``model_weights/<layer>`` in
the order of its ``weight_names``. Both are read with h5py; no TensorFlow is
needed. Every Keras layer meddl has (same class names) is translated with its
arguments; a layer or argument meddl lacks is refused with its name, never
silently dropped. Regularizers are carried over where meddl's layer takes them;
the others, and constraints, only act in training: they are left out and listed
in ``model.metadata["keras_import"]["ignored"]``.

A ``.keras`` file Keras wrote after ``compile`` holds its ``compile_config`` (a legacy ``.h5`` file its
``training_config``, read the same way): the model is compiled with
meddl's counterparts of its optimizer (class and settings), loss(es), metrics and ``loss_weights``, so it
can ``fit`` at once (the optimizer's state is not read: training starts with fresh moments). An optimizer
or loss meddl lacks leaves the model uncompiled, and a metric or setting meddl lacks is left out; either
way a ``UserWarning`` names it, and so does ``model.metadata["keras_import"]["not_restored"]``.
"""

from __future__ import annotations

import inspect
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from meddl.errors import MeddlError, ModelFileError, import_optional
from meddl.layers.attention import Attention
from meddl.layers.base import Layer
from meddl.layers.bidirectional import Bidirectional
from meddl.layers.multi_head_attention import MultiHeadAttention
from meddl.layers.normalization import Normalization
from meddl.layers.time_distributed import TimeDistributed
from meddl.layers.input_layer import InputLayer
from meddl.layers.registry import LAYER_CLASSES, get_layer_class
from meddl.models import keras_compile, keras_export
from meddl.saving import custom_object

__all__ = ["KERAS_SUFFIXES", "load_keras_model", "load_keras_weights"]

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
_MODEL_CLASSES = ("Sequential", "Functional", "Model")
# Arguments that only matter while training in Keras, or describe Keras internals: not carried over (weight
# and activity regularizers are, where the meddl layer takes them).
_TRAINING_ONLY = ("kernel_regularizer", "bias_regularizer", "activity_regularizer", "recurrent_regularizer",
                  "beta_regularizer", "gamma_regularizer", "embeddings_regularizer", "kernel_constraint",
                  "bias_constraint", "recurrent_constraint", "beta_constraint", "gamma_constraint",
                  "embeddings_constraint")
_DROPPED = ("dtype", "seed", "synchronized", "lora_rank", "lora_alpha", "quantization_config",
            "ragged", "sparse", "optional", "unroll", "use_cudnn", "time_major", "input_length",
            "kernel_initializer", "bias_initializer", "recurrent_initializer", "embeddings_initializer",
            "beta_initializer", "gamma_initializer", "moving_mean_initializer", "moving_variance_initializer",
            "autocast", "build_config")

# Keras arguments meddl lacks, harmless at these (Keras's default) values.
_KERAS_DEFAULTS = {"renorm_momentum": 0.99}


def load_keras_model(path: Path, *, compile: bool = True):  # noqa: A002 - Keras's argument name
    """Build the meddl model described by the Keras file ``path`` and load its weights; compiled as Keras
    saved it (its ``compile_config``) unless ``compile=False``."""
    try:
        import h5py  # an optional dependency, only for Keras files
    except ImportError:  # pragma: no cover - h5py comes with meddl[keras] and meddl[survival]
        raise ModelFileError(f"Reading the Keras file '{path}' needs h5py: pip install 'meddl[keras]'.") from None

    path = Path(path)
    notes: dict[str, list] = {"ignored": []}
    try:
        if path.suffix.lower() == ".keras":
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
                weights_bytes = archive.read("model.weights.h5")
            model = _build_model(config, notes)
            with h5py.File(io.BytesIO(weights_bytes), "r") as weights:
                _load_keras3_weights(model, weights)
        else:
            with h5py.File(path, "r") as handle:
                if "model_config" not in handle.attrs:
                    raise ModelFileError(f"'{path}' holds no model architecture (a weights-only .h5 file). Build the "
                                         "model in meddl and call model.load_weights on a meddl weights file instead.")
                config = _json_attribute(handle, "model_config")
                if "training_config" in handle.attrs:  # written by a compiled model: its compile settings
                    config["compile_config"] = _legacy_compile_config(_json_attribute(handle, "training_config"))
                model = _build_model(config, notes)
                _load_legacy_weights(model, handle["model_weights"] if "model_weights" in handle else handle)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ModelFileError(f"Could not read the Keras file '{path}': {exc}. Is it a complete Keras 3 .keras or .h5 "
                             "model file?") from None
    except MeddlError as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"Could not import the Keras model '{path}': {exc}") from None
    if compile and config.get("compile_config"):
        notes["not_restored"] = _compile(model, config["compile_config"], path)
    model.metadata = {"keras_import": {"file": path.name, **notes}}
    model._trained = True
    model.eval()
    return model


def _json_attribute(handle, name: str) -> dict[str, Any]:
    raw = handle.attrs[name]
    return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)


def _legacy_compile_config(training_config: dict[str, Any]) -> dict[str, Any]:
    """A legacy ``.h5`` file's ``training_config`` as Keras 3's ``compile_config``: the same keys, but the
    optimizer under ``optimizer`` (meddl's optimizers take Keras 2's ``lr`` and ``decay`` themselves)."""
    config = {key: value for key, value in training_config.items() if key != "optimizer_config"}
    if training_config.get("optimizer_config"):
        config["optimizer"] = training_config["optimizer_config"]
    return config


def load_keras_weights(model, path: Path) -> None:
    """Read a Keras 3 ``.weights.h5`` file (``save_weights`` in Keras or meddl) into ``model``, layer by layer."""
    h5py = import_optional("h5py", "Reading Keras weights files")
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"No weights file at '{path}'.")
    try:
        with h5py.File(path, "r") as handle:
            _load_keras3_weights(model, handle)
    except OSError as exc:
        raise ModelFileError(f"Could not read the Keras weights file '{path}': {exc}.") from None
    except MeddlError as exc:
        raise ModelFileError(f"The weights in '{path}' do not fit this model: {exc}") from None


def _compile(model, compile_config: dict[str, Any], path: Path) -> list[str]:
    """Compile ``model`` as Keras's ``compile_config`` says; returns what could not be restored (and warns)."""
    arguments, not_restored = keras_compile.compile_arguments(compile_config)
    if arguments is not None:
        weights = arguments["loss_weights"]
        if len(model.outputs_list()) == 1 and weights is not None:  # meddl weighs several outputs' losses only
            values = list(weights.values()) if isinstance(weights, dict) else weights
            if any(float(value) != 1.0 for value in (values if isinstance(values, list) else [values])):
                not_restored.append(f"loss_weights={weights!r} (a single output's loss is not weighted in meddl)")
        try:
            model.compile(**arguments)
        except MeddlError as exc:
            arguments = None
            not_restored.insert(0, f"the compile settings: {exc}")
    if not_restored:
        state = "compiled without" if arguments is not None else "left uncompiled (call compile(...) to train it); " \
            "not restored"
        warnings.warn(f"The Keras model '{path.name}' was {state}: {'; '.join(not_restored)}.", UserWarning,
                      stacklevel=4)
    return not_restored


# -- architecture ---------------------------------------------------------------------------------------
def _build_model(spec: dict[str, Any], notes: dict) -> Layer:
    class_name = spec.get("class_name")
    config = spec.get("config", {})
    if class_name == "Sequential":
        layers = [_build_layer(layer_spec, notes) for layer_spec in config.get("layers", [])]
        sequential = get_layer_class("Sequential")
        model = sequential(name=config.get("name"))
        for layer in layers:
            model.add(layer)
        if not model.built and config.get("build_input_shape"):
            model.build(tuple(config["build_input_shape"])[1:])
        return model
    if class_name in ("Functional", "Model"):
        return _build_functional(config, notes)
    return _build_own_model(spec)


def _build_own_model(spec: dict[str, Any]) -> Layer:
    """A subclassed model, found by its registered name or class name (registration or ``custom_objects``),
    made by its ``from_config`` and built for the shape the file records."""
    class_name, registered = spec.get("class_name"), spec.get("registered_name")
    cls = next((found for key in (registered, class_name) if key
                for found in [custom_object(str(key))] if isinstance(found, type)), None)
    if cls is None or not hasattr(cls, "fit"):
        how = f" (registered as {registered!r})" if registered and registered != class_name else ""
        raise ModelFileError(f"The Keras file holds the subclassed model {class_name}{how}, whose call is Python "
                             f"code: pass custom_objects={{{class_name!r}: {class_name}}} to load_model (a subclass "
                             "of meddl.Model), or decorate it with @meddl.saving.register_keras_serializable().")
    try:
        model = cls.from_config(dict(spec.get("config") or {}))
    except (TypeError, MeddlError) as exc:
        raise ModelFileError(f"The model {class_name} could not be made from its saved config: {exc}. Its "
                             "get_config() must return every argument its __init__ needs.") from None
    shape = (spec.get("build_config") or {}).get("input_shape")
    if shape and not model.built:  # Keras records the batch axis too (the size of the call that built it)
        model.build([tuple(item[1:]) for item in shape] if isinstance(shape[0], (list, tuple)) else tuple(shape[1:]))
    return model


def _build_layer(spec: dict[str, Any], notes: dict) -> Layer:
    class_name = spec.get("class_name")
    config = dict(spec.get("config", {}))
    name = config.get("name")
    if class_name in _MODEL_CLASSES:
        return _build_model(spec, notes)
    known = class_name in LAYER_CLASSES or class_name in ("Input", "MaxPool2D", "AvgPool2D")
    if not str(spec.get("module") or "").startswith("keras") and (spec.get("registered_name") or not known):
        return _build_own_layer(spec, notes)  # a class of your own (Keras 3 names its registration)
    if class_name not in LAYER_CLASSES and str(spec.get("module", "")).startswith("keras.src.ops"):
        raise ModelFileError(f"The Keras model applies Keras's operation {class_name} ('{name}') in its graph, which "
                             "meddl does not read. meddl reads layers, x + y / x - y / x * y, and the padding-mask "
                             "operations Keras writes for Embedding(mask_zero=True), Masking and the element-wise "
                             "merges (a mask joined by Concatenate is not read); rebuild the model with layers.")
    if class_name not in LAYER_CLASSES and class_name not in ("Input", "MaxPool2D", "AvgPool2D"):
        supported = sorted(c for c in LAYER_CLASSES if c not in ("ResidualBlock",))
        raise ModelFileError(f"The Keras model uses layer '{name}' of type {class_name}, which meddl does not support. "
                             f"Supported layer types: {', '.join(supported)}.")
    cls = get_layer_class(class_name)
    accepted = _accepted_arguments(cls)
    for key in _TRAINING_ONLY:
        if key in accepted:  # a weight or activity regularizer meddl's layer takes
            continue
        if config.pop(key, None) is not None:
            notes["ignored"].append(f"{name}.{key}")
    rank = None
    build = spec.get("build_config", {}).get("input_shape")
    if isinstance(build, (list, tuple)) and build and not isinstance(build[0], (list, tuple)):
        rank = len(build) - 1
    for key in ("axis",):
        if key in config:
            config[key] = _last_axis(config[key], rank, name, class_name)
    if cls is InputLayer:
        config = {"batch_shape": config.get("batch_shape") or config.get("batch_input_shape"), "name": name}
    if cls is Bidirectional or cls is TimeDistributed:
        config["layer"] = _build_layer(config["layer"], notes)
        if config.get("backward_layer"):
            config["backward_layer"] = _build_layer(config["backward_layer"], notes)
    for key in _DROPPED:
        config.pop(key, None)
    if config.pop("trainable", True) is False:
        config["trainable"] = False
    for key in ("activation", "recurrent_activation"):
        config[key] = _activation(config[key]) if key in config else None
        if config[key] is None:
            config.pop(key)
    unknown = {key: value for key, value in config.items() if key not in accepted and key != "name"}
    unsupported = {key: value for key, value in unknown.items()
                   if value not in (None, False, [], {}, "channels_last") and _KERAS_DEFAULTS.get(key) != value}
    if unsupported:
        raise ModelFileError(f"Layer '{name}' ({class_name}) uses arguments meddl does not support: {unsupported}.")
    arguments = {key: value for key, value in config.items() if key not in unknown}
    try:
        return cls(**arguments)
    except TypeError as exc:
        raise ModelFileError(f"Layer '{name}' ({class_name}) could not be made in meddl: {exc}.") from None


def _activation(value: Any) -> Any:
    """An activation as meddl's layers take it: Keras's record of a function of your own (``class_name``
    ``"function"``) becomes its saved name, which meddl finds registered or in ``custom_objects``."""
    if not isinstance(value, dict):
        return value
    if value.get("class_name") == "function":
        return value.get("config")
    return (value.get("config") or {}).get("name", value)


def _build_own_layer(spec: dict[str, Any], notes: dict) -> Layer:
    """A layer of your own, found by its registered name (``register_keras_serializable``) or its class name in
    ``custom_objects``, and made by its ``from_config`` from the config its ``get_config`` wrote."""
    class_name, config = spec.get("class_name"), dict(spec.get("config", {}))
    name = config.get("name")
    cls = next((found for key in (spec.get("registered_name"), class_name) if key
                for found in [custom_object(str(key))] if isinstance(found, type)), None)
    if cls is None:
        registered = spec.get("registered_name")
        how = f" (registered as {registered!r})" if registered and registered != class_name else ""
        raise ModelFileError(f"The Keras model uses layer '{name}' of your own class {class_name}{how}: pass "
                             f"custom_objects={{{class_name!r}: {class_name}}} to load_model, or decorate the class "
                             "with @meddl.saving.register_keras_serializable().")
    if not issubclass(cls, Layer):
        raise ModelFileError(f"The class {cls.__name__} that layer '{name}' names must be a subclass of "
                             f"meddl.layers.Layer to be loaded by meddl. Got {cls!r}.")
    if isinstance(config.get("dtype"), dict) or config.get("dtype") == "float32":
        config.pop("dtype")  # Keras's dtype policy: meddl's layers compute in the model's dtype
    for key in ("activation", "recurrent_activation"):
        if isinstance(config.get(key), dict):
            config[key] = _activation(config[key])
    try:
        return cls.from_config(config)
    except (TypeError, MeddlError) as exc:
        raise ModelFileError(f"Layer '{name}' ({class_name}) could not be made from its saved config: {exc}. Its "
                             "get_config() must return every argument its __init__ needs.") from None


def _accepted_arguments(cls: type) -> set[str]:
    """Named constructor arguments of ``cls``, following ``*args``/``**kwargs`` up to the parent's ``__init__``."""
    accepted: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        parameters = inspect.signature(klass.__init__).parameters
        accepted |= {name for name, p in parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
        if not any(p.kind == p.VAR_POSITIONAL or (p.kind == p.VAR_KEYWORD and name == "kwargs")
                   for name, p in parameters.items()):
            break
    return accepted - {"self"}


def _last_axis(axis: Any, rank: int | None, name: str, class_name: str) -> Any:
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    if len(axes) == 1 and (axes[0] == -1 or (rank is not None and axes[0] == rank)):
        return -1
    if class_name in ("Concatenate", "Softmax"):  # these take any axis
        return axis
    raise ModelFileError(f"Layer '{name}' ({class_name}) normalises over axis {axis}; meddl supports only the last "
                         "(channel) axis.")


def _history(argument: Any) -> list[tuple[str, int, int]]:
    """The (layer, node, tensor) references in one call's arguments, in either Keras config format."""
    if isinstance(argument, dict) and argument.get("class_name") == "__keras_tensor__":
        name, node, index = argument["config"]["keras_history"]
        return [(name, int(node), int(index))]
    if isinstance(argument, (list, tuple)):
        if len(argument) >= 3 and isinstance(argument[0], str) and isinstance(argument[1], int):
            return [(argument[0], int(argument[1]), int(argument[2]))]  # Keras 2: [name, node, index, kwargs]
        return [ref for item in argument for ref in _history(item)]
    return []


def _node_calls(layer_spec: dict) -> list[tuple[list[tuple[str, int, int]], bool, dict[str, Any]]]:
    """Each call of a layer: the tensors it takes, whether as one tensor (not a list), and its keyword arguments.

    A Keras 3 file's ``training`` is left out: Keras 3 records every call's ``training`` as the layer's default
    when it is not given (False for Dropout and the recurrent layers, True for the augmentation layers), so a
    recorded value does not say the call fixed a mode, and Keras 3's own ``fit`` and ``predict`` override it.
    The model's mode applies, as there."""
    calls = []
    for node in layer_spec.get("inbound_nodes", []):
        if isinstance(node, dict):  # Keras 3: {"args": [...], "kwargs": {...}}
            args = node.get("args", [])
            single = len(args) == 1 and isinstance(args[0], dict)
            keywords = {key: value for key, value in (node.get("kwargs") or {}).items()
                        if value is not None and key != "training"}
            calls.append((_history(args), single, keywords))
        else:  # Keras 2: [[name, node, index, kwargs], ...]
            refs = _history(node)
            calls.append((refs, len(refs) == 1, {}))
    return calls


def _call_keywords(layer: Layer, keywords: dict[str, Any], masks: "_AutomaticMasks") -> dict[str, Any]:
    """The keyword arguments of a layer's call that meddl applies (the attention layers' causal mask and
    attention scores); a ``mask`` that is Keras's automatic padding mask is left to meddl, which derives the same
    as it runs; any other is refused, never dropped."""
    applied = {"use_causal_mask", "return_attention_scores"} if isinstance(layer, (MultiHeadAttention, Attention)) \
        else set()
    keywords = dict(keywords)
    if "mask" in keywords and masks.automatic(keywords["mask"]):
        del keywords["mask"]
    unsupported = {key: value for key, value in keywords.items() if key not in applied}
    if unsupported:
        raise ModelFileError(f"Layer '{layer.name}' ({type(layer).__name__}) is called with {unsupported} in the Keras "
                             "model, which meddl does not apply.")
    return keywords


class _AutomaticMasks:
    """Keras 3 writes the padding masks that flow between layers into its graph: ``NotEqual`` (and ``Any`` over
    the features, for ``Masking``) of the tensor that ``Embedding(mask_zero=True)`` or ``Masking`` reads, passed
    on by ``ConvertToTensor``, joined by ``LogicalOr`` where a merge layer (``Add``, ...) combines masked inputs,
    and given to each layer that takes a mask as its ``mask`` argument. meddl derives the same masks as it runs,
    so these operations are not built, and a ``mask`` argument made of them alone is recognised (any other mask
    is refused)."""

    OPERATIONS = ("NotEqual", "Any", "ConvertToTensor", "LogicalOr")

    def __init__(self, specs: list[dict[str, Any]]):
        self.operations = {_spec_name(spec): spec for spec in specs if spec.get("class_name") in self.OPERATIONS}
        self.sources = set()  # (tensor reference, value, over features) an Embedding(mask_zero) or Masking reads
        for spec in specs:
            config = spec.get("config", {})
            if spec.get("class_name") == "Embedding" and config.get("mask_zero"):
                self.sources |= {(ref, 0.0, False) for refs, _, _ in _node_calls(spec) for ref in refs}
            elif spec.get("class_name") == "Masking":
                value = float(config.get("mask_value", 0.0))
                self.sources |= {(ref, value, True) for refs, _, _ in _node_calls(spec) for ref in refs}

    def automatic(self, argument: Any) -> bool:
        refs = _history(argument)
        return bool(refs) and all(self._derived(ref, over_features=False) for ref in refs)

    def _derived(self, ref: tuple[str, int, int], over_features: bool) -> bool:
        spec = self.operations.get(ref[0])
        if spec is None or ref[1] != 0 or ref[2] != 0:
            return False
        args = spec["inbound_nodes"][0].get("args", [])
        inputs = _history(args)
        if spec["class_name"] == "LogicalOr":
            return len(inputs) == 2 and not over_features and all(self._derived(ref, False) for ref in inputs)
        if len(inputs) != 1:
            return False
        if spec["class_name"] == "ConvertToTensor":
            return self._derived(inputs[0], over_features)
        if spec["class_name"] == "Any":
            config = spec.get("config", {})
            return not over_features and config.get("axis") in (-1, [-1]) and not config.get("keepdims") \
                and self._derived(inputs[0], over_features=True)
        value = args[1] if len(args) == 2 and isinstance(args[1], (int, float)) else None  # NotEqual(tensor, value)
        return value is not None and (inputs[0], float(value), over_features) in self.sources


def _spec_name(spec: dict[str, Any]) -> str:
    return spec.get("name") or spec["config"]["name"]


def _build_functional(config: dict[str, Any], notes: dict):
    layers: dict[str, Layer] = {}
    outputs: dict[tuple[str, int], Any] = {}
    pending: list[tuple[str, int, list, bool]] = []
    masks = _AutomaticMasks(config["layers"])
    consumed = {ref[0] for spec in config["layers"] if spec.get("class_name") not in _AutomaticMasks.OPERATIONS
                for refs, _, _ in _node_calls(spec) for ref in refs}
    for spec in config["layers"]:
        if spec.get("class_name") in _AutomaticMasks.OPERATIONS and _spec_name(spec) not in consumed:
            continue  # a padding mask's operation: meddl derives the mask itself (see _AutomaticMasks)
        layer = _build_layer(spec, notes)
        name = _spec_name(spec)
        layer.name = name
        layers[name] = layer
        if isinstance(layer, InputLayer):
            outputs[(name, 0)] = layer.output
            continue
        for index, (refs, single, keywords) in enumerate(_node_calls(spec)):
            pending.append((name, index, refs, single, _call_keywords(layer, keywords, masks)))
    while pending:
        progressed = False
        for item in list(pending):
            name, index, refs, single, keywords = item
            if all((ref[0], ref[1]) in outputs for ref in refs):
                tensors = [_pick(outputs[(ref[0], ref[1])], ref[2]) for ref in refs]
                outputs[(name, index)] = layers[name](tensors[0] if single else tensors, **keywords)
                pending.remove(item)
                progressed = True
        if not progressed:
            raise ModelFileError(f"The Keras model's graph cannot be rebuilt: layers {[p[0] for p in pending]} "
                                 "wait on inputs that no layer produces.")

    def refs(key: str):
        items = config[key]
        if isinstance(items, dict):  # Keras 3: inputs or outputs given as a dict {key: [name, node, index]}
            return {str(name): refs_of([item])[0] for name, item in items.items()}
        if items and isinstance(items[0], str):  # a single [name, node, index]
            items = [items]
        return refs_of(items)

    def refs_of(items):
        return [_pick(outputs[(item[0], int(item[1]))], int(item[2])) for item in items]

    inputs, results = refs("input_layers"), refs("output_layers")
    if isinstance(inputs, dict):
        inputs = list(inputs.values())  # fed in the order of the model's inputs
    functional = get_layer_class("Functional")
    return functional(inputs[0] if len(inputs) == 1 else inputs,
                      results[0] if isinstance(results, list) and len(results) == 1 else results,
                      name=config.get("name"))


def _pick(value: Any, index: int):
    return value[index] if isinstance(value, list) else value


# -- weights --------------------------------------------------------------------------------------------
def _keras3_arrays(group) -> list[np.ndarray]:
    """Every variable of one layer's group, in Keras's order (own vars, then cell / forward / backward / wrapped)."""
    arrays = []
    if "vars" in group:
        variables = group["vars"]
        arrays += [np.asarray(variables[key]) for key in sorted(variables, key=int)]
    for child in ("cell", "forward_layer", "backward_layer", "layer",  # "layer": TimeDistributed's
                  "query_dense", "key_dense", "value_dense", "output_dense"):  # MultiHeadAttention's
        if child in group:
            arrays += _keras3_arrays(group[child])
    return arrays


def _keras3_groups(group) -> dict[str, Any]:
    """``{layer name: h5 group}`` for the layers saved under ``group["layers"]``."""
    found = {}
    for key in group.get("layers", {}):
        child = group["layers"][key]
        name = child["vars"].attrs.get("name", key) if "vars" in child else key
        found[name.decode() if isinstance(name, bytes) else str(name)] = child
    return found


def _load_keras3_weights(model, handle) -> None:
    if type(model).__name__ != "Sequential" and not getattr(model, "_graph_model", False):
        for path, layer in keras_export.own_model_layers(model):  # a subclassed model: by attribute
            group = handle.get(path)
            if hasattr(layer, "layers") and group is not None and "layers" in group:
                _load_keras3_weights(layer, group)
            else:
                _set(layer, _keras3_arrays(group) if group is not None else [])
        return
    groups = _keras3_groups(handle)
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            continue
        group = groups.get(layer.name)
        if hasattr(layer, "layers") and group is not None and "layers" in group:
            _load_keras3_weights(layer, group)
            continue
        _set(layer, _keras3_arrays(group) if group is not None else [])


def _load_legacy_weights(model, handle) -> None:
    for layer in model.layers:
        if isinstance(layer, InputLayer):
            continue
        if layer.name not in handle:
            _set(layer, [])
            continue
        group = handle[layer.name]
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
        _set(layer, [np.asarray(group[name]) for name in names])


def _set(layer: Layer, arrays: list[np.ndarray]) -> None:
    if not arrays and isinstance(layer, Normalization) and layer.given is not None:
        return  # Keras keeps given statistics in the config, not as weights; meddl built them from it
    expected = len(layer.weights)
    if len(arrays) != expected:
        raise ModelFileError(f"Layer '{layer.name}' ({type(layer).__name__}) needs {expected} weight arrays but the "
                             f"Keras file holds {len(arrays)} for it.")
    if expected:
        layer.set_weights(arrays)
