"""Save and load survival models without pickle.

A saved model is a folder (written atomically, see :func:`meddl.io.atomic_directory`)::

    survival.json          class, constructor arguments, fitted scalars, SHA-256 of the arrays
    arrays.safetensors     float64 arrays: standardisation, Breslow baseline or time cuts
    network/               the risk network, saved by ``Sequential.save`` (model.json + model.safetensors)

An ensemble saves its members as ``member_0/``, ``member_1/``, ... next to its own ``survival.json``.
The training history (``history_``) is not saved; everything prediction needs is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from meddl.io import atomic_directory
from meddl.models.saving import load_model
from meddl.saving import read_arrays, read_document, registered_class, write_arrays, write_document

__all__ = ["FORMAT", "save_survival_model", "load_survival_model"]

FORMAT = "meddl.survival/1"
CONFIG_FILE = "survival.json"
ARRAYS_FILE = "arrays.safetensors"
NETWORK_FOLDER = "network"
FAMILY = "survival"


def _json_params(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            value = list(value)
        if hasattr(value, "get_params") and hasattr(value, "fit"):  # an ensemble's base estimator
            value = {"class": type(value).__name__, "params": _json_params(value.get_params(deep=False))}
        out[key] = value
    return out


def _restore_params(params: dict[str, Any], where: Path) -> dict[str, Any]:
    out = {}
    for key, value in params.items():
        if key in ("hidden_units", "seeds") and isinstance(value, list):
            value = tuple(value)
        if isinstance(value, dict) and "class" in value and "params" in value:
            value = registered_class(FAMILY, value["class"], where)(**_restore_params(value["params"], where))
        out[key] = value
    return out


def _write(model, folder: Path) -> None:
    document: dict[str, Any] = {"class": type(model).__name__, "params": _json_params(model.get_params(deep=False))}
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
        document["arrays"] = write_arrays(folder / ARRAYS_FILE, arrays, format=FORMAT)
        model.network_.save(folder / NETWORK_FOLDER)
        document["state"] = {"n_features_in_": int(model.n_features_in_), "best_epoch_": int(model.best_epoch_)}
        if hasattr(model, "risk_scale_"):  # Cox models (written only by versions that recalibrate; 1 if absent)
            document["state"]["risk_scale_"] = float(model.risk_scale_)
    write_document(folder / CONFIG_FILE, document, format=FORMAT)


def save_survival_model(model, path) -> Path:
    """Write a fitted survival model (or ensemble) to the folder ``path``; return the path."""
    path = Path(path)
    with atomic_directory(path) as tmp:
        _write(model, tmp)
    return path


def _read(folder: Path, device: str):
    config_path = folder / CONFIG_FILE
    document = read_document(config_path, format=FORMAT, what="meddl survival model")
    model_class = registered_class(FAMILY, document.get("class"), config_path)
    model = model_class(**_restore_params(document.get("params", {}), config_path))
    if "members" in document:
        model.members_ = [_read(folder / name, device) for name in document["members"]]
        return model
    arrays = read_arrays(folder, document.get("arrays"), ARRAYS_FILE, document=CONFIG_FILE)
    model._load_state_arrays({key: tensor.numpy() for key, tensor in arrays.items()})
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
