"""What a report is built from: a run's info, metrics, history and decoded predictions.

:mod:`meddl.runs.report` reads them from a run folder; this package never opens one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from meddl.errors import ModelFileError
from meddl.sections import Section

__all__ = ["RunFiles", "Predictions", "decode_predictions", "RESERVED_COLUMNS"]

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
    """A run's contents as the report needs them.

    Attributes:
        run_dir: the run folder (for the page's title when the run names nothing better).
        run: ``run.json``.
        metrics: ``metrics.json``.
        history: the training history, or ``None`` for models trained without epochs.
        predictions: decoded predictions by split (classification and regression runs).
        missing: files the run should have had but did not (the report says so).
        sections: sections the run keeps with itself (task sections, explanations).
    """

    run_dir: Path
    run: dict
    metrics: dict
    history: pd.DataFrame | None
    predictions: dict[str, Predictions]
    missing: list[str]
    sections: list[Section] = field(default_factory=list)


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


def decode_predictions(frame: pd.DataFrame, problem: str, class_names: list[str], source: str = "predictions") -> Predictions:
    """Decode a predictions table (row_id, y_true, prob_<class>..., predicted, subgroups...)."""
    if "y_true" not in frame.columns:
        raise ModelFileError(f"{source} has no 'y_true' column; columns are {list(frame.columns)}.")
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
