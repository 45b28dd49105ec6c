"""Save and load models without pickle: JSON for the architecture, safetensors for weights.

A saved model is a folder::

    model.json          architecture, compile settings, metadata, SHA-256 of the weights
    model.safetensors   the weights, keyed "<layer name>.<weight>"

The folder is written under a temporary name and renamed into place, so an
interrupted save never leaves a model that half-loads; on load the weights'
checksum is verified, so a truncated or tampered file is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from meddl.errors import MeddlError, ModelFileError
from meddl.io import atomic_directory
from meddl.io import sha256_file as _sha256

__all__ = ["save_model", "load_model", "FORMAT", "WEIGHTS_FILE", "CONFIG_FILE"]

FORMAT = "meddl.sequential/1"
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "model.json"


def save_model(model, path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` to the folder ``path`` atomically; return the path."""
    from safetensors.torch import save_file

    from meddl import __version__

    model._require_built("save the model")
    path = Path(path)
    weights = {key: tensor.detach().cpu().contiguous() for key, tensor in model.named_weights().items()}
    with atomic_directory(path) as tmp:
        save_file(weights, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        document = {
            "format": FORMAT,
            "meddl_version": __version__,
            "config": model.get_config(),
            "compile": model.compile_config(),
            "metadata": metadata or {},
            "weights": {"file": WEIGHTS_FILE, "sha256": _sha256(tmp / WEIGHTS_FILE)},
        }
        try:
            text = json.dumps(document, indent=2, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise MeddlError(f"The model's metadata must be JSON-serialisable: {exc}.") from None
        (tmp / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")
    return path


def read_model_document(path) -> dict[str, Any]:
    """Read and check ``model.json`` of a saved model folder."""
    path = Path(path)
    config_path = path / CONFIG_FILE
    if not path.is_dir() or not config_path.is_file():
        raise ModelFileError(f"No saved meddl model at '{path}': expected a folder holding {CONFIG_FILE} and {WEIGHTS_FILE}.")
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"'{config_path}' is not valid JSON ({exc}); the file is corrupted or truncated.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"'{config_path}' is not a meddl model file (expected format {FORMAT!r}, "
                             f"got {document.get('format') if isinstance(document, dict) else type(document).__name__!r}).")
    return document


def load_model(path, *, device: str = "auto"):
    """Load a model saved with ``model.save(path)``; predictions are bit-identical.

    Raises:
        ModelFileError: the folder is missing, a file is truncated, or the weights were changed.

    Example:
        >>> import meddl
        >>> model = meddl.load_model("runs/quickstart/model")  # doctest: +SKIP
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from meddl.models.sequential import Sequential

    path = Path(path)
    document = read_model_document(path)
    weights_path = path / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ModelFileError(f"The weights file '{weights_path}' is missing.")
    expected = (document.get("weights") or {}).get("sha256")
    if expected != _sha256(weights_path):
        raise ModelFileError(f"The weights file '{weights_path}' does not match the checksum recorded in {CONFIG_FILE}: "
                             "it was truncated, corrupted or changed after saving. Re-save or re-train the model.")
    try:
        weights = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"Could not read '{weights_path}': {exc}.") from None
    try:
        model = Sequential.from_config(document["config"])
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"The architecture in '{path / CONFIG_FILE}' is incomplete: missing {exc}.") from None
    try:
        model.load_named_weights(weights, strict=True)
    except MeddlError as exc:
        raise ModelFileError(f"The weights in '{weights_path}' do not fit the saved architecture: {exc}") from None
    compiled = document.get("compile")
    if compiled:
        model.compile(optimizer=compiled["optimizer"], loss=compiled["loss"], metrics=compiled["metrics"],
                      device=device, precision=compiled.get("precision", "fp32"))
    else:
        from meddl.training.loop import resolve_device

        model.device = resolve_device(device)
        model.to(model.device)
    model.metadata = document.get("metadata", {})
    model._trained = True
    model.eval()
    return model
