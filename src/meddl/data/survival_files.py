"""Survival and treatment-effect file formats, and the check on survival targets.

- :func:`read_deepsurv_h5`: the HDF5 layout of the DeepSurv benchmarks
  (Katzman et al. 2018): groups ``train``/``valid``/``test``/``viz``, each with
  ``x`` (covariates), ``t`` (time) and ``e`` (event: 1 = event, 0 = censored).
- :func:`read_ihdp_csv`: the IHDP semi-synthetic treatment-effect CSVs
  (Hill 2011; the realisations shipped with CEVAE), which have no header.
- :func:`validate_survival_target`: durations and event indicators, checked.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from meddl.errors import import_optional
from meddl.data.checks import describe_rows, show_values
from meddl.errors import DataError

__all__ = [
    "SurvivalArrays",
    "read_deepsurv_h5",
    "read_ihdp_csv",
    "validate_survival_target",
    "DEEPSURV_SPLITS",
    "IHDP_COLUMNS",
]

#: Group names of the DeepSurv HDF5 files, in the order they are returned.
DEEPSURV_SPLITS = ("train", "valid", "test", "viz")

#: Column names of the IHDP CSV files (no header in the files themselves).
IHDP_COLUMNS = ("treatment", "y_factual", "y_cfactual", "mu0", "mu1") + tuple(f"x{i}" for i in range(1, 26))


def validate_survival_target(duration, event, column_names=("duration", "event")) -> tuple[np.ndarray, np.ndarray]:
    """Check survival times and event indicators; return them as clean arrays.

    Durations must be finite and non-negative. A duration of exactly 0 is
    allowed (e.g. death on the day of inclusion); whether a model copes with it
    is the model's concern. Events must be 0/1 or booleans (1/True = the event
    happened, 0/False = censored).

    Args:
        duration: Times to event or censoring, one per row.
        event: Event indicators, one per row.
        column_names: Names of the two columns, used in error messages.

    Returns:
        ``(duration, event)`` as float64 and int64 (0/1) arrays.

    Raises:
        DataError: naming the column and the first offending rows, for
            non-numeric, missing, infinite or negative durations, for event
            codes other than 0/1/True/False, or for mismatched lengths.

    Example:
        >>> validate_survival_target([5.0, 0.0, 12.5], [1, 0, True])
        (array([ 5. ,  0. , 12.5]), array([1, 0, 1]))
    """
    duration_name, event_name = column_names
    duration_series, rows = _as_series(duration, duration_name)
    event_series, _ = _as_series(event, event_name)
    if len(duration_series) != len(event_series):
        raise DataError(
            f"Duration column {duration_name!r} has {len(duration_series)} values but event column "
            f"{event_name!r} has {len(event_series)}; they must have one value per row."
        )
    if len(duration_series) == 0:
        raise DataError(f"Duration column {duration_name!r} is empty: there are no rows.")

    times = pd.to_numeric(duration_series, errors="coerce")
    problems = [
        ("non-numeric", times.isna() & duration_series.notna()),
        ("missing", duration_series.isna()),
        ("infinite", np.isinf(times.fillna(0))),
        ("negative", times < 0),
    ]
    for what, mask in problems:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            count = int(mask.sum())
            raise DataError(
                f"Duration column {duration_name!r} has {count} {what} value{'s' if count > 1 else ''} "
                f"({show_values(duration_series[mask])}) at "
                f"{describe_rows(rows[mask])}. Durations must be finite numbers >= 0."
            )

    def event_code(value):
        if isinstance(value, (bool, np.bool_)):
            return int(value)
        if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
            return int(value)
        return None

    codes = event_series.map(event_code)
    bad = codes.isna().to_numpy()
    if bad.any():
        raise DataError(
            f"Event column {event_name!r} must hold 0/1 or True/False (1 = event, 0 = censored); got "
            f"{show_values(event_series[bad])} at {describe_rows(rows[bad])}.{_event_fix(event_series[bad])}"
        )
    return times.to_numpy(dtype=np.float64), codes.to_numpy(dtype=np.int64)


def _event_fix(bad: pd.Series) -> str:
    """How to recode the event values the check refused: text labels, missing values, other numeric codes."""
    if bad.isna().all():
        return " Each patient needs an event indicator: fill in the missing values or drop those rows."
    present = bad.dropna()
    numbers = pd.to_numeric(present, errors="coerce")
    if numbers.notna().all():
        return (" Other codes (2 often marks a competing event) must be recoded: 1 if the patient had the event "
                "this model predicts, 0 if follow-up ended without it (censored at that time).")
    return (" Recode text values as numbers: 1 where the event happened (e.g. 'dead', 'yes'), 0 where follow-up "
            "ended without it (e.g. 'alive', 'no').")


def _as_series(values, name: str) -> tuple[pd.Series, np.ndarray]:
    """Values as a 0..n-1 indexed object Series, plus the row labels to report."""
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True), np.asarray(values.index)
    array = np.asarray(values, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"Column {name!r} must be one-dimensional (one value per row); got shape {array.shape}.")
    return pd.Series(array), np.arange(len(array))


class SurvivalArrays(tuple):
    """``(x, t, e)`` of one DeepSurv split; other datasets of the group are in ``extra``.

    ``x`` is float32 ``(n, p)``, ``t`` float64 ``(n,)``, ``e`` int64 ``(n,)`` with 1 = event.
    ``extra`` maps other dataset names of the HDF5 group (e.g. ``"hr"``, the true
    log-hazard of the simulated treatment data) to arrays.
    """

    def __new__(cls, x, t, e, extra=None):
        self = super().__new__(cls, (x, t, e))
        self.extra = dict(extra or {})
        return self

    x = property(lambda self: self[0])
    t = property(lambda self: self[1])
    e = property(lambda self: self[2])


def read_deepsurv_h5(path: str | os.PathLike, splits=None) -> dict[str, SurvivalArrays]:
    """Read a DeepSurv benchmark HDF5 file.

    Args:
        path: The ``.h5`` file.
        splits: Group names to read; ``None`` reads those of ``train``,
            ``valid``, ``test``, ``viz`` that exist (at least one must).

    Returns:
        Dict split name -> :class:`SurvivalArrays` ``(x, t, e)``.

    Raises:
        DataError: for a missing/unreadable file, a missing group or key
            (naming both), inconsistent shapes, or invalid times/events.
    """
    h5py = import_optional("h5py", "Reading DeepSurv .h5 files")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"DeepSurv file not found: '{path}'.")
    try:
        handle = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"Could not open '{path}' as an HDF5 file: {exc}") from exc
    with handle:
        present = [name for name in handle.keys() if isinstance(handle[name], h5py.Group)]
        if splits is None:
            wanted = [s for s in DEEPSURV_SPLITS if s in present]
            if not wanted:
                raise DataError(
                    f"'{path}' has none of the DeepSurv groups {list(DEEPSURV_SPLITS)}; found {present}."
                )
        else:
            wanted = [splits] if isinstance(splits, str) else list(splits)
            absent = [s for s in wanted if s not in present]
            if absent:
                raise DataError(f"'{path}' has no group {absent[0]!r}; groups found: {present}.")
        return {name: _read_deepsurv_group(handle[name], path, name) for name in wanted}


def _read_deepsurv_group(group, path: Path, name: str) -> SurvivalArrays:
    absent = [key for key in ("x", "t", "e") if key not in group]
    if absent:
        raise DataError(f"Group {name!r} of '{path}' has no {absent[0]!r} dataset; found {sorted(group.keys())}.")
    x = np.asarray(group["x"][()], dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise DataError(f"'{name}/x' in '{path}' must be 2-D (patients, covariates); got shape {x.shape}.")
    t, e = (np.asarray(group[key][()]).reshape(-1) for key in ("t", "e"))
    for key, values in (("t", t), ("e", e)):
        if len(values) != len(x):
            raise DataError(f"'{name}/{key}' in '{path}' has {len(values)} values but '{name}/x' has {len(x)} rows.")
    t, e = validate_survival_target(t, e, column_names=(f"{name}/t", f"{name}/e"))
    extra = {
        key: np.asarray(group[key][()])
        for key in group.keys()
        if key not in ("x", "t", "e") and not hasattr(group[key], "keys")
    }
    return SurvivalArrays(x, t, e, extra)


def read_ihdp_csv(path: str | os.PathLike) -> pd.DataFrame:
    """Read an IHDP realisation CSV (no header) into a DataFrame with named columns.

    The 30 columns are ``treatment, y_factual, y_cfactual, mu0, mu1, x1 … x25``;
    ``mu1 - mu0`` is the true individual treatment effect.

    Raises:
        DataError: if the file is missing, has the wrong number of columns,
            holds non-numeric values, or a treatment other than 0/1.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"IHDP file not found: '{path}'.")
    try:
        frame = pd.read_csv(path, header=None)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"Could not read IHDP file '{path}': {exc}") from exc
    if frame.shape[1] != len(IHDP_COLUMNS):
        raise DataError(
            f"IHDP file '{path}' has {frame.shape[1]} columns; expected {len(IHDP_COLUMNS)} "
            f"(treatment, y_factual, y_cfactual, mu0, mu1, x1 ... x25), with no header line."
        )
    frame.columns = list(IHDP_COLUMNS)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = values.isna() & frame[column].notna()
            raise DataError(
                f"IHDP file '{path}' has non-numeric values in column {column!r} at "
                f"{describe_rows(frame.index[bad])} (e.g. {show_values(frame[column][bad], 1)}); "
                f"the IHDP layout has no header line."
            )
    bad = ~frame["treatment"].isin([0, 1])
    if bad.any():
        raise DataError(
            f"IHDP file '{path}': column 'treatment' must be 0 or 1; got "
            f"{show_values(frame['treatment'][bad])} at {describe_rows(frame.index[bad])}."
        )
    frame["treatment"] = frame["treatment"].astype(np.int64)
    return frame
