"""Input and parameter checks shared by the survival estimators and metrics.

Errors are :class:`~meddl.errors.DataError` / :class:`~meddl.errors.MeddlError`
naming the argument, the rule and the received value, as scikit-learn does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from meddl.errors import DataError, MeddlError
from meddl.models.inputs import as_array, check_finite

__all__ = ["check_features", "check_survival_target", "check_times", "structured_target"]


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


def check_rescale_factor(factor) -> float:
    """The ``factor`` of ``rescale_risk``: a positive finite number."""
    if isinstance(factor, bool) or not isinstance(factor, (int, float, np.floating, np.integer)) \
            or not np.isfinite(factor) or not factor > 0:
        raise MeddlError(f"The 'factor' parameter of rescale_risk must be a positive number. Got {factor!r} instead.")
    return float(factor)
