"""Making survival test data right for scikit-survival's IPCW metrics.

``Target`` holds the checked test data and the Kaplan–Meier estimate of the
censoring distribution G (from the training data when given). The helpers
keep every time at which G is evaluated inside the range where it is defined
(G > 0, within the training follow-up), clipping horizons and truncation times
and saying so in a note.
"""

from __future__ import annotations

import numpy as np

from meddl.errors import DataError
from meddl.survival._checks import _as_vector, check_survival_target, structured_target

__all__ = ["Target", "risk_vector", "uno_tau", "usable_horizon", "auc_events", "brier_grid", "capped_test_times"]


class Target:
    """Checked test data, and the censoring distribution used for IPCW."""

    def __init__(self, duration, event, train=None):
        self.time, self.event = check_survival_target(duration, event)
        if train is None:
            self.train_time, self.train_event, self.censoring_note = self.time, self.event, (
                "censoring distribution estimated on the test data (no training data given)")
        else:
            if not isinstance(train, (tuple, list)) or len(train) != 2:
                raise DataError("'train' must be a tuple (train_duration, train_event); got "
                                f"{type(train).__name__}.")
            self.train_time, self.train_event = check_survival_target(train[0], train[1], duration_name="train[0]",
                                                                      event_name="train[1]")
            self.censoring_note = None
        self.n = self.time.size
        self._censoring = None

    @property
    def censoring(self):
        """scikit-survival's Kaplan–Meier estimator of the censoring distribution G."""
        if self._censoring is None:
            from sksurv.nonparametric import CensoringDistributionEstimator

            self._censoring = CensoringDistributionEstimator().fit(structured_target(self.train_time, self.train_event))
        return self._censoring

    def censoring_survival(self, times: np.ndarray) -> np.ndarray:
        """G(t), with 0 after the training follow-up (where scikit-survival refuses to extrapolate)."""
        unique, prob = self.censoring.unique_time_, self.censoring.prob_
        index = np.searchsorted(unique, times, side="right") - 1
        return np.where(times > unique[-1], 0.0, prob[np.clip(index, 0, None)])

    @property
    def ipcw_limit(self) -> float:
        """Smallest time at which IPCW is no longer defined (G = 0 or past the training follow-up)."""
        unique, prob = self.censoring.unique_time_, self.censoring.prob_
        zero = np.flatnonzero(prob == 0)
        if zero.size:
            return float(unique[zero[0]])
        return float(np.nextafter(unique[-1], np.inf))

    def structured(self, time=None, event=None):
        return structured_target(self.time if time is None else time, self.event if event is None else event)


def risk_vector(risk, n: int, name: str = "risk") -> np.ndarray:
    """``risk`` as a finite float64 vector of length ``n``."""
    values = _as_vector(risk, name).astype(np.float64)
    if values.size != n:
        raise DataError(f"'{name}' must have one value per sample ({n}); got {values.size}.")
    if not np.isfinite(values).all():
        raise DataError(f"'{name}' contains NaN or infinite values.")
    return values


def uno_tau(target: Target, tau: float | None) -> tuple[float | None, str | None]:
    """Truncation time for Uno's C: ``tau``, lowered (with a note) to where G is estimable."""
    limit = target.ipcw_limit
    if tau is not None and tau <= limit:
        return tau, None
    if not target.event.any() or target.time[target.event].max() < limit:
        return tau, None
    note = f"truncated at tau={limit:g}: the censoring distribution is not estimable after the training follow-up"
    return limit, note


def usable_horizon(target: Target, horizon: float) -> tuple[float | None, str | None]:
    """Clip ``horizon`` to [first test time, last usable time) for the AUC and calibration."""
    distinct = np.unique(target.time)
    upper_candidates = distinct[(distinct < distinct[-1]) & (distinct < target.ipcw_limit)]
    if upper_candidates.size == 0:
        return None, "the test follow-up is too short for a time-dependent metric"
    low, high = distinct[0], upper_candidates[-1]
    clipped = float(np.clip(horizon, low, high))
    if clipped != horizon:
        return clipped, f"horizon {horizon:g} clipped to {clipped:g} (within the test follow-up [{low:g}, {high:g}])"
    return clipped, None


def auc_events(target: Target, horizon: float) -> np.ndarray:
    # Events after the horizon are controls either way; marking them censored keeps sksurv from
    # evaluating G at times where it may be undefined, without changing the AUC.
    return target.event & (target.time <= horizon)


def brier_grid(target: Target, times: np.ndarray | None) -> tuple[np.ndarray, str | None]:
    """The time grid of the integrated Brier score, inside the test follow-up and the IPCW range."""
    low = float(target.time.min())
    high = min(float(np.quantile(target.time, 0.9)), float(target.time.max()), target.ipcw_limit,
               float(target.train_time.max()))
    if times is None:
        if not high > low:
            raise DataError("The integrated Brier score is undefined: the test follow-up is too short.")
        grid = np.linspace(low, high, 100, endpoint=False)
        return grid, f"integrated over [{low:g}, {high:g}) (first test time to the 90th percentile of follow-up)"
    grid = np.unique(times)
    inside = grid[(grid >= low) & (grid < high)]
    if inside.size < 2:
        raise DataError(f"The integrated Brier score needs at least 2 times within the test follow-up [{low:g}, "
                        f"{high:g}); got {grid.tolist()[:5]}.")
    note = None if inside.size == grid.size else (
        f"{grid.size - inside.size} of {grid.size} times outside the test follow-up [{low:g}, {high:g}) were dropped")
    return inside, note


def capped_test_times(target: Target, grid: np.ndarray) -> np.ndarray:
    # Times after the grid only ever count as controls; capping them just after the grid keeps
    # scikit-survival from evaluating G(T) beyond the training follow-up. The score is unchanged.
    return np.minimum(target.time, np.nextafter(grid[-1], np.inf))
