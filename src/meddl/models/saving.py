"""Save and load models without pickle: JSON for the architecture, safetensors for weights.

A saved model is a folder::

    model.json          architecture, compile settings, metadata, SHA-256 of the weights
    model.safetensors   the weights, keyed "<layer name>.<weight>"

The folder is written under a temporary name and renamed into place, so an
interrupted save never leaves a model that half-loads; on load the weights'
checksum is verified, so a truncated or tampered file is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meddl.errors import MeddlError, ModelFileError
from meddl.io import atomic_directory
from meddl.saving import read_arrays, read_document, registered_class, write_arrays, write_document
from meddl.training.loop import resolve_device

__all__ = ["save_model", "load_model", "read_model_document", "FORMAT", "WEIGHTS_FILE", "CONFIG_FILE"]

FORMAT = "meddl.sequential/1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"


def save_model(model, path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to the folder ``path`` atomically; return the path."""
    model._require_built("save the model")
    path = Path(path)
    with atomic_directory(path) as tmp:
        weights = write_arrays(tmp / WEIGHTS_FILE, model.named_weights(), format=FORMAT)
        write_document(tmp / CONFIG_FILE, {"class": type(model).__name__, "config": model.get_config(),
                                           "compile": model.compile_config(), "metadata": metadata or {},
                                           "weights": weights}, format=FORMAT)
    return path


def read_model_document(path) -> dict[str, Any]:
    """Read and check ``model.json`` of a saved model folder."""
    path = Path(path)
    if not path.is_dir() or not (path / CONFIG_FILE).is_file():
        raise ModelFileError(f"No saved meddl model at '{path}': expected a folder holding {CONFIG_FILE} and "
                             f"{WEIGHTS_FILE}.")
    return read_document(path / CONFIG_FILE, format=FORMAT, what="meddl model file")


def load_model(path, *, device: str = "auto"):
    """Load a model saved with ``model.save(path)``; predictions are bit-identical.

    Raises:
        ModelFileError: the folder is missing, a file is truncated, or the weights were changed.

    Example:
        >>> import meddl
        >>> model = meddl.load_model("runs/quickstart/model")  # doctest: +SKIP
    """
    path = Path(path)
    document = read_model_document(path)
    weights = read_arrays(path, document.get("weights"), WEIGHTS_FILE, document=CONFIG_FILE)
    model_class = registered_class("model", document.get("class", "Sequential"), path / CONFIG_FILE)
    try:
        model = model_class.from_config(document["config"])
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"The architecture in '{path / CONFIG_FILE}' is incomplete: missing {exc}.") from None
    try:
        model.load_named_weights(weights, strict=True)
    except MeddlError as exc:
        raise ModelFileError(f"The weights in '{path / WEIGHTS_FILE}' do not fit the saved architecture: {exc}") from None
    compiled = document.get("compile")
    if compiled:
        model.compile(optimizer=compiled["optimizer"], loss=compiled["loss"], metrics=compiled["metrics"],
                      device=device, precision=compiled.get("precision", "fp32"))
    else:
        model.device = resolve_device(device)
        model.to(model.device)
    model.metadata = document.get("metadata", {})
    model._trained = True
    model.eval()
    return model
