"""Read the files of a run folder that the report needs; missing files become ``None``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from meddl.errors import ModelFileError

RESERVED_COLUMNS = ("row_id", "y_true", "predicted")


@dataclass
class Predictions:
    """One split's predictions, decoded: labels as class indices, probabilities as a matrix."""

    frame: pd.DataFrame
    problem: str
    class_names: list[str]
    y: np.ndarray                      # class indices (classification) or values (regression)
    proba: np.ndarray | None           # (n, k) for classification
    predicted: np.ndarray              # class indices (classification) or values (regression)
    subgroup_columns: list[str] = field(default_factory=list)


@dataclass
class RunFiles:
    run_dir: Path
    run: dict
    metrics: dict
    history: pd.DataFrame | None
    predictions: dict[str, Predictions]
    missing: list[str]


def _read_json(path: Path, missing: list[str]) -> dict:
    if not path.exists():
        missing.append(path.name)
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelFileError(f"{path} is not valid JSON ({error}); the run folder may be truncated.") from None


def _class_indices(values: pd.Series, class_names: list[str]) -> np.ndarray:
    as_text = values.astype(str)
    if class_names and as_text.isin(class_names).all() and not as_text.str.fullmatch(r"-?\d+").all():
        lookup = {name: i for i, name in enumerate(class_names)}
        return as_text.map(lookup).to_numpy(dtype=np.int64)
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any():
        lookup = {name: i for i, name in enumerate(class_names)}
        mapped = as_text.map(lookup)
        if mapped.isna().any():
            bad = as_text[mapped.isna()].iloc[0]
            raise ModelFileError(f"predictions file has label {bad!r}, which is not one of class_names {class_names}.")
        return mapped.to_numpy(dtype=np.int64)
    return numeric.to_numpy(dtype=np.int64)


def read_predictions(path: Path, problem: str, class_names: list[str]) -> Predictions:
    """Parse ``predictions_<split>.csv`` (row_id, y_true, prob_<class>..., predicted, subgroups...)."""
    frame = pd.read_csv(path)
    if "y_true" not in frame.columns:
        raise ModelFileError(f"{path} has no 'y_true' column; columns are {list(frame.columns)}.")
    prob_columns = [c for c in frame.columns if c.startswith("prob_")]
    extra = [c for c in frame.columns if c not in RESERVED_COLUMNS and c not in prob_columns]
    if problem == "regression" or not prob_columns:
        predicted = frame["predicted"] if "predicted" in frame.columns else frame[extra[0]]
        return Predictions(frame=frame, problem="regression", class_names=[], y=frame["y_true"].to_numpy(float),
                           proba=None, predicted=predicted.to_numpy(float), subgroup_columns=extra)
    names = list(class_names) or [c[len("prob_"):] for c in prob_columns]
    wanted = [f"prob_{name}" for name in names]
    if not set(wanted) <= set(prob_columns):
        wanted, names = prob_columns, [c[len("prob_"):] for c in prob_columns]
    proba = frame[wanted].to_numpy(float)
    y = _class_indices(frame["y_true"], names)
    if "predicted" in frame.columns:
        predicted = _class_indices(frame["predicted"], names)
    else:
        predicted = proba.argmax(axis=1)
    return Predictions(frame=frame, problem=problem if problem in ("binary", "multiclass") else
                       ("binary" if len(names) == 2 else "multiclass"), class_names=names, y=y, proba=proba,
                       predicted=predicted, subgroup_columns=extra)


def read_run(run_dir: str | Path) -> RunFiles:
    """Load run.json, metrics.json, history.csv and predictions_*.csv; list the missing ones."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ModelFileError(f"Run folder {str(run_dir)!r} does not exist or is not a folder.")
    missing: list[str] = []
    run = _read_json(run_dir / "run.json", missing)
    metrics = _read_json(run_dir / "metrics.json", missing)
    history = None
    if (run_dir / "history.csv").exists():
        history = pd.read_csv(run_dir / "history.csv")
    else:
        missing.append("history.csv")
    problem = run.get("problem") or next((m.get("task") for m in metrics.values() if isinstance(m, dict)), None)
    class_names = [str(c) for c in run.get("class_names") or []]
    predictions = {}
    for split in ("test", "val"):
        path = run_dir / f"predictions_{split}.csv"
        if problem in ("survival", "treatment"):
            continue  # their predictions have no y_true/prob_ columns; those tasks add their own sections
        if path.exists():
            predictions[split] = read_predictions(path, problem or "", class_names)
        else:
            missing.append(path.name)
    return RunFiles(run_dir=run_dir, run=run, metrics=metrics, history=history, predictions=predictions,
                    missing=missing)
