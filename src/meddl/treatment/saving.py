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

import json
from pathlib import Path
from typing import Any

import numpy as np

from meddl.errors import MeddlError, ModelFileError
from meddl.io import atomic_directory
from meddl.io import sha256_file as _sha256

__all__ = ["save_estimator", "load", "FORMAT"]

FORMAT = "meddl.treatment/1"
CONFIG_FILE = "estimator.json"
WEIGHTS_FILE = "weights.safetensors"


def _estimator_classes() -> dict[str, type]:
    from meddl.treatment.cfrnet import CFRNet
    from meddl.treatment.dragonnet import Dragonnet
    from meddl.treatment.ensemble import EffectEnsemble
    from meddl.treatment.tarnet import TARNet

    return {cls.__name__: cls for cls in (TARNet, CFRNet, Dragonnet, EffectEnsemble)}


def save_estimator(estimator, path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Write a fitted neural estimator or ensemble to the folder ``path`` atomically; return the path."""
    from meddl.treatment._checks import check_fitted

    check_fitted(estimator)
    if type(estimator).__name__ not in _estimator_classes():
        raise MeddlError(f"Cannot save a {type(estimator).__name__}: only {sorted(_estimator_classes())} are supported.")
    path = Path(path)
    with atomic_directory(path) as tmp:
        _write(estimator, tmp, metadata or {})
    return path


def _write(estimator, folder: Path, metadata: dict[str, Any]) -> None:
    from meddl import __version__

    document: dict[str, Any] = {"format": FORMAT, "meddl_version": __version__, "class": type(estimator).__name__,
                                "params": _json_params(estimator), "metadata": metadata}
    if type(estimator).__name__ == "EffectEnsemble":
        document["members"] = []
        for index, member in enumerate(estimator.estimators_):
            name = f"member_{index}"
            (folder / name).mkdir()
            _write(member, folder / name, {})
            document["members"].append(name)
        document["base"] = {"class": type(estimator.base).__name__, "params": _json_params(estimator.base)}
    else:
        from safetensors.torch import save_file

        weights = {key: value.detach().cpu().contiguous() for key, value in estimator.network_.named_weights().items()}
        save_file(weights, str(folder / WEIGHTS_FILE), metadata={"format": FORMAT})
        document["fitted"] = {
            "n_features_in_": int(estimator.n_features_in_), "outcome_type_": estimator.outcome_type_,
            "x_mean_": estimator.x_mean_.tolist(), "x_scale_": estimator.x_scale_.tolist(),
            "y_mean_": float(estimator.y_mean_), "y_scale_": float(estimator.y_scale_),
            "best_epoch_": int(estimator.best_epoch_),
        }
        document["network"] = estimator.network_.get_config()
        document["weights"] = {"file": WEIGHTS_FILE, "sha256": _sha256(folder / WEIGHTS_FILE)}
    try:
        text = json.dumps(document, indent=2, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise MeddlError(f"The estimator's parameters and metadata must be JSON-serialisable: {exc}.") from None
    (folder / CONFIG_FILE).write_text(text + "\n", encoding="utf-8")


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
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from meddl.treatment._network import EffectNetwork

    config_path = path / CONFIG_FILE
    if not path.is_dir() or not config_path.is_file():
        raise ModelFileError(f"No saved treatment estimator at '{path}': expected a folder holding {CONFIG_FILE}.")
    try:
        document = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"'{config_path}' is not valid JSON ({exc}); the file is corrupted or truncated.") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"'{config_path}' is not a meddl treatment estimator (expected format {FORMAT!r}).")
    classes = _estimator_classes()
    name = document.get("class")
    if name not in classes:
        raise ModelFileError(f"'{config_path}' names an unknown estimator class {name!r}; expected one of {sorted(classes)}.")
    params = {key: tuple(value) if isinstance(value, list) else value for key, value in document["params"].items()}
    if name == "EffectEnsemble":
        base_spec = document["base"]
        base = classes[base_spec["class"]](**{k: tuple(v) if isinstance(v, list) else v
                                              for k, v in base_spec["params"].items()})
        ensemble = classes[name](base, **params)
        ensemble.estimators_ = [_read(path / member) for member in document["members"]]
        ensemble.n_features_in_ = ensemble.estimators_[0].n_features_in_
        ensemble.metadata = document.get("metadata", {})
        return ensemble

    estimator = classes[name](**params)
    weights_path = path / WEIGHTS_FILE
    expected_hash = (document.get("weights") or {}).get("sha256")
    if not weights_path.is_file() or expected_hash != _sha256(weights_path):
        raise ModelFileError(f"The weights file '{weights_path}' is missing or does not match the checksum in "
                             f"{CONFIG_FILE}: it was truncated, corrupted or changed after saving.")
    try:
        weights = load_file(str(weights_path))
        network = EffectNetwork.from_config(document["network"])
        network.load_named_weights(weights)
    except (SafetensorError, OSError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"The weights in '{weights_path}' do not fit the saved architecture: {exc}.") from None
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
