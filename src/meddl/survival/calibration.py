"""Calibration of survival predictions at a horizon: predicted vs Kaplan–Meier observed, by risk group.

Patients are split into ``n_bins`` equal-sized groups by predicted risk at the
horizon (deciles by default); in each group the mean predicted survival
``S(h | x)`` is set against the Kaplan–Meier estimate of the group at h (with
its log-log 95% CI). The calibration error is the size-weighted mean absolute
gap, ``Σ_g n_g/n · |predicted_g − observed_g|`` (0 = perfectly calibrated).

Example:
    >>> import numpy as np
    >>> from meddl.survival.calibration import calibration_table
    >>> time = np.arange(1.0, 101.0); event = np.ones(100)
    >>> predicted = (time > 50).astype(float)  # a perfect prediction of S(50)
    >>> table = calibration_table(time, event, predicted, 50.0, n_bins=2)
    >>> [b["observed"] for b in table["bins"]], table["calibration_error"]
    ([1.0, 0.0], 0.0)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from meddl.errors import DataError
from meddl.survival import _weighted
from meddl.survival._checks import _as_vector, check_survival_target

__all__ = ["calibration_table", "calibration_error_resampled", "calibration_slope", "calibration_slope_over_follow_up",
           "follow_up_event_times", "risk_groups"]


def risk_groups(predicted_survival: np.ndarray, n_bins: int) -> np.ndarray:
    """Group index 0 .. n_bins−1 of each sample, equal-sized groups by increasing predicted risk."""
    n = predicted_survival.size
    n_bins = max(1, min(int(n_bins), n))
    order = np.argsort(-predicted_survival, kind="stable")  # highest survival (lowest risk) first
    groups = np.empty(n, dtype=np.int64)
    groups[order] = (np.arange(n) * n_bins) // n
    return groups


def _kaplan_meier(time: np.ndarray, event: np.ndarray, horizon: float) -> tuple[float, list[float] | None]:
    """Kaplan–Meier S(horizon) with its log-log 95% CI (scikit-survival), held after the last time."""
    from sksurv.nonparametric import kaplan_meier_estimator

    if not event.any():
        return 1.0, None
    times, survival, interval = kaplan_meier_estimator(event, time, conf_type="log-log")
    index = np.searchsorted(times, horizon, side="right") - 1
    if index < 0:
        return 1.0, [1.0, 1.0]
    lo, hi = interval[0, index], interval[1, index]
    ci = [float(lo), float(hi)] if np.isfinite(lo) and np.isfinite(hi) else None
    return float(survival[index]), ci


def _checked_inputs(duration, event, predicted_survival) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    time, events = check_survival_target(duration, event)
    predicted = _as_vector(predicted_survival, "predicted_survival").astype(np.float64)
    if predicted.size != time.size:
        raise DataError(f"'predicted_survival' must have one value per sample ({time.size}); got {predicted.size}.")
    if not np.isfinite(predicted).all() or (predicted < 0).any() or (predicted > 1).any():
        raise DataError("'predicted_survival' must hold probabilities in [0, 1].")
    return time, events, predicted


def calibration_table(duration, event, predicted_survival, horizon: float, *, n_bins: int = 10) -> dict:
    """Predicted vs observed survival at ``horizon`` in ``n_bins`` risk groups (JSON-safe).

    Args:
        duration, event: test times and 0/1 events.
        predicted_survival: predicted S(horizon | x), shape (n,).
        horizon: the time point (should lie within the test follow-up).
        n_bins: number of equal-sized risk groups (10 = deciles).

    Returns:
        ``{"horizon", "calibration_error", "bins": [{"group", "n", "predicted", "observed",
        "observed_ci95"}, ...]}`` with groups ordered from lowest to highest predicted risk.
    """
    time, events, predicted = _checked_inputs(duration, event, predicted_survival)
    if isinstance(n_bins, bool) or not isinstance(n_bins, (int, np.integer)) or n_bins < 1:
        raise DataError(f"The 'n_bins' parameter must be an integer >= 1. Got {n_bins!r} instead.")
    groups = risk_groups(predicted, n_bins)
    bins, error = [], 0.0
    for group in range(int(groups.max()) + 1):
        rows = groups == group
        observed, ci = _kaplan_meier(time[rows], events[rows], float(horizon))
        mean_predicted = float(predicted[rows].mean())
        error += rows.sum() / time.size * abs(mean_predicted - observed)
        bins.append({"group": group, "n": int(rows.sum()), "predicted": mean_predicted, "observed": observed,
                     "observed_ci95": ci})
    return {"horizon": float(horizon), "calibration_error": float(error), "bins": bins}


def calibration_error_resampled(duration: np.ndarray, event: np.ndarray, predicted_survival: np.ndarray,
                                horizon: float, n_bins: int, weights: np.ndarray) -> np.ndarray:
    """The calibration error for each row of bootstrap ``weights`` (groups fixed on the full data)."""
    weights = np.atleast_2d(weights)
    groups = risk_groups(predicted_survival, n_bins)
    total = weights.sum(axis=1)
    error = np.zeros(weights.shape[0])
    for group in range(int(groups.max()) + 1):
        rows = groups == group
        w = weights[:, rows]
        size = w.sum(axis=1)
        observed = _weighted.weighted_kaplan_meier_at(duration[rows], event[rows], horizon, w)
        with np.errstate(invalid="ignore", divide="ignore"):
            predicted = np.where(size > 0, (w @ predicted_survival[rows]) / np.where(size > 0, size, 1), 0.0)
        error += np.where(size > 0, size / total * np.abs(predicted - observed), 0.0)
    return error


def _log_cumulative_hazard(predicted_survival: np.ndarray) -> np.ndarray:
    """``log(-log S)``, with only exact 0 and 1 moved in (to the smallest float and the float below 1)."""
    return np.log(-np.log(np.clip(predicted_survival, np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0))))


def calibration_slope(duration, event, predicted_survival, horizon: float, weights: np.ndarray | None = None,
                      *, max_iter: int = 50, tol: float = 1e-8) -> np.ndarray:
    """Calibration slope at ``horizon``: the Cox coefficient of the predicted log cumulative hazard.

    Follow-up is censored at the horizon and a Cox model (Breslow ties) is fitted with one covariate,
    ``log(-log S(horizon | x))``; its coefficient is the slope (Crowson et al., Stat Methods Med Res 2016;
    Royston & Altman 2013): 1 is ideal, below 1 the predictions are too extreme, above 1 too moderate. For
    a proportional-hazards model it is the slope of the linear predictor. Written here rather than called
    from lifelines because it fits every bootstrap resample at once: one Newton step is a few cumulative
    sums over a (resamples, n) array.

    Args:
        duration, event: test times and 0/1 events.
        predicted_survival: predicted S(horizon | x), shape (n,).
        horizon: the time at which the predictions hold.
        weights: bootstrap counts, shape (resamples, n) (default: one row of ones, the point estimate).

    Returns:
        The slope for each row of ``weights`` (NaN where a resample has no event before the horizon or the
        fit does not converge).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> risk = rng.normal(size=3000)
        >>> time = rng.exponential(1 / np.exp(risk))
        >>> too_extreme = np.exp(-np.exp(2 * risk))          # S(1 | x) with twice the true log hazard
        >>> round(float(calibration_slope(time, np.ones(3000), too_extreme, 1.0)[0]), 1)
        0.5
    """
    time, events, predicted = _checked_inputs(duration, event, predicted_survival)
    weights = np.ones((1, time.size)) if weights is None else np.atleast_2d(np.asarray(weights, dtype=np.float64))
    delta = (events & (time <= horizon)).astype(np.float64)
    covariate = _log_cumulative_hazard(predicted)
    covariate = covariate - covariate.mean()  # the coefficient is unchanged; exp() stays in range
    order = np.argsort(np.minimum(time, horizon), kind="stable")
    sorted_time = np.minimum(time, horizon)[order]
    c, d, w = covariate[order], delta[order], weights[:, order]
    first_at_risk = np.searchsorted(sorted_time, sorted_time, side="left")  # risk set of row k: rows >= this

    def risk_set_sums(values: np.ndarray) -> np.ndarray:
        return np.flip(np.cumsum(np.flip(values, axis=1), axis=1), axis=1)[:, first_at_risk]

    beta = np.ones(weights.shape[0])
    events_weight = w * d
    has_events = events_weight.sum(axis=1) > 0
    for _ in range(max_iter):
        exp_term = w * np.exp(np.clip(beta[:, None] * c[None, :], -700, 700))
        s0, s1, s2 = (risk_set_sums(exp_term * c ** k) for k in range(3))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / s0
            score = np.sum(events_weight * (c - mean), axis=1)
            information = np.sum(events_weight * (s2 / s0 - mean ** 2), axis=1)
            step = np.where(information > 0, score / information, np.nan)
        converged = np.abs(step) < tol
        beta = beta + np.clip(step, -5.0, 5.0)
        if np.all(~np.isfinite(step) | converged):
            break
    beta[~has_events | ~converged | ~np.isfinite(beta)] = np.nan
    return beta


def follow_up_event_times(duration, event, end: float) -> np.ndarray:
    """The distinct event times up to ``end``: where :func:`calibration_slope_over_follow_up` needs predictions."""
    time, events = check_survival_target(duration, event)
    return np.unique(time[events & (time <= end)])


def calibration_slope_over_follow_up(duration, event, predicted_survival, times, *, strata=None,
                                     max_iter: int = 50, tol: float = 1e-9) -> dict:
    """One calibration slope for whole predicted curves: a Cox fit with their log cumulative hazard as covariate.

    At each event time ``t`` up to ``times[-1]`` (later follow-up is censored there), the patients at risk
    are compared by ``log(-log S(t | x))``: the covariate is time-varying, so a model whose curves are not
    proportional (an ensemble's mean curve, a logistic-hazard network) is judged at every time by its own
    prediction for that time. For a proportional-hazards model this is the usual Cox slope of the linear
    predictor (:func:`calibration_slope` at ``times[-1]``); 1 is ideal, above 1 the predictions are too
    moderate, below 1 too extreme. ``strata`` (e.g. the cross-fitting fold of each row) keeps risk sets
    within a stratum: out-of-fold curves come from different fold models whose baselines differ, and
    comparing patients across them would add spread that is no patient's risk (pooled over five folds
    on GBSG2 it read 0.76 where every fold read 0.98-1.44).

    Args:
        duration, event: times and 0/1 events.
        predicted_survival: S(t | x) at ``times``, shape (n, len(times)).
        times: ascending, holding every event time up to ``times[-1]`` (:func:`follow_up_event_times`).
        strata: a label per row (default: one stratum).

    Memory: a few (n, len(times)) arrays; fit a few thousand rows at most (``meddl.runs.survival_calibration``
    takes a random 3,000).

    Returns:
        ``{"slope", "se", "ci95" (Wald), "lr_statistic", "p_value" (likelihood-ratio test of slope = 1),
        "n", "n_events"}``; NaN values where there is no event or the fit does not converge.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> risk = rng.normal(size=2000)
        >>> time = rng.exponential(1 / np.exp(risk))
        >>> grid = follow_up_event_times(time, np.ones(2000), 2.0)
        >>> too_moderate = np.exp(-grid[None, :] * np.exp(0.5 * risk[:, None]))  # half the true log hazard
        >>> round(calibration_slope_over_follow_up(time, np.ones(2000), too_moderate, grid)["slope"], 1)
        2.0
    """
    time, events = check_survival_target(duration, event)
    times = np.asarray(times, dtype=np.float64)
    predicted = np.asarray(predicted_survival, dtype=np.float64)
    if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) <= 0):
        raise DataError("'times' must be a non-empty ascending 1-D array of distinct times.")
    if predicted.shape != (time.size, times.size):
        raise DataError(f"'predicted_survival' must have shape (n, len(times)) = ({time.size}, {times.size}); "
                        f"got {predicted.shape}.")
    if not np.isfinite(predicted).all() or (predicted < 0).any() or (predicted > 1).any():
        raise DataError("'predicted_survival' must hold probabilities in [0, 1].")
    counted = events & (time <= times[-1])
    missing = np.setdiff1d(time[counted], times)
    if missing.size:
        raise DataError(f"'times' must hold every event time up to {times[-1]:g}; {missing.size} are missing "
                        f"(first {missing[0]:g}). Use follow_up_event_times(duration, event, end).")
    strata = np.zeros(time.size, dtype=np.int64) if strata is None else np.asarray(strata)
    if strata.shape != time.shape:
        raise DataError(f"'strata' must have one label per row ({time.size}); got shape {strata.shape}.")
    covariate = _log_cumulative_hazard(predicted)
    covariate = covariate - covariate.mean(axis=0)  # per time: the coefficient is unchanged, exp() stays in range
    blocks = []  # per stratum, at its event times: at-risk mask, covariate, deaths, the dead rows' covariate sum
    for label in np.unique(strata):
        rows = strata == label
        died = counted[rows][:, None] & (time[rows][:, None] == times[None, :])
        used = died.any(axis=0)
        if used.any():
            at_risk = time[rows][:, None] >= times[None, used]
            z = covariate[rows][:, used]
            blocks.append((at_risk, z, died[:, used].sum(axis=0), (died[:, used] * z).sum(axis=0)))

    def fit_terms(beta: float) -> tuple[float, float, float]:
        log_likelihood = score = information = 0.0
        for a, z, d, event_sum in blocks:
            weight = a * np.exp(np.clip(beta * z, -700, 700))
            s0, s1, s2 = weight.sum(axis=0), (weight * z).sum(axis=0), (weight * z * z).sum(axis=0)
            log_likelihood += float(np.sum(beta * event_sum - d * np.log(s0)))
            score += float(np.sum(event_sum - d * s1 / s0))
            information += float(np.sum(d * (s2 / s0 - (s1 / s0) ** 2)))
        return log_likelihood, score, information

    n_events = int(counted.sum())
    result = {"slope": float("nan"), "se": float("nan"), "ci95": [float("nan"), float("nan")],
              "lr_statistic": float("nan"), "p_value": float("nan"), "n": int(time.size), "n_events": n_events}
    if n_events == 0:
        return result
    beta, converged = 1.0, False
    for _ in range(max_iter):
        _, score, information = fit_terms(beta)
        if not information > 0:
            return result
        step = float(np.clip(score / information, -5.0, 5.0))
        beta += step
        if abs(step) < tol:
            converged = True
            break
    if not converged or not np.isfinite(beta):
        return result
    at_fit, _, information = fit_terms(beta)
    at_one, _, _ = fit_terms(1.0)
    se = float(1.0 / np.sqrt(information))
    statistic = max(0.0, 2.0 * (at_fit - at_one))
    result.update(slope=float(beta), se=se, ci95=[float(beta - 1.959964 * se), float(beta + 1.959964 * se)],
                  lr_statistic=statistic, p_value=float(chi2.sf(statistic, 1)))
    return result
