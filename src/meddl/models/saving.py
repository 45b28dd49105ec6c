"""Save and load models without pickle: JSON for the architecture, safetensors for weights.

A saved model is a folder::

    model.json          architecture, compile settings, metadata, SHA-256 of the weights
    model.safetensors   the weights, keyed "<layer name>.<weight>"

The folder is written under a temporary name and renamed into place, so an
interrupted save never leaves a model that half-loads; on load the weights'
checksum is verified, so a truncated or tampered file is refused. The document
names the model's class (``Sequential`` or ``Functional``, registered with the
saving core), so the same format holds both.

``load_model`` also reads Keras's own files (``.keras`` and legacy ``.h5``):
see :mod:`meddl.models.keras_import`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors.torch as safetensors_torch

from meddl.errors import MeddlError, ModelFileError
from meddl.io import atomic_directory, atomic_write_bytes
from meddl.models import keras_import
from meddl.layers.registry import get_layer_class
from meddl.saving import (custom_object_scope, read_arrays, read_document, registered_class, registered_classes,
                          write_arrays, write_document)
from meddl.training.loop import resolve_device

__all__ = ["save_model", "load_model", "read_model_document", "save_weights", "load_weights", "architecture_json",
           "model_from_json", "clone_model",
           "FORMAT", "WEIGHTS_FILE", "CONFIG_FILE"]

FORMAT = "meddl.sequential/1"  # every model class (the document's "class" says which); the name predates Model
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"


def architecture_json(model) -> str:
    """The model's architecture as JSON text (Keras's ``to_json``)."""
    return json.dumps({"class_name": type(model).__name__, "config": model.get_config()})


def model_from_json(json_string: str, custom_objects: Mapping[str, type] | None = None):
    """Keras's ``model_from_json``: a new, untrained model with the architecture ``model.to_json()`` wrote."""
    try:
        spec = json.loads(json_string)
    except (TypeError, json.JSONDecodeError) as exc:
        raise MeddlError(f"model_from_json needs the JSON text model.to_json() returns; it could not be read: "
                         f"{exc}.") from None
    if not isinstance(spec, dict) or "class_name" not in spec or not isinstance(spec.get("config"), dict):
        raise MeddlError("model_from_json needs the JSON text model.to_json() returns: an object with "
                         f"'class_name' and 'config'. Got {str(json_string)[:80]!r} instead.")
    with custom_object_scope(custom_objects or {}):
        return _model_class(spec["class_name"], "the JSON given to model_from_json").from_config(spec["config"])


def clone_model(model):
    """Keras's ``clone_model``: the same architecture with newly initialised weights, not compiled."""
    own_classes = {type(module).__name__: type(module) for module in model.modules()
                   if hasattr(module, "get_config") and not type(module).__module__.startswith("meddl.")}
    with custom_object_scope(own_classes):  # layers and models of your own need no registration to be cloned
        return type(model).from_config(model.get_config())


