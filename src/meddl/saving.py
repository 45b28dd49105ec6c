"""The one saving core: a folder holding a JSON document and safetensors arrays, checksummed, never pickled.

Every saved object of meddl (networks, survival models, treatment estimators)
is a folder with a JSON document (its class, parameters and fitted scalars,
the format and meddl's version) and, where it has them, a safetensors file of
arrays whose sha256 the document records. Classes register themselves under
a family (``@register_class("survival")``), so a document names its class and
loading finds it without the saving code importing every class (and without
pickle). Each family keeps its own document layout and file names, so folders
written by meddl 0.1.0 still load.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from meddl.errors import MeddlError, ModelFileError
from meddl.io import sha256_file
from meddl.version import __version__

__all__ = ["register_class", "registered_class", "registered_classes", "write_document", "read_document",
           "write_arrays", "read_arrays", "custom_object_scope", "custom_object", "register_keras_serializable",
           "get_custom_objects", "get_registered_name", "serialize_keras_object", "deserialize_keras_object"]

_CLASSES: dict[str, dict[str, type]] = {}
_CUSTOM_OBJECTS: ContextVar[dict[str, Any]] = ContextVar("meddl_custom_objects", default={})
_REGISTERED: dict[str, Any] = {}  # register_keras_serializable's objects, by name and by "package>name"


@contextmanager
def custom_object_scope(custom_objects: Mapping[str, Any]) -> Iterator[None]:
    """Keras's ``custom_object_scope``: inside the block, your own layer classes, loss functions and
    metric functions are known by name (``load_model(path, custom_objects=...)`` uses it).

    Example:
        >>> def my_loss(y_true, y_pred):
        ...     return (y_true - y_pred).abs().mean(dim=-1)
        >>> with custom_object_scope({"my_loss": my_loss}):
        ...     custom_object("my_loss") is my_loss
        True
    """
    if not isinstance(custom_objects, Mapping):
        raise MeddlError(f"custom_objects must be a mapping of names to your layer classes or functions, e.g. "
                         f"{{'Scale': Scale}}. Got {type(custom_objects).__name__} instead.")
    for name, value in custom_objects.items():
        if not callable(value):
            raise MeddlError(f"custom_objects[{name!r}] must be a class or a function. Got {value!r} instead.")
    token = _CUSTOM_OBJECTS.set({**_CUSTOM_OBJECTS.get(), **{str(k): v for k, v in custom_objects.items()}})
    try:
        yield
    finally:
        _CUSTOM_OBJECTS.reset(token)


def custom_object(name: str) -> Any:
    """The object ``name`` in the innermost :func:`custom_object_scope`, else one registered with
    :func:`register_keras_serializable`, or None."""
    found = _CUSTOM_OBJECTS.get().get(name)
    return found if found is not None else _REGISTERED.get(name)


def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Keras's decorator: your own layer, model, loss or metric class or function is known by name when a saved
    model is loaded, without ``custom_objects`` (by its name, and by Keras's ``"package>name"``).

    Example:
        >>> @register_keras_serializable(package="Clinic")
        ... def weighted_mae(y_true, y_pred):
        ...     return (y_true - y_pred).abs().mean(dim=-1)
        >>> custom_object("Clinic>weighted_mae") is custom_object("weighted_mae") is weighted_mae
        True
    """
    if not isinstance(package, str) or ">" in package or not package:
        raise MeddlError(f"register_keras_serializable's 'package' must be a non-empty string without '>'. Got "
                         f"{package!r} instead.")

    def register(obj: Any) -> Any:
        if not callable(obj):
            raise MeddlError(f"register_keras_serializable decorates a class or a function. Got {obj!r} instead.")
        if isinstance(obj, type) and not hasattr(obj, "get_config"):
            raise MeddlError(f"Cannot register {obj.__name__}: a class needs a get_config() method to be saved.")
        registered = name or obj.__name__
        for key in {registered, obj.__name__}:  # meddl's files name an object by its __name__
            existing = _REGISTERED.get(key)
            if existing is not None and getattr(existing, "__qualname__", None) != getattr(obj, "__qualname__", None):
                # without the package in meddl's files, two of one name would be told apart by nothing
                raise MeddlError(f"{key!r} is already registered for {existing!r}; give this one another name "
                                 "(register_keras_serializable(name=...)).")
        for key in (registered, obj.__name__, f"{package}>{registered}"):
            _REGISTERED[key] = obj  # a notebook cell run again replaces its own
        obj._registered_name = f"{package}>{registered}"
        return obj
    return register


def get_custom_objects() -> dict[str, Any]:
    """Keras's ``get_custom_objects``: the objects registered with :func:`register_keras_serializable`, by
    name (a copy; use the decorator or ``custom_object_scope`` to add to it)."""
    return dict(_REGISTERED)


def get_registered_name(obj: Any) -> str:
    """Keras's ``get_registered_name``: ``"package>name"`` for a registered object, else its name."""
    return getattr(obj, "_registered_name", None) or getattr(obj, "__name__", type(obj).__name__)


