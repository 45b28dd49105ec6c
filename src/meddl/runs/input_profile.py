"""Is a new table like the training data? Per-row warnings for predictions (issue 13, item 14).

A feature missing from every row used to be filled with the training median silently, and a unit
error (age in months) gave probability 1.0 for every row, silently. At training, :meth:`InputProfile.fit`
records, from the training rows only:

- each numeric column's range (min, max): the only training values ever shown in a message;
- a Mahalanobis distance in the model's standardised feature space (Ledoit-Wolf shrunk covariance, so
  one-hot and missing-indicator features do not make it singular) and the training rows' 99th percentile
  of that distance: a new row beyond it is "unlike the training data" (about 1 training row in 100 is).

The profile is one file of the run folder (``RunFolder.INPUT_PROFILE``, in the manifest). At prediction,
:meth:`InputProfile.check` gives each row a ``warnings`` text (empty when there is nothing to say): the
imputed columns, the columns outside the training range and "unlike the training data" (unknown categories
are refused by the preprocessing, naming them, so they never reach a prediction); and, for the whole input, the columns missing or out of range
in every row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf

from meddl.data import TabularPreprocessor
from meddl.io import json_safe
from meddl.runs.folder import RunFolder

__all__ = ["UNLIKE_QUANTILE", "InputCheck", "InputProfile", "input_profile_files", "read_input_profile"]

#: Share of training rows whose distance is below the "unlike the training data" threshold.
UNLIKE_QUANTILE = 0.99


#: a column-wide warning ("outside the training range in every row") needs at least this many rows
MIN_ROWS_FOR_COLUMN_WARNINGS = 5


@dataclass
class InputCheck:
    """What :meth:`InputProfile.check` found: a warning text per row, and counts for the summary.

    Counts add up over chunks (:meth:`combine`), so a streamed prediction summarises the whole input.
    """

    row_warnings: list[str]
    n_rows: int
    #: per row, the notes behind its warning text: ``"imputed: <column>"``, ``"outside training range: <column>"``,
    #: ``"unlike the training data"`` (for callers that word each note themselves, e.g. the REST API)
    row_notes: list[list[str]] = field(default_factory=list)
    missing: dict[str, int] = field(default_factory=dict)       # column -> rows with it missing
    present: dict[str, int] = field(default_factory=dict)       # column -> rows with a value
    out_of_range: dict[str, int] = field(default_factory=dict)  # column -> rows outside the training range
    ranges: dict[str, list[float]] = field(default_factory=dict)
    n_imputed: int = 0
    n_outside: int = 0
    n_unlike: int = 0
    n_with_warnings: int = 0

    def combine(self, other: InputCheck) -> InputCheck:
        """The check of two consecutive parts of one input."""
        def add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
            return {key: a.get(key, 0) + b.get(key, 0) for key in {**a, **b}}

        return InputCheck(self.row_warnings + other.row_warnings, self.n_rows + other.n_rows,
                          self.row_notes + other.row_notes, add(self.missing, other.missing),
                          add(self.present, other.present),
                          add(self.out_of_range, other.out_of_range), {**self.ranges, **other.ranges},
                          self.n_imputed + other.n_imputed, self.n_outside + other.n_outside,
                          self.n_unlike + other.n_unlike, self.n_with_warnings + other.n_with_warnings)

    def column_warnings(self) -> list[str]:
        """One message per column missing in every row, or outside the training range in every row that has it.

        Only for inputs of several rows (a systematic error such as a unit mix-up shows there); a single
        patient's values are already named in its row's warnings.
        """
        messages = []
        if self.n_rows < MIN_ROWS_FOR_COLUMN_WARNINGS:
            return messages
        for column, count in self.missing.items():
            if self.n_rows and count == self.n_rows:
                messages.append(f"Column {column!r} is empty in all {self.n_rows} rows: every value was imputed "
                                f"from the training data, so predictions ignore it. Provide the column's values.")
        for column, count in self.out_of_range.items():
            if count and count == self.present.get(column, 0):
                low, high = self.ranges[column]
                messages.append(f"Column {column!r} is outside the training range [{low:g}, {high:g}] in all {count} "
                                f"rows that have it: check its unit (e.g. months instead of years) or coding.")
        return messages

    def summary(self) -> str:
        """``12 of 1000 rows have warnings (column 'warnings'): 3 with imputed values, ...``."""
        parts = [f"{count} {what}" for count, what in ((self.n_imputed, "with imputed values"),
                                                        (self.n_outside, "outside the training range"),
                                                        (self.n_unlike, "unlike the training data"))
                 if count]
        return (f"{self.n_with_warnings} of {self.n_rows} rows have warnings (column 'warnings')"
                + (": " + ", ".join(parts) if parts else "") + ".")


@dataclass
class InputProfile:
    """The training data's ranges and distance scale, for warnings at prediction (no training rows kept).

    Example:
        >>> profile = InputProfile.fit(train_frame, preprocessor)   # doctest: +SKIP
        >>> profile.check(new_frame, preprocessor).row_warnings      # doctest: +SKIP
    """

    numeric_ranges: dict[str, list[float]]
    center: np.ndarray
    precision: np.ndarray
    distance_threshold: float
    quantile: float = UNLIKE_QUANTILE

    @classmethod
    def fit(cls, frame: pd.DataFrame, preprocessor: TabularPreprocessor, *,
            quantile: float = UNLIKE_QUANTILE) -> InputProfile:
        """Profile the training rows ``frame`` (after ``preprocessor`` was fitted on them)."""
        ranges = {}
        for column in preprocessor.numeric_columns_:
            values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
            values = values[np.isfinite(values)]
            if len(values):
                ranges[column] = [float(values.min()), float(values.max())]
        features = preprocessor.transform(frame).astype(np.float64)
        if features.shape[1] == 0 or len(features) < 2:
            center, precision, threshold = np.zeros(features.shape[1]), np.zeros((features.shape[1],) * 2), np.inf
        else:
            estimate = LedoitWolf().fit(features)
            center, precision = estimate.location_, estimate.precision_
            threshold = float(np.quantile(_distances(features, center, precision), quantile))
        return cls(ranges, center, precision, threshold, quantile)

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Mahalanobis distance of each row of (preprocessed) ``features`` from the training centre."""
        return _distances(np.asarray(features, dtype=np.float64), self.center, self.precision)

    def check(self, frame: pd.DataFrame, preprocessor: TabularPreprocessor,
              features: np.ndarray | None = None) -> InputCheck:
        """Per-row warnings for ``frame`` (raw input columns, as given to ``Run.predict``).

        ``features``: ``preprocessor.transform(frame)`` when the caller has it already (it is not computed twice).
        """
        n = len(frame)
        notes: list[list[str]] = [[] for _ in range(n)]
        check = InputCheck([], n)
        columns = list(preprocessor.input_columns_)
        table = frame if list(frame.columns) == columns else frame[columns]  # one pass, not one per column
        missing = table.isna().to_numpy()
        ranged = [c for c in columns if c in self.numeric_ranges]
        block = table if len(ranged) == len(columns) else table[ranged]
        try:
            values = block.to_numpy(dtype=float)
        except (TypeError, ValueError):  # text in a numeric column: the preprocessing names it
            values = block.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
        low = np.asarray([self.numeric_ranges[c][0] for c in ranged])
        high = np.asarray([self.numeric_ranges[c][1] for c in ranged])
        with np.errstate(invalid="ignore"):
            outside = (values < low) | (values > high)
        n_missing = missing.sum(axis=0).tolist()
        check.missing = dict(zip(columns, n_missing))
        check.present = {column: n - count for column, count in zip(columns, n_missing)}
        check.out_of_range = dict(zip(ranged, outside.sum(axis=0).tolist()))
        check.ranges = {column: self.numeric_ranges[column] for column in ranged}
        for row, j in zip(*np.nonzero(missing)):
            notes[row].append(f"imputed: {columns[j]}")
        for row, k in zip(*np.nonzero(outside)):
            notes[row].append(f"outside training range: {ranged[k]}")
        imputed_rows, outside_rows = missing.any(axis=1), outside.any(axis=1)
        if features is None:
            features = preprocessor.transform(frame)
        unlike = self.distances(features) > self.distance_threshold
        for row in np.flatnonzero(unlike):
            notes[row].append("unlike the training data")
        check.row_warnings, check.row_notes = [_join(row_notes) for row_notes in notes], notes
        check.n_imputed, check.n_outside = int(imputed_rows.sum()), int(outside_rows.sum())
        check.n_unlike = int(unlike.sum())
        check.n_with_warnings = sum(bool(text) for text in check.row_warnings)
        return check

    # -- saving (a file of the run folder) ---------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"type": "InputProfile", "numeric_ranges": self.numeric_ranges, "center": self.center.tolist(),
                "precision": self.precision.tolist(), "distance": "mahalanobis (Ledoit-Wolf)",
                "distance_threshold": self.distance_threshold, "quantile": self.quantile}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputProfile:
        threshold = data.get("distance_threshold")
        return cls({k: list(v) for k, v in data["numeric_ranges"].items()}, np.asarray(data["center"], dtype=float),
                   np.asarray(data["precision"], dtype=float), np.inf if threshold is None else float(threshold),
                   float(data.get("quantile", UNLIKE_QUANTILE)))

    def write(self, path: str | Path) -> None:
        """Write the profile as JSON (called inside the run folder's atomic write)."""
        Path(path).write_text(json.dumps(json_safe(self.to_dict()), indent=2, allow_nan=False) + "\n",
                              encoding="utf-8")


def _distances(features: np.ndarray, center: np.ndarray, precision: np.ndarray) -> np.ndarray:
    centred = features - center
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", centred, precision, centred), 0.0))


def _join(notes: list[str]) -> str:
    """``imputed: crp, site; outside training range: age`` (kinds in a fixed order)."""
    grouped: dict[str, list[str]] = {}
    for note in notes:
        kind, _, column = note.partition(": ")
        grouped.setdefault(kind, []).append(column)
    return "; ".join(f"{kind}: {', '.join(columns)}" if columns[0] else kind for kind, columns in grouped.items())


def input_profile_files(train_frame: Any, preprocessor: Any) -> dict[str, Any]:
    """``RunResult.extra_files`` entry of a table run: its input profile, fitted on the training rows."""
    if not isinstance(preprocessor, TabularPreprocessor) or not isinstance(train_frame, pd.DataFrame):
        return {}
    return {RunFolder.INPUT_PROFILE: InputProfile.fit(train_frame, preprocessor).write}


def read_input_profile(folder: RunFolder) -> InputProfile | None:
    """The run's input profile, or ``None`` for a run without one (images, or trained before meddl 0.2)."""
    data = folder.read_input_profile()
    return None if data is None else InputProfile.from_dict(data)