def save_model(model, path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to the folder ``path`` atomically; return the path."""
    model._require_built("save the model")
    path = Path(path)
    with atomic_directory(path) as tmp:
        weights = write_arrays(tmp / WEIGHTS_FILE, model.named_weights(), format=FORMAT)
        shape = model.input_shape_
        build = {"build_input_shape": [list(item) for item in shape] if isinstance(shape, list) else list(shape)}
        write_document(tmp / CONFIG_FILE, {"class": type(model).__name__, "config": model.get_config(),
                                           "compile": model.compile_config(), "metadata": metadata or {},
                                           "weights": weights, **build}, format=FORMAT)
    return path


def read_model_document(path) -> dict[str, Any]:
    """Read and check ``model.json`` of a saved model folder."""
    path = Path(path)
    if not path.is_dir() or not (path / CONFIG_FILE).is_file():
        raise ModelFileError(f"No saved meddl model at '{path}': expected a folder holding {CONFIG_FILE} and "
                             f"{WEIGHTS_FILE}.")
    return read_document(path / CONFIG_FILE, format=FORMAT, what="meddl model file")


def load_model(path, *, custom_objects: Mapping[str, type] | None = None, device: str = "auto",
               compile: bool = True):  # noqa: A002 - Keras's argument name
    """Load a model saved with ``model.save(path)`` (predictions are bit-identical), or a Keras
    ``.keras`` / ``.h5`` file (same predictions as Keras, then trainable with meddl).

    ``custom_objects`` maps the class names of your own layers to their classes, as in Keras
    (or register them once with :func:`meddl.layers.register_layer_class`).

    Raises:
        ModelFileError: the folder is missing, a file is truncated, the weights were changed,
            or a Keras file holds a layer meddl does not support (named in the message).

    Example:
        >>> import meddl
        >>> model = meddl.load_model("runs/quickstart/model")  # doctest: +SKIP
    """
    path = Path(path)
    if path.suffix.lower() in keras_import.KERAS_SUFFIXES and path.is_file():
        with custom_object_scope(custom_objects or {}):
            model = keras_import.load_keras_model(path, compile=compile)
        model.device = resolve_device(device)
        model.to(model.device)
        return model
    document = read_model_document(path)
    weights = read_arrays(path, document.get("weights"), WEIGHTS_FILE, document=CONFIG_FILE)
    with custom_object_scope(custom_objects or {}):
        model_class = _model_class(document.get("class", "Sequential"), path / CONFIG_FILE)
        try:
            model = model_class.from_config(document["config"])
        except (KeyError, TypeError) as exc:
            raise ModelFileError(f"The architecture in '{path / CONFIG_FILE}' is incomplete: missing {exc}.") from None
        except MeddlError as exc:
            raise ModelFileError(f"Could not rebuild the model in '{path / CONFIG_FILE}': {exc}") from None
        if not model.built and document.get("build_input_shape") is not None:
            # a model of your own whose get_config leaves out the build shape (as Keras's examples write it)
            shape = document["build_input_shape"]
            model.build([tuple(item) for item in shape] if shape and isinstance(shape[0], list) else tuple(shape))
        try:
            model.load_named_weights(weights, strict=True)
        except MeddlError as exc:
            raise ModelFileError(f"The weights in '{path / WEIGHTS_FILE}' do not fit the saved architecture: "
                                 f"{exc}") from None
        compiled = document.get("compile")
        if compiled and compile:
            try:
                model.compile(optimizer=compiled["optimizer"], loss=compiled["loss"], metrics=compiled["metrics"],
                              device=device, precision=compiled.get("precision", "fp32"),
                              loss_weights=compiled.get("loss_weights"))
            except MeddlError as exc:
                raise ModelFileError(f"Could not compile the model in '{path / CONFIG_FILE}' as it was saved: {exc} "
                                     "Or load it uncompiled: load_model(path, compile=False).") from None
    if not (compiled and compile):
        model.device = resolve_device(device)
        model.to(model.device)
    model.metadata = document.get("metadata", {})
    model._trained = True
    model.eval()
    return model


def _model_class(name: object, where: Path | str) -> type:
    """meddl's model classes by name, or a model of your own from ``custom_objects`` / ``register_layer_class``."""
    if name in registered_classes("model"):
        return registered_class("model", name, where)
    try:
        cls = get_layer_class(str(name))
    except MeddlError:
        cls = None
    if not (isinstance(cls, type) and hasattr(cls, "_graph_model")):  # a meddl.Model subclass
        raise ModelFileError(f"'{where}' holds a model of class {name!r}, which is not meddl's: pass "
                             f"custom_objects={{{name!r}: {name}}} to load_model, or decorate the class with "
                             "@meddl.layers.register_layer_class.")
    return cls


def save_weights(model, filepath) -> Path:
    """Write ``model``'s weights (keyed by layer name) to one ``.safetensors`` file, atomically."""
    model._require_built("save weights")
    filepath = Path(filepath)
    if not filepath.name.endswith(".safetensors"):
        stem = filepath.stem if filepath.stem.endswith(".weights") else f"{filepath.stem}.weights"
        raise MeddlError(f"save_weights writes a weights file: the name must end in '.weights.h5' (Keras's) or "
                         f"'.safetensors'. Got '{filepath.name}' instead, e.g. use '{stem}.h5'.")
    weights = {key: tensor.detach().cpu().contiguous() for key, tensor in model.named_weights().items()}
    atomic_write_bytes(filepath, safetensors_torch.save(weights, metadata={"format": "meddl.weights/1"}))
    return filepath


def load_weights(model, filepath, *, strict: bool = True) -> None:
    """Read weights written by :func:`save_weights` into ``model`` (matched by layer name)."""
    filepath = Path(filepath)
    if not filepath.is_file():
        raise ModelFileError(f"No weights file at '{filepath}'.")
    try:
        weights = safetensors_torch.load_file(str(filepath))
    except (OSError, ValueError, Exception) as exc:  # safetensors raises its own error type for bad headers
        raise ModelFileError(f"Could not read '{filepath}': {exc}.") from None
    try:
        model.load_named_weights(weights, strict=strict)
    except MeddlError as exc:
        raise ModelFileError(f"The weights in '{filepath}' do not fit this model: {exc}") from None
