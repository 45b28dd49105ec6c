"""Input and parameter checks shared by the treatment estimators.

Every check raises :class:`~meddl.errors.DataError` (bad data) or
:class:`~meddl.errors.ConfigError` (bad parameters) with a message that names
the argument, says what was expected and what was received.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from meddl.errors import ConfigError, DataError, NotFittedError, unknown_name_error
from meddl.models.inputs import as_array, check_finite

__all__ = ["check_features", "check_vector", "check_treatment", "check_xty", "check_min_per_arm",
           "resolve_outcome_type", "check_fitted", "check_probabilities"]

OUTCOME_TYPES = ("auto", "continuous", "binary")


def check_features(x: Any, argument: str = "x", n_features: int | None = None) -> np.ndarray:
    """Return ``x`` as a finite float64 matrix (N, features); a 1-D ``x`` is refused with a hint."""
    array = as_array(x, argument)
    if array.ndim != 2:
        hint = f" For a single feature use {argument}.reshape(-1, 1)." if array.ndim == 1 else ""
        raise DataError(f"'{argument}' must be a 2-D array of shape (N, features); got shape {array.shape}.{hint}")
    if array.shape[0] == 0:
        raise DataError(f"'{argument}' is empty; at least one sample is needed.")
    array = array.astype(np.float64, copy=False)
    check_finite(array, argument)
    if n_features is not None and array.shape[1] != n_features:
        raise DataError(f"'{argument}' has {array.shape[1]} features, but the estimator was fitted with "
                        f"{n_features} features.")
    return array


def check_vector(values: Any, argument: str, n: int | None = None, x_name: str = "x") -> np.ndarray:
    """Return a finite 1-D float64 vector (an (N, 1) column is accepted)."""
    array = as_array(values, argument)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"'{argument}' must be 1-D with one value per sample; got shape {array.shape}.")
    array = array.astype(np.float64, copy=False)
    check_finite(array, argument)
    if n is not None and len(array) != n:
        raise DataError(f"'{x_name}' and '{argument}' must have the same number of samples; got {n} and {len(array)}.")
    return array


def check_treatment(t: Any, n: int | None = None, *, argument: str = "t", x_name: str = "x",
                    require_both_arms: bool = True) -> np.ndarray:
    """Return the treatment as an int vector of 0 (control) / 1 (treated); both arms must be present."""
    values = check_vector(t, argument, n, x_name)
    levels = np.unique(values)
    if not np.isin(levels, (0.0, 1.0)).all():
        shown = ", ".join(f"{v:g}" for v in levels[:6]) + (", ..." if len(levels) > 6 else "")
        raise DataError(f"'{argument}' (the treatment) must be binary, coded 0 = control and 1 = treated; "
                        f"got the values [{shown}].")
    treatment = values.astype(np.int64)
    if require_both_arms and len(levels) < 2:
        arm = "treated (1)" if levels[0] == 1 else "control (0)"
        raise DataError(f"'{argument}' (the treatment) must contain both arms to estimate an effect; "
                        f"all {len(treatment)} samples are {arm}.")
    return treatment


def check_xty(x: Any, t: Any, y: Any, *, y_name: str = "y", names: tuple[str, str, str] | None = None,
              require_both_arms: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check the usual ``(x, t, y)`` triple of a treatment-effect fit (``names``: how errors call them)."""
    x_name, t_name, y_name = names or ("x", "t", y_name)
    x = check_features(x, x_name)
    t = check_treatment(t, len(x), argument=t_name, x_name=x_name, require_both_arms=require_both_arms)
    y = check_vector(y, y_name, len(x), x_name)
    return x, t, y


def check_min_per_arm(t: np.ndarray, minimum: int, owner: str) -> None:
    """Each arm needs at least ``minimum`` samples."""
    counts = np.bincount(t, minlength=2)
    if counts.min() < minimum:
        raise DataError(f"{owner} needs at least {minimum} samples in each arm; got {int(counts[0])} control and "
                        f"{int(counts[1])} treated.")


def resolve_outcome_type(outcome: str, y: np.ndarray, owner: str) -> str:
    """``"auto"`` → ``"binary"`` when ``y`` is only 0/1, else ``"continuous"``; check an explicit type."""
    if outcome not in OUTCOME_TYPES:
        raise unknown_name_error("outcome type", outcome, OUTCOME_TYPES, error_class=ConfigError)
    is_binary = bool(np.isin(np.unique(y), (0.0, 1.0)).all())
    if outcome == "auto":
        return "binary" if is_binary else "continuous"
    if outcome == "binary" and not is_binary:
        raise DataError(f"{owner}(outcome='binary') needs 'y' coded 0/1; got values such as "
                        f"{y[~np.isin(y, (0.0, 1.0))][0]:g}.")
    return outcome


def check_fitted(estimator: Any, attribute: str = "n_features_in_") -> None:
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"This {type(estimator).__name__} is not fitted yet. Call fit(x, t, y) first.")


def check_probabilities(values: Any, argument: str, n: int | None = None, x_name: str = "x") -> np.ndarray:
    """A finite vector of probabilities in [0, 1]."""
    array = check_vector(values, argument, n, x_name)
    bad = (array < 0) | (array > 1)
    if bad.any():
        raise DataError(f"'{argument}' must hold probabilities in [0, 1]; got {array[bad][0]:g} "
                        f"(at index {int(np.flatnonzero(bad)[0])}).")
    return array


