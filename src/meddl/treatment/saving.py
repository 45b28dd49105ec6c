"""Save and load treatment-effect estimators without pickle: JSON + safetensors.

A saved estimator is a folder::

    estimator.json          class, parameters, fitted scalers, network architecture, weights' SHA-256
    weights.safetensors     the network weights, keyed "<part>.<layer>.<weight>"

An :class:`~meddl.treatment.EffectEnsemble` is a folder holding ``estimator.json``
and one such folder per member (``member_0``, ...). Folders are written under a
temporary name and renamed into place (:func:`meddl.io.atomic_directory`); on load
every checksum is verified.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from meddl.errors import MeddlError, ModelFileError
from meddl.io import atomic_directory
from meddl.saving import (read_arrays, read_document, registered_class, registered_classes, write_arrays,
                          write_document)
from meddl.treatment._checks import check_fitted
from meddl.treatment._network import EffectNetwork

__all__ = ["save_estimator", "load", "FORMAT"]

FORMAT = "meddl.treatment/1"
CONFIG_FILE = "estimator.json"
WEIGHTS_FILE = "weights.safetensors"
FAMILY = "treatment"


def save_estimator(estimator, path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write a fitted neural estimator or ensemble to the folder ``path`` atomically; return the path."""
    check_fitted(estimator)
    if type(estimator).__name__ not in registered_classes(FAMILY):
        raise MeddlError(f"Cannot save a {type(estimator).__name__}: only {sorted(registered_classes(FAMILY))} are "
                         "supported.")
    path = Path(path)
    with atomic_directory(path) as tmp:
        _write(estimator, tmp, metadata or {})
    return path


def _write(estimator, folder: Path, metadata: dict[str, Any]) -> None:
    document: dict[str, Any] = {"class": type(estimator).__name__, "params": _json_params(estimator),
                                "metadata": metadata}
    if hasattr(estimator, "estimators_"):  # an ensemble: its members, each in a folder of its own
        document["members"] = []
        for index, member in enumerate(estimator.estimators_):
            name = f"member_{index}"
            (folder / name).mkdir()
            _write(member, folder / name, {})
            document["members"].append(name)
        document["base"] = {"class": type(estimator.base).__name__, "params": _json_params(estimator.base)}
    else:
        document["weights"] = write_arrays(folder / WEIGHTS_FILE, estimator.network_.named_weights(), format=FORMAT)
        document["fitted"] = {
            "n_features_in_": int(estimator.n_features_in_), "outcome_type_": estimator.outcome_type_,
            "x_mean_": estimator.x_mean_.tolist(), "x_scale_": estimator.x_scale_.tolist(),
            "y_mean_": float(estimator.y_mean_), "y_scale_": float(estimator.y_scale_),
            "best_epoch_": int(estimator.best_epoch_),
        }
        document["network"] = estimator.network_.get_config()
    write_document(folder / CONFIG_FILE, document, format=FORMAT)


def _json_params(estimator) -> dict[str, Any]:
    params = estimator.get_params(deep=False)
    params.pop("base", None)
    return {key: list(value) if isinstance(value, tuple) else value for key, value in params.items()}


def load(path, *, expected: type | None = None):
    """Load a TARNet, CFRNet, Dragonnet or EffectEnsemble saved with ``save(path)``.

    Raises:
        ModelFileError: the folder is missing, not a meddl treatment estimator, or a file
            was truncated or changed after saving.

    Example:
        >>> from meddl.treatment import load
        >>> model = load("runs/ihdp/tarnet")  # doctest: +SKIP
    """
    path = Path(path)
    estimator = _read(path)
    if expected is not None and not isinstance(estimator, expected):
        raise ModelFileError(f"'{path}' holds a {type(estimator).__name__}, not a {expected.__name__}.")
    return estimator


def _read(path: Path):
    config_path = path / CONFIG_FILE
    if not path.is_dir() or not config_path.is_file():
        raise ModelFileError(f"No saved treatment estimator at '{path}': expected a folder holding {CONFIG_FILE}.")
    document = read_document(config_path, format=FORMAT, what="meddl treatment estimator")
    estimator_class = registered_class(FAMILY, document.get("class"), config_path)
    params = {key: tuple(value) if isinstance(value, list) else value for key, value in document["params"].items()}
    if "members" in document:  # an ensemble
        base_spec = document["base"]
        base = registered_class(FAMILY, base_spec["class"], config_path)(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in base_spec["params"].items()})
        ensemble = estimator_class(base, **params)
        ensemble.estimators_ = [_read(path / member) for member in document["members"]]
        ensemble.n_features_in_ = ensemble.estimators_[0].n_features_in_
        ensemble.metadata = document.get("metadata", {})
        return ensemble

    estimator = estimator_class(**params)
    weights = read_arrays(path, document.get("weights"), WEIGHTS_FILE, document=CONFIG_FILE)
    try:
        network = EffectNetwork.from_config(document["network"])
        network.load_named_weights(weights)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"The weights in '{path / WEIGHTS_FILE}' do not fit the saved architecture: {exc}.") from None
    network.eval()
    fitted = document["fitted"]
    estimator.network_ = network
    estimator.n_features_in_ = int(fitted["n_features_in_"])
    estimator.outcome_type_ = fitted["outcome_type_"]
    estimator.x_mean_ = np.asarray(fitted["x_mean_"], dtype=np.float64)
    estimator.x_scale_ = np.asarray(fitted["x_scale_"], dtype=np.float64)
    estimator.y_mean_, estimator.y_scale_ = float(fitted["y_mean_"]), float(fitted["y_scale_"])
    estimator.best_epoch_ = int(fitted["best_epoch_"])
    estimator.metadata = document.get("metadata", {})
    return estimator
