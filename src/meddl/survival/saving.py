"""Save and load survival models without pickle.

A saved model is a folder (written atomically, see :func:`meddl.io.atomic_directory`)::

    survival.json          class, constructor arguments, fitted scalars, SHA-256 of the arrays
    arrays.safetensors     float64 arrays: standardisation, Breslow baseline or time cuts
    network/               the risk network, saved by ``Sequential.save`` (model.json + model.safetensors)

An ensemble saves its members as ``member_0/``, ``member_1/``, ... next to its own ``survival.json``.
The training history (``history_``) is not saved; everything prediction needs is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from meddl.errors import MeddlError, ModelFileError
from meddl.io import atomic_directory
from meddl.io import sha256_file as _sha256
from meddl.models.saving import load_model

__all__ = ["FORMAT", "save_survival_model", "load_survival_model"]

FORMAT = "meddl.survival/1"
CONFIG_FILE = "survival.json"
ARRAYS_FILE = "arrays.safetensors"
NETWORK_FOLDER = "network"


def _classes() -> dict[str, type]:
    from meddl.survival.cox import DeepSurv, LinearCox
    from meddl.survival.ensemble import SurvivalEnsemble
    from meddl.survival.logistic_hazard import LogisticHazard

    return {cls.__name__: cls for cls in (DeepSurv, LinearCox, LogisticHazard, SurvivalEnsemble)}


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        if hasattr(value, "get_params") and hasattr(value, "fit"):  # an ensemble's base estimator
            value = {"class": type(value).__name__, "params": _json_params(value.get_params())}
        out[key] = value
    return out


def _restore_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if key == "hidden_units" and isinstance(value, list):
            value = tuple(value)
        if key == "seeds" and isinstance(value, list):
            value = tuple(value)
        if isinstance(value, dict) and "class" in value and "params" in value:
            value = _classes()[value["class"]](**_restore_params(value["params"]))
        out[key] = value
    return out


def _write(model, folder: Path) -> None:
    from safetensors.torch import save_file

    from meddl import __version__

    document: dict[str, Any] = {"format": FORMAT, "meddl_version": __version__, "class": type(model).__name__,
                                "params": _json_params(model.get_params())}
    if hasattr(model, "members_"):
        document["members"] = []
        for index, member in enumerate(model.members_):
            name = f"member_{index}"
            (folder / name).mkdir()
            _write(member, folder / name)
            document["members"].append(name)
    else:
        arrays = {key: torch.as_tensor(np.ascontiguousarray(value, dtype=np.float64))
                  for key, value in model._state_arrays().items()}
        save_file(arrays, str(folder / ARRAYS_FILE), metadata={"format": FORMAT})
        model.network_.save(folder / NETWORK_FOLDER)
        document["state"] = {"n_features_in_": int(model.n_features_in_), "best_epoch_": int(model.best_epoch_)}
        document["arrays"] = {"file": ARRAYS_FILE, "sha256": _sha256(folder / ARRAYS_FILE)}
    try:
        text = json.dumps(document, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MeddlError(f"The model's parameters must be JSON-serialisable to save it: {exc}.") from None
    (folder / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")


def save_survival_model(model, path) -> Path:
    """Write a fitted survival model (or ensemble) to the folder ``path``; return the path."""
    path = Path(path)
    with atomic_directory(path) as tmp:
        _write(model, tmp)
    return path


def _read(folder: Path, device: str):
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise ModelFileError(f"No saved meddl survival model at '{folder}': expected a folder holding {CONFIG_FILE}.")
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"'{config_path}' is not valid JSON ({exc}); the file is corrupted or "
                             "truncated.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"'{config_path}' is not a meddl survival model (expected format {FORMAT!r}).")
    classes = _classes()
    if document.get("class") not in classes:
        raise ModelFileError(f"'{config_path}' names an unknown model class {document.get('class')!r}; "
                             f"expected one of {sorted(classes)}.")
    model = classes[document["class"]](**_restore_params(document.get("params", {})))
    if "members" in document:
        model.members_ = [_read(folder / name, device) for name in document["members"]]
        return model
    arrays_path = folder / ARRAYS_FILE
    if not arrays_path.is_file() or _sha256(arrays_path) != document.get("arrays", {}).get("sha256"):
        raise ModelFileError(f"The arrays file '{arrays_path}' is missing or does not match the checksum in "
                             f"{CONFIG_FILE}: it was truncated, corrupted or changed after saving.")
    try:
        arrays = {key: tensor.numpy() for key, tensor in load_file(str(arrays_path)).items()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelFileError(f"Could not read '{arrays_path}': {exc}.") from None
    model._load_state_arrays(arrays)
    model.network_ = load_model(folder / NETWORK_FOLDER, device=device)
    for key, value in document.get("state", {}).items():
        setattr(model, key, value)
    return model


def load_survival_model(path, *, device: str = "cpu"):
    """Load any model saved by ``save`` (DeepSurv, LinearCox, LogisticHazard or SurvivalEnsemble).

    Raises:
        ModelFileError: the folder is missing, a file is truncated, or the arrays were changed.
    """
    return _read(Path(path), device)
