"""Input and parameter checks shared by the survival estimators and metrics.

Errors are :class:`~meddl.errors.DataError` / :class:`~meddl.errors.MeddlError`
naming the argument, the rule and the received value, as scikit-learn does.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from meddl.errors import DataError, MeddlError
from meddl.models.inputs import as_array, check_finite

__all__ = ["check_features", "check_survival_target", "check_times", "check_parameters", "structured_target"]


def _as_vector(value: Any, argument: str) -> np.ndarray:
    array = as_array(value, argument)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"'{argument}' must be one-dimensional, shape (n_samples,); got shape {array.shape}.")
    return array


def check_survival_target(duration: Any, event: Any, *, n_samples: int | None = None,
                          duration_name: str = "duration", event_name: str = "event") -> tuple[np.ndarray, np.ndarray]:
    """Return ``(duration as float64, event as bool)`` after checking shapes and values.

    Durations must be finite and non-negative; events must be 0/1 (or booleans).
    """
    durations = _as_vector(duration, duration_name).astype(np.float64)
    check_finite(durations, duration_name)
    negative = np.flatnonzero(durations < 0)
    if negative.size:
        raise DataError(f"'{duration_name}' must be non-negative times; got {negative.size} negative values "
                        f"(first {durations[negative[0]]:g} in row {int(negative[0])}).")
    events = _as_vector(event, event_name)
    if np.issubdtype(events.dtype, np.floating):
        check_finite(events, event_name)
    bad = np.flatnonzero((events != 0) & (events != 1))
    if bad.size:
        codes = sorted({float(v) if not float(v).is_integer() else int(v) for v in np.unique(events[bad])[:5]})
        raise DataError(f"'{event_name}' must hold 1 for an event and 0 for censoring; got the codes {codes} "
                        f"in {bad.size} rows (first row {int(bad[0])}). Recode competing or other event types first.")
    if n_samples is not None and len(durations) != n_samples:
        raise DataError(f"'{duration_name}' and '{event_name}' must have one entry per row of 'x' ({n_samples}); "
                        f"got {len(durations)}.")
    if len(events) != len(durations):
        raise DataError(f"'{duration_name}' and '{event_name}' must have the same number of samples; "
                        f"got {len(durations)} and {len(events)}.")
    return durations, events.astype(bool)


def check_features(x: Any, n_features: int | None = None, argument: str = "x") -> np.ndarray:
    """Return ``x`` as a float64 matrix (n_samples, n_features), checked against ``n_features``.

    float64 so that standardisation is exact; the network sees float32 after it.
    """
    array = as_array(x, argument)
    if array.ndim == 1:
        raise DataError(f"'{argument}' must be a 2-D array (n_samples, n_features); got a 1-D array of shape "
                        f"{array.shape}. For a single feature use {argument}.reshape(-1, 1).")
    if array.ndim != 2:
        raise DataError(f"'{argument}' must be a 2-D array (n_samples, n_features); got shape {array.shape}.")
    check_finite(array, argument)
    if array.shape[0] == 0:
        raise DataError(f"'{argument}' has 0 samples; at least one is needed.")
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(f"'{argument}' has {array.shape[1]} features, but the model is expecting {n_features} "
                        "features as input.")
    return np.ascontiguousarray(array, dtype=np.float64)


def check_times(times: Any, argument: str = "times") -> np.ndarray:
    """Return time points as a 1-D float64 array of finite, non-negative values."""
    array = np.atleast_1d(as_array(times, argument)).astype(np.float64)
    if array.ndim != 1 or array.size == 0:
        raise DataError(f"'{argument}' must be a non-empty 1-D array of time points; got shape {array.shape}.")
    check_finite(array, argument)
    if (array < 0).any():
        raise DataError(f"'{argument}' must be non-negative time points; got {array[array < 0][0]:g}.")
    return array


def structured_target(duration: np.ndarray, event: np.ndarray) -> np.ndarray:
    """The structured array scikit-survival expects: fields ``event`` (bool) and ``time`` (float)."""
    target = np.empty(len(duration), dtype=[("event", bool), ("time", np.float64)])
    target["event"] = np.asarray(event, dtype=bool)
    target["time"] = np.asarray(duration, dtype=np.float64)
    return target


# -- parameters, declared as data ------------------------------------------------
def _describe(rule: tuple) -> str:
    kind = rule[0]
    if kind in ("int", "float"):
        low, high, closed = rule[1], rule[2], rule[3] if len(rule) > 3 else "[]"
        left = "[" if closed[0] == "[" else "("
        right = "]" if closed[1] == "]" else ")"
        high_text = "inf" if high is None else f"{high:g}"
        noun = "an integer" if kind == "int" else "a float"
        return f"{noun} in the range {left}{low:g}, {high_text}{right}"
    if kind == "options":
        return "one of " + ", ".join(repr(o) for o in rule[1])
    if kind == "units":
        return "a tuple of positive integers (layer widths), possibly empty"
    if kind == "bool":
        return "a bool"
    return str(rule)


def _satisfies(value: Any, rule: tuple) -> bool:
    kind = rule[0]
    if kind in ("int", "float"):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            return False
        if kind == "int" and not isinstance(value, numbers.Integral):
            return False
        low, high, closed = rule[1], rule[2], rule[3] if len(rule) > 3 else "[]"
        if not np.isfinite(value):
            return False
        above = value >= low if closed[0] == "[" else value > low
        below = True if high is None else (value <= high if closed[1] == "]" else value < high)
        return bool(above and below)
    if kind == "options":
        return value in rule[1]
    if kind == "units":
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return value > 0
        return isinstance(value, (tuple, list)) and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in value)
    if kind == "bool":
        return isinstance(value, (bool, np.bool_))
    raise MeddlError(f"Unknown parameter rule {rule!r}.")


def check_parameters(owner: object, constraints: dict[str, tuple], nullable: tuple[str, ...] = ()) -> None:
    """Check every attribute of ``owner`` named in ``constraints``; raise naming the first bad one."""
    for name, rule in constraints.items():
        value = getattr(owner, name)
        if value is None and name in nullable:
            continue
        if not _satisfies(value, rule):
            extra = " or None" if name in nullable else ""
            raise MeddlError(f"The '{name}' parameter of {type(owner).__name__} must be {_describe(rule)}{extra}. "
                             f"Got {value!r} instead.")
