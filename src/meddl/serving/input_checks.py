"""Check JSON records against a run's input schema, and warn about rows the model knows little about.

:func:`check_records` turns records into the table ``Run.predict`` takes, or raises
:class:`InvalidInput` listing every problem per field (``records[3].age``), worded like
the library's own errors. :func:`row_warnings` words each row's cautions for the API: an
imputed value, a value outside the training range, a patient unlike the training data.
What to warn about is decided once, by the library (``InputProfile.check``, the same
check behind ``Run.predict``'s ``warnings`` column); this module only words its notes.

Training ranges: the run's input profile (the training split's minimum and maximum);
for a run without one (trained before meddl 0.2), ``run.json``'s ``min``/``max`` or the
training mean ± 4 SD from the fitted preprocessing, and the schema says which.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from meddl.errors import did_you_mean

__all__ = ["InvalidInput", "FieldProblem", "ColumnSpec", "column_specs", "check_records", "row_warnings",
           "RANGE_SD"]

RANGE_SD = 4.0  # without an input profile or recorded min/max: the training range is mean ± 4 SD


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


def column_specs(info: dict, preprocessor: Any, profile: Any = None) -> list[ColumnSpec]:
    """The serving view of a table run's input columns (``run.json``, the fitted preprocessing, the input profile)."""
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
        profiled = getattr(profile, "numeric_ranges", {}).get(name)
        if profiled is not None:
            bounds, basis = (float(profiled[0]), float(profiled[1])), "minimum and maximum of the training split"
        elif column.get("min") is not None and column.get("max") is not None:
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
            # float() also reads "1_000" as 1000: a digit separator no clinical system writes, so refuse it
            if isinstance(value, str) and "_" in value:
                raise ValueError(value)
            number = float(value)
        except ValueError:
            return None, FieldProblem(where, f"Column {spec.name!r} must be numeric but has the non-numeric value "
                                             f"{value!r:.60}. Send a number, or null for a missing value.")
        except OverflowError:  # an integer beyond a float's range (about 1.8e308)
            return None, FieldProblem(where, f"Column {spec.name!r} must be a finite number; got an integer too "
                                             f"large for one (over 1.8e308). Send null for a missing value.")
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
    if all(spec.type == "numeric" for spec in specs):  # one float block: a third of building it column by column
        return pd.DataFrame(np.asarray([[np.nan if columns[name][i] is None else columns[name][i] for name in names]
                                        for i in range(len(records))], dtype=float).reshape(len(records), len(names)),
                            columns=names)
    # One array per column, built once: a third of the per-column pandas work of building rows then casting.
    return pd.DataFrame({spec.name: np.asarray([np.nan if v is None else v for v in columns[spec.name]], dtype=float)
                         if spec.type == "numeric" else np.asarray(columns[spec.name], dtype=object)
                         for spec in specs})


def _worded(note: str, row: int, frame: pd.DataFrame, by_name: dict[str, ColumnSpec], quantile: float) -> str:
    kind, _, column = note.partition(": ")
    spec = by_name.get(column)
    if kind == "imputed" and spec is not None:
        return f"{column!r} is missing: {spec.missing_values}."
    if kind == "outside training range" and spec is not None and spec.training_range is not None:
        low, high = spec.training_range
        return (f"{column!r} = {float(frame[column].iloc[row]):.4g} is outside the training range "
                f"[{low:.4g}, {high:.4g}] ({spec.range_basis}).")
    if note == "unlike the training data":
        return (f"The patient is unlike the training data: farther from it than {quantile:.0%} of the training "
                f"patients (Mahalanobis distance over the model's inputs). Treat this prediction with caution.")
    return note


def row_warnings(check: Any, frame: pd.DataFrame, specs: list[ColumnSpec], *,
                 unlike_quantile: float) -> list[list[str]]:
    """Per row, the library's input check worded as sentences: imputed values, values outside the training range,
    and a patient unlike the training data (``[]`` per row for a run without an input profile).

    Args:
        check: what ``Run.predict_with_input_check`` or ``InputProfile.check`` returned for ``frame`` (or None).
        frame: what :func:`check_records` returns.
        specs: the run's :func:`column_specs`.
        unlike_quantile: the share of training patients the "unlike" threshold is above (the profile's ``quantile``).
    """
    if check is None:
        return [[] for _ in range(len(frame))]
    by_name = {spec.name: spec for spec in specs}
    return [[_worded(note, i, frame, by_name, unlike_quantile) for note in notes]
            for i, notes in enumerate(check.row_notes)]
