"""Breslow's baseline cumulative hazard and the survival curves of a Cox-type model.

With log-risk scores η_j on the training data, at each distinct event time t_k
with d_k events (ties included)::

    ΔH0(t_k) = d_k / Σ_{j: T_j ≥ t_k} exp(η_j),      H0(t) = Σ_{t_k ≤ t} ΔH0(t_k)

and ``S(t | x) = exp(−H0(t) · exp(η(x)))``: a non-increasing step function with
``S(t) = 1`` before the first event time.

Example:
    >>> import numpy as np
    >>> from meddl.survival.baseline import BreslowBaseline
    >>> base = BreslowBaseline().fit(np.zeros(4), np.array([1.0, 2, 2, 3]), np.array([1, 1, 0, 1]))
    >>> base.cumulative_hazard(np.array([0.5, 1, 2, 3])).round(4).tolist()
    [0.0, 0.25, 0.5833, 1.5833]
"""

from __future__ import annotations

import numpy as np

from meddl.errors import DataError, NotFittedError
from meddl.survival._checks import _as_vector, check_survival_target, check_times

__all__ = ["BreslowBaseline"]


class BreslowBaseline:
    """Breslow estimator of the baseline cumulative hazard H0 (fitted attributes end in ``_``).

    Attributes:
        times_: distinct event times of the training data, ascending.
        cumulative_hazard_: H0 at ``times_`` (float64).
    """

    def fit(self, log_risk, duration, event) -> "BreslowBaseline":
        """Estimate H0 from training log-risks η, durations and events."""
        eta = _as_vector(log_risk, "log_risk").astype(np.float64)
        durations, events = check_survival_target(duration, event, n_samples=len(eta))
        if not np.isfinite(eta).all():
            raise DataError("'log_risk' contains NaN or infinite values; the risk model diverged.")
        if not events.any():
            raise DataError("Cannot estimate the baseline hazard: 'event' has no events (all samples are censored).")
        order = np.argsort(-durations, kind="stable")
        sorted_times, sorted_eta = durations[order], eta[order]
        shift = sorted_eta.max()
        # Risk-set sums at every row in descending time; a tie group's risk set ends at its last row.
        risk_sums = np.cumsum(np.exp(sorted_eta - shift))
        negated, first = np.unique(-sorted_times, return_index=True)  # distinct times, descending
        last = np.r_[first[1:], sorted_times.size] - 1
        times, risk_at_time = -negated[::-1], risk_sums[last][::-1]  # both ascending in time
        deaths = np.zeros(times.size)
        np.add.at(deaths, np.searchsorted(times, durations[events]), 1.0)
        keep = deaths > 0
        increments = deaths[keep] / risk_at_time[keep] * np.exp(-shift)
        self.times_ = times[keep]
        self.cumulative_hazard_ = np.cumsum(increments)
        return self

    def _require_fitted(self) -> None:
        if not hasattr(self, "times_"):
            raise NotFittedError("This BreslowBaseline is not fitted yet. Call fit(log_risk, duration, event) first.")

    def cumulative_hazard(self, times) -> np.ndarray:
        """H0 at ``times`` (right-continuous step function, 0 before the first event time)."""
        self._require_fitted()
        times = check_times(times)
        index = np.searchsorted(self.times_, times, side="right") - 1
        return np.where(index >= 0, self.cumulative_hazard_[np.clip(index, 0, None)], 0.0)

    def survival(self, log_risk, times) -> np.ndarray:
        """``S(t | x) = exp(−H0(t)·exp(η))`` for each row of η and each time, shape (n, len(times))."""
        eta = _as_vector(log_risk, "log_risk").astype(np.float64)
        hazard = self.cumulative_hazard(times)
        with np.errstate(divide="ignore", over="ignore"):
            log_hazard = np.where(hazard > 0, np.log(np.where(hazard > 0, hazard, 1.0)), -np.inf)
            return np.exp(-np.exp(log_hazard[None, :] + eta[:, None]))

    @classmethod
    def from_arrays(cls, times: np.ndarray, cumulative_hazard: np.ndarray) -> "BreslowBaseline":
        """Rebuild a fitted baseline from its arrays (used by ``load``)."""
        base = cls()
        base.times_ = np.asarray(times, dtype=np.float64)
        base.cumulative_hazard_ = np.asarray(cumulative_hazard, dtype=np.float64)
        if base.times_.shape != base.cumulative_hazard_.shape or base.times_.ndim != 1:
            raise DataError(f"Baseline arrays must be 1-D and of equal length; got {base.times_.shape} and "
                            f"{base.cumulative_hazard_.shape}.")
        return base