def serialize_keras_object(obj: Any) -> Any:
    """Keras's ``serialize_keras_object``: a layer, model or other object with ``get_config()`` as plain data
    (``{"module", "class_name", "config", "registered_name"}``), a function of your own as its registered
    name; ``None``, strings and numbers as they are. :func:`deserialize_keras_object` makes it again.

    Example:
        >>> from meddl.layers import Dense
        >>> spec = serialize_keras_object(Dense(3, activation="relu"))
        >>> type(deserialize_keras_object(spec)).__name__, spec["config"]["units"]
        ('Dense', 3)
    """
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(item) for item in obj]
    if isinstance(obj, dict):
        return {key: serialize_keras_object(value) for key, value in obj.items()}
    if not isinstance(obj, type) and hasattr(obj, "get_config"):
        cls = type(obj)
        return {"module": cls.__module__, "class_name": cls.__name__, "config": obj.get_config(),
                "registered_name": getattr(cls, "_registered_name", None) or cls.__name__}
    if callable(obj) and hasattr(obj, "__name__") and obj.__name__ != "<lambda>":
        return {"module": obj.__module__, "class_name": "function", "config": get_registered_name(obj),
                "registered_name": "function"}
    raise MeddlError(f"Cannot serialize {obj!r}: a class instance needs a get_config() method, and a function a "
                     "name (not a lambda).")


def deserialize_keras_object(config: Any, custom_objects: Mapping[str, Any] | None = None, safe_mode: bool = True,
                             **keras_settings) -> Any:
    """Keras's ``deserialize_keras_object``: the object :func:`serialize_keras_object` described, its class
    found in ``custom_objects``, among the registered objects (``register_keras_serializable``) or meddl's
    own layers and models, and made by its ``from_config``."""
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(item, custom_objects) for item in config]
    if isinstance(config, str):
        found = _keras_object(config, custom_objects)
        return config if found is None else found
    if not isinstance(config, dict) or "class_name" not in config:
        raise MeddlError(f"deserialize_keras_object takes what serialize_keras_object returned (a dict with "
                         f"'class_name' and 'config'). Got {config!r} instead.")
    class_name, inner = config["class_name"], config.get("config")
    if class_name == "function":
        found = _keras_object(str(inner), custom_objects)
        if found is None:
            raise MeddlError(f"Unknown function {inner!r}: pass custom_objects={{{str(inner).split('>')[-1]!r}: ...}} "
                             "or register it with @meddl.saving.register_keras_serializable().")
        return found
    found = next((cls for key in (config.get("registered_name"), class_name) if key
                  for cls in [_keras_object(str(key), custom_objects)] if isinstance(cls, type)), None)
    if found is None:
        raise MeddlError(f"Unknown class {class_name!r}: pass custom_objects={{{class_name!r}: {class_name}}} or "
                         "register it with @meddl.saving.register_keras_serializable().")
    return found.from_config(dict(inner or {}))


def _keras_object(name: str, custom_objects: Mapping[str, Any] | None) -> Any:
    with custom_object_scope(custom_objects or {}):
        found = custom_object(name)
    return found if found is not None else _CLASSES.get("keras", {}).get(name)


def register_class(family: str):
    """Class decorator: save files of ``family`` may name this class (by its ``__name__``)."""
    def register(cls: type) -> type:
        _CLASSES.setdefault(family, {})[cls.__name__] = cls
        return cls
    return register


def registered_classes(family: str) -> dict[str, type]:
    """The classes registered under ``family``, by name."""
    return dict(_CLASSES.get(family, {}))


def registered_class(family: str, name: object, where: Path) -> type:
    """The class a saved document names, or ``ModelFileError`` naming the file and the known classes."""
    classes = _CLASSES.get(family, {})
    if name not in classes:
        raise ModelFileError(f"'{where}' names an unknown {family} class {name!r}; expected one of {sorted(classes)}.")
    return classes[name]


def write_document(path: Path, document: dict[str, Any], *, format: str) -> None:
    """Write a saved object's JSON document (``format`` and ``meddl_version`` first); strict JSON, no NaN."""
    document = {"format": format, "meddl_version": __version__, **document}
    try:
        text = json.dumps(document, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MeddlError(f"The parameters and metadata to save must be JSON-serialisable: {exc}.") from None
    Path(path).write_text(text + "\n", encoding="utf-8")


def read_document(path: Path, *, format: str, what: str) -> dict[str, Any]:
    """Read and check a saved object's JSON document (``what`` names it for messages: "meddl model", ...)."""
    path = Path(path)
    if not path.parent.is_dir() or not path.is_file():
        raise ModelFileError(f"No saved {what} at '{path.parent}': expected a folder holding {path.name}.")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"'{path}' is not valid JSON ({exc}); the file is corrupted or truncated.") from None
    if not isinstance(document, dict) or document.get("format") != format:
        got = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ModelFileError(f"'{path}' is not a {what} (expected format {format!r}, got {got!r}).")
    return document


def write_arrays(path: Path, arrays: dict[str, torch.Tensor], *, format: str) -> dict[str, str]:
    """Write tensors to a safetensors file; return the ``{"file", "sha256"}`` entry for the document."""
    path = Path(path)
    save_file({key: value.detach().cpu().contiguous() for key, value in arrays.items()}, str(path),
              metadata={"format": format})
    return {"file": path.name, "sha256": sha256_file(path)}


def read_arrays(folder: Path, entry: dict[str, Any] | None, default_file: str, *, document: str) -> dict[str, torch.Tensor]:
    """Read the arrays a document's ``entry`` names, after checking their sha256."""
    entry = entry or {}
    path = Path(folder) / entry.get("file", default_file)
    if not path.is_file():
        raise ModelFileError(f"The arrays file '{path}' is missing.")
    if entry.get("sha256") != sha256_file(path):
        raise ModelFileError(f"The file '{path}' does not match the checksum recorded in {document}: it was "
                             "truncated, corrupted or changed after saving. Re-save or re-train the model.")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"Could not read '{path}': {exc}.") from None
