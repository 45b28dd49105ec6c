"""Check JSON records against a run's input schema, and warn about rows the model knows little about.

:func:`check_records` turns records into the table ``Run.predict`` takes, or raises
:class:`InvalidInput` listing every problem per field (``records[3].age``), worded like
the library's own errors. :func:`row_warnings` gives each row's cautions: a value
outside the training range, an imputed value, a patient far from the training data.

Training ranges: a run's ``run.json`` may list ``min``/``max`` per column; when it
does not (runs written before they were recorded), the range is the training mean
± 4 SD from the fitted preprocessing, and the schema says so. These warnings are
computed here until the library gives them per row; :func:`row_warnings` is the one
function to replace then.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2

from meddl.errors import did_you_mean

__all__ = ["InvalidInput", "FieldProblem", "ColumnSpec", "column_specs", "check_records", "row_warnings",
           "RANGE_SD", "FAR_QUANTILE"]

RANGE_SD = 4.0  # without recorded min/max: the training range is mean ± 4 SD
FAR_QUANTILE = 0.999  # "far from the training data": beyond what 99.9% of training-like patients show


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str


class InvalidInput(Exception):
    """The request's input does not fit the model; ``problems`` names each field. Served as HTTP 422."""

    def __init__(self, problems: list[FieldProblem], status_code: int = 422):
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems
        self.status_code = status_code


@dataclass
class ColumnSpec:
    """One input column as served: what it takes, what the model saw in training, and what a missing value becomes."""

    name: str
    type: str  # "numeric" or "categorical"
    categories: list[str] | None = None
    training_range: tuple[float, float] | None = None
    range_basis: str | None = None
    mean: float | None = None
    scale: float | None = None
    fill_value: Any = None
    can_impute: bool = True
    flagged: bool = False  # a missing-value indicator tells the model the value was missing

    @property
    def missing_values(self) -> str:
        if not self.can_impute:
            return "not allowed: this model cannot impute missing values"
        if self.type == "numeric":
            how = f"imputed with the training median ({self.fill_value:.4g})"
        else:
            how = f"imputed with the most frequent training level ({self.fill_value!r})"
        return how + (" and flagged to the model" if self.flagged else "")

    def describe(self) -> dict:
        described = {"name": self.name, "type": self.type, "missing_values": self.missing_values}
        if self.type == "categorical":
            described["categories"] = self.categories
        else:
            described["training_range"] = (None if self.training_range is None else
                                           {"low": self.training_range[0], "high": self.training_range[1],
                                            "basis": self.range_basis})
        return described


def column_specs(info: dict, preprocessor: Any) -> list[ColumnSpec]:
    """The serving view of a table run's input columns (from ``run.json`` and the fitted preprocessing)."""
    can_impute = bool(getattr(preprocessor, "impute", True))
    scaled = bool(getattr(preprocessor, "scale", True))
    flagged = set(getattr(preprocessor, "missing_indicator_columns_", []))
    specs = []
    for column in info["input"]["columns"]:
        name = column["name"]
        if column["type"] == "categorical":
            specs.append(ColumnSpec(name, "categorical", categories=list(preprocessor.categories_[name]),
                                    fill_value=preprocessor.most_frequent_[name], can_impute=can_impute,
                                    flagged=name in flagged))
            continue
        mean, scale = preprocessor.means_[name], preprocessor.scales_[name]
        if column.get("min") is not None and column.get("max") is not None:
            bounds, basis = (float(column["min"]), float(column["max"])), "minimum and maximum of the training split"
        elif scaled:
            bounds = (mean - RANGE_SD * scale, mean + RANGE_SD * scale)
            basis = f"training mean ± {RANGE_SD:g} SD (this run records no minimum and maximum)"
        else:
            bounds, basis = None, None
        specs.append(ColumnSpec(name, "numeric", training_range=bounds, range_basis=basis, mean=mean,
                                scale=scale if scaled else None, fill_value=preprocessor.medians_[name],
                                can_impute=can_impute, flagged=name in flagged))
    return specs


