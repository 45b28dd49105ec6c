"""The rows ``explain_run`` works on: the run's own test split (reloaded from its config) or given inputs.

A run folder stores its split (``split.csv``) but not its data, so the test
split is rebuilt from the data source named in ``config.yaml`` and checked
against ``split.csv`` row by row: if the data changed since training, we say
so rather than explain the wrong patients.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from meddl.errors import ConfigError, DataError, MeddlError, unknown_name_error
from meddl.runs.supervised import encode_classes
from meddl.runs.folder import RunFolder

_SPLIT_NAMES = ("train", "val", "test")


@dataclass
class RunRows:
    """Preprocessed rows, their ids, the raw input (for ``Run.predict``) and the labels when known."""

    x: np.ndarray
    ids: np.ndarray
    raw: Any
    y: np.ndarray | None
    source: str

    def take(self, positions: np.ndarray, source: str | None = None) -> "RunRows":
        raw = self.raw.iloc[positions] if isinstance(self.raw, pd.DataFrame) else self.raw[positions]
        return RunRows(self.x[positions], self.ids[positions], raw, None if self.y is None else self.y[positions],
                       source or self.source)


class ModelOutput(nn.Module):
    """What is explained, as ``Run.predict`` computes it before any post-hoc calibration.

    Classification: the class probabilities (softmax of the logits; for an
    ensemble run, the members' mean probabilities). Regression: the predicted
    value in the outcome's units (an ensemble's mean). Being one module, it can
    be explained, and randomised for the randomisation test, as a whole.
    """

    def __init__(self, members: list[nn.Module], classification: bool, target_scaling: dict | None = None):
        super().__init__()
        self.members = nn.ModuleList(members)
        self.classification = classification
        self.scale = float((target_scaling or {}).get("std", 1.0))
        self.shift = float((target_scaling or {}).get("mean", 0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = torch.stack([member.forward_logits(x) for member in self.members])
        if self.classification:
            return torch.softmax(logits, dim=-1).mean(dim=0)
        return logits[..., :1].mean(dim=0) * self.scale + self.shift


def model_output(run: Any, members: list[nn.Module] | None = None) -> ModelOutput:
    """The run's explained function (all ensemble members), or the same function of other ``members``."""
    if members is None:
        members = list(getattr(run, "members", None) or [run.model])
    return ModelOutput(members, run.class_names is not None, run.info.get("target_scaling")).eval()


def _labels(run: Any, target: np.ndarray) -> np.ndarray:
    if run.class_names is None:
        return pd.to_numeric(pd.Series(target), errors="coerce").to_numpy(dtype=np.float64)
    y, _ = encode_classes(target, class_names=run.class_names)
    return y


def load_split_rows(run: Any) -> tuple[RunRows, np.ndarray]:
    """All rows of the run's data, preprocessed, and each row's split name (from ``split.csv``)."""
    if not run.folder.file(RunFolder.SPLIT).is_file():
        raise DataError(f"The run folder '{run.path}' has no split.csv, so its test split cannot be rebuilt; pass "
                        f"the rows to explain as 'inputs'.")
    split = run.folder.read_split()
    try:
        data = run.task_plugin.load_data(run.config)
    except (MeddlError, OSError) as exc:
        raise DataError(f"Cannot reload the run's data ({run.config.data.source}"
                        f"{': ' + str(run.config.data.path) if run.config.data.path else ''}) to rebuild its test "
                        f"split: {exc} Pass the rows to explain as 'inputs'.") from None
    ids = np.asarray(data.row_ids).astype(str)
    if len(ids) != len(split) or not np.array_equal(ids, split["row_id"].to_numpy(dtype=str)):
        raise DataError(f"The data at the run's source no longer matches its split.csv ({len(ids)} rows now, "
                        f"{len(split)} at training); it changed since training. Pass the rows to explain as 'inputs'.")
    features = np.asarray(run.preprocessor.transform(data.features), dtype=np.float32)
    raw = data.features if isinstance(data.features, pd.DataFrame) else features
    return RunRows(features, ids, raw, _labels(run, data.target), "all rows"), split["split"].to_numpy()


def split_rows(run: Any, name: str) -> RunRows:
    """The preprocessed rows of one split (``"train"``, ``"val"`` or ``"test"``) of the run's data."""
    rows, splits = load_split_rows(run)
    positions = np.flatnonzero(splits == name)
    if not len(positions):
        raise DataError(f"The run's split.csv has no {name!r} rows.")
    return rows.take(positions, f"the run's {name} split")


def given_rows(run: Any, inputs: Any) -> RunRows:
    """Rows given by the caller, checked and preprocessed exactly as ``Run.predict`` does (``Run.features``)."""
    x, ids, frame = run.features(inputs)
    x = np.asarray(x, dtype=np.float32)
    # Preprocessed images are already in [0, 1] at the model's size; Run.predict leaves them unchanged.
    return RunRows(x, np.asarray(ids).astype(str), frame if frame is not None else x, None, "given inputs")


class RunData:
    """The run's reloaded data, loaded at most once; remembers why it could not be loaded."""

    def __init__(self, run: Any):
        self.run, self._rows, self.error = run, None, None

    def split(self, name: str) -> RunRows | None:
        if self._rows is None and self.error is None:
            try:
                self._rows = load_split_rows(self.run)
            except MeddlError as exc:
                self.error = str(exc)
        if self._rows is None:
            return None
        rows, splits = self._rows
        positions = np.flatnonzero(splits == name)
        return rows.take(positions, f"the run's {name} split") if len(positions) else None


def predict_rows(run: Any, rows: RunRows) -> pd.DataFrame:
    """``Run.predict`` on the rows (so probabilities and classes match the run's own predictions), keyed by ``id``."""
    frame = run.predict(rows.raw).drop(columns=["row_id"])
    frame.insert(0, "id", rows.ids)
    return frame.reset_index(drop=True)


def resolve_targets(run: Any, predicted: pd.DataFrame, target: Any) -> tuple[np.ndarray, str]:
    """Index of the explained output per row, and the rule in words."""
    n = len(predicted)
    names = run.class_names
    if names is None:
        if target is not None:
            raise ConfigError(f"The 'target' parameter of explain_run must be None for a regression run (there is one "
                              f"output, the predicted value). Got {target!r} instead.")
        return np.zeros(n, dtype=np.int64), "the predicted value"
    index = {name: k for k, name in enumerate(names)}
    if target is None and len(names) == 2:
        named = run.info.get("positive_class")
        positive = names.index(str(named)) if named is not None and str(named) in names else len(names) - 1
        return np.full(n, positive, dtype=np.int64), f"the positive class {names[positive]!r}"
    if target is None or target == "predicted":
        return predicted["predicted"].map(index).to_numpy(dtype=np.int64), "each case's predicted class"
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= target < len(names):
            raise ConfigError(f"The 'target' parameter of explain_run must be a class index in [0, {len(names) - 1}], "
                              f"a class name or 'predicted'. Got {target!r} instead.")
        return np.full(n, int(target)), f"the class {names[int(target)]!r}"
    if str(target) not in index:
        raise unknown_name_error("target class", target, [*names, "predicted"], error_class=ConfigError)
    return np.full(n, index[str(target)]), f"the class {str(target)!r}"


def prediction_table(run: Any, predicted: pd.DataFrame, targets: np.ndarray) -> pd.DataFrame:
    """``id``, ``target_class``, ``probability`` of the target class (or ``prediction``), ``predicted``."""
    out = pd.DataFrame({"id": predicted["id"].to_numpy()})
    if run.class_names is None:
        out["target_class"] = None
        out["prediction"] = predicted["predicted"].to_numpy()
        return out
    proba = predicted[[f"prob_{name}" for name in run.class_names]].to_numpy()
    out["target_class"] = [run.class_names[k] for k in targets]
    out["probability"] = proba[np.arange(len(targets)), targets]
    out["predicted"] = predicted["predicted"].to_numpy()
    return out


def sample_rows(rows: RunRows | None, n: int, seed: int) -> np.ndarray | None:
    """Up to ``n`` rows' features drawn without replacement (GradientSHAP's background set)."""
    if rows is None:
        return None
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(rows.x), size=min(n, len(rows.x)), replace=False))
    return rows.x[picked]