def _level(value: Any) -> str:
    """A category as the preprocessing keys it (1, 1.0 and "1" are the same level)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _check_value(spec: ColumnSpec, value: Any, where: str) -> tuple[Any, FieldProblem | None]:
    if value is None:
        if not spec.can_impute:
            return None, FieldProblem(where, f"Column {spec.name!r} is missing and this model cannot impute missing "
                                             f"values; give a value.")
        return None, None
    if spec.type == "numeric":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            return None, FieldProblem(where, f"Column {spec.name!r} must be numeric but got {value!r:.60}.")
        try:
            number = float(value)
        except ValueError:
            return None, FieldProblem(where, f"Column {spec.name!r} must be numeric but has the non-numeric value "
                                             f"{value!r:.60}. Send a number, or null for a missing value.")
        if not math.isfinite(number):
            return None, FieldProblem(where, f"Column {spec.name!r} must be a finite number; got {value!r}. Send "
                                             f"null for a missing value.")
        return number, None
    if not isinstance(value, (str, int, float, bool)):
        return None, FieldProblem(where, f"Column {spec.name!r} must be one of the categories "
                                         f"{', '.join(map(repr, spec.categories))}; got {value!r:.60}.")
    level = _level(value)
    if level not in spec.categories:
        return None, FieldProblem(where, f"Column {spec.name!r} has a category not seen in training: {level!r:.60}."
                                         f"{did_you_mean(level, spec.categories)} Known categories: "
                                         f"{', '.join(map(repr, spec.categories))}.")
    return level, None


def check_records(records: Any, specs: list[ColumnSpec], *, max_rows: int) -> pd.DataFrame:
    """The records as a table with the model's columns, or :class:`InvalidInput` naming every bad field."""
    if isinstance(records, dict):
        records = [records]
    if not isinstance(records, list) or not records:
        raise InvalidInput([FieldProblem("records", "Send one patient as a JSON object, or several as "
                                                    "{\"records\": [{...}, ...]} with at least one record.")])
    if len(records) > max_rows:
        raise InvalidInput([FieldProblem("records", f"{len(records)} records in one request; the server's limit is "
                                                    f"{max_rows}. Split the batch.")], status_code=413)
    names = [spec.name for spec in specs]
    problems, columns = [], {name: [] for name in names}
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            problems.append(FieldProblem(f"records[{i}]", f"Each record must be a JSON object of column values; "
                                                           f"got {type(record).__name__}."))
            continue
        for extra in (key for key in record if key not in names):
            problems.append(FieldProblem(f"records[{i}].{extra}", f"Column {extra!r} is not an input of this model."
                                                                  f"{did_you_mean(extra, names)} Model columns: {names}."))
        for spec in specs:
            where = f"records[{i}].{spec.name}"
            if spec.name not in record:
                problems.append(FieldProblem(where, f"Column {spec.name!r} is required but missing; send null for a "
                                                    f"missing value."))
                continue
            value, problem = _check_value(spec, record[spec.name], where)
            columns[spec.name].append(value)
            if problem is not None:
                problems.append(problem)
        if len(problems) >= 50:
            break
    if problems:
        raise InvalidInput(problems[:50])
    # One array per column, built once: a third of the per-column pandas work of building rows then casting.
    return pd.DataFrame({spec.name: np.asarray([np.nan if v is None else v for v in columns[spec.name]], dtype=float)
                         if spec.type == "numeric" else np.asarray(columns[spec.name], dtype=object)
                         for spec in specs})


@lru_cache(maxsize=256)
def _far_limit(n_numeric: int) -> float:
    return float(chi2.ppf(FAR_QUANTILE, n_numeric))


def row_warnings(frame: pd.DataFrame, specs: list[ColumnSpec]) -> list[list[str]]:
    """Per row: values outside the training range, imputed values, and whether the patient is far from the training data.

    ``frame`` is what :func:`check_records` returns (the columns in ``specs`` order).
    """
    n_rows = len(frame)
    warnings: list[list[str]] = [[] for _ in range(n_rows)]
    numeric = [spec for spec in specs if spec.type == "numeric"]
    values = frame[[spec.name for spec in numeric]].to_numpy(dtype=float) if numeric else np.zeros((n_rows, 0))
    missing = np.isnan(values)
    for spec in specs:
        if spec.type != "numeric":
            for i in np.flatnonzero(frame[spec.name].isna().to_numpy()):
                warnings[i].append(f"{spec.name!r} is missing: {spec.missing_values}.")
    for i, j in zip(*np.nonzero(missing)):
        warnings[i].append(f"{numeric[j].name!r} is missing: {numeric[j].missing_values}.")
    ranged = [j for j, spec in enumerate(numeric) if spec.training_range is not None]
    if ranged:
        low = np.asarray([numeric[j].training_range[0] for j in ranged])
        high = np.asarray([numeric[j].training_range[1] for j in ranged])
        block = values[:, ranged]
        with np.errstate(invalid="ignore"):
            outside = (block < low) | (block > high)
        for i, k in zip(*np.nonzero(outside)):
            spec = numeric[ranged[k]]
            warnings[i].append(f"{spec.name!r} = {block[i, k]:.4g} is outside the training range "
                               f"[{low[k]:.4g}, {high[k]:.4g}] ({spec.range_basis}).")
    scaled = [j for j, spec in enumerate(numeric) if spec.scale]
    if scaled:
        means = np.asarray([numeric[j].mean for j in scaled])
        scales = np.asarray([numeric[j].scale for j in scaled])
        squared = np.nansum(((values[:, scaled] - means) / scales) ** 2, axis=1)
        limit = _far_limit(len(scaled))
        for i in np.flatnonzero(squared > limit):
            warnings[i].append(f"The patient is far from the training data (squared standardised distance "
                               f"{squared[i]:.1f} over {len(scaled)} numeric columns; 99.9% of training-like patients "
                               f"stay below {limit:.1f}): treat this prediction with caution.")
    return warnings
