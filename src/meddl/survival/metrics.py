"""Survival metrics with bootstrap confidence intervals, in meddl's ``metrics.json`` shape.

Point values come from scikit-survival (``concordance_index_censored``,
``concordance_index_ipcw``, ``cumulative_dynamic_auc``, ``integrated_brier_score``);
this module makes their inputs right:

* the censoring distribution for the IPCW metrics is the Kaplan–Meier of the
  *training* censoring times when ``train`` is given (else of the test data, noted);
* IPCW needs G(t) > 0 and t within the training follow-up: Uno's C is truncated
  at ``tau`` and horizons / the Brier grid are clipped to the usable test range,
  each with a ``note`` in its entry; test events after the last horizon are
  treated as censored for the AUC and test times after the Brier grid are capped
  (neither changes the value; it only keeps G(T) from being evaluated where it is undefined);
* a metric that cannot be computed (all censored, no case or control at a
  horizon, ...) gets ``value: None`` and a ``reason`` instead of an exception.

Confidence intervals: percentile bootstrap (default 1000 resamples, seeded),
resampling test rows with :func:`meddl.evaluation.bootstrap.iter_bootstrap_weights`;
every resample is evaluated at once by the weighted kernels of
:mod:`meddl.survival._weighted`, with the censoring weights held fixed.

Example:
    >>> import numpy as np
    >>> from meddl.survival.metrics import survival_metrics
    >>> rng = np.random.default_rng(0)
    >>> risk = rng.normal(size=200)
    >>> time = rng.exponential(np.exp(-risk))
    >>> out = survival_metrics(time, np.ones(200), risk, n_resamples=200)
    >>> out["c_index"]["value"] > 0.6, len(out["c_index"]["ci95"])
    (True, 2)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from meddl.errors import DataError
from meddl.survival import _weighted
from meddl.survival._checks import check_survival_target, check_times
from meddl.survival._target import (
    Target,
    auc_events,
    brier_grid,
    capped_test_times,
    risk_vector,
    uno_tau,
    usable_horizon,
)
from meddl.survival.calibration import calibration_error_resampled, calibration_slope, calibration_table
from meddl.evaluation.bootstrap import iter_bootstrap_weights

__all__ = [
    "harrell_c_index",
    "uno_c_index",
    "time_dependent_auc",
    "integrated_brier_score",
    "default_horizons",
    "survival_metrics",
    "evaluate_survival_model",
]

MIN_SAMPLES = 10
MAX_UNDEFINED = 0.1


def _undefined(reason: str) -> dict:
    return {"value": None, "ci95": None, "reason": reason}


# -- single metrics (point values, scikit-survival) ----------------------------------------------
def harrell_c_index(duration, event, risk) -> float:
    """Harrell's concordance index (scikit-survival's ``concordance_index_censored``); higher risk = earlier event.

    Raises:
        DataError: all samples censored, or no comparable pair.
    """
    from sksurv.metrics import concordance_index_censored

    time, events = check_survival_target(duration, event)
    scores = risk_vector(risk, time.size)
    if not events.any():
        raise DataError("Harrell's C-index is undefined: all samples are censored.")
    try:
        return float(concordance_index_censored(events, time, scores)[0])
    except Exception as exc:  # NoComparablePairException and friends
        raise DataError(f"Harrell's C-index is undefined: {exc}") from None


def uno_c_index(duration, event, risk, *, train=None, tau: float | None = None) -> float:
    """Uno's IPCW concordance index (scikit-survival's ``concordance_index_ipcw``), truncated at ``tau``.

    Args:
        train: ``(train_duration, train_event)`` to estimate the censoring distribution (recommended).
        tau: truncation time; lowered automatically to where the censoring distribution is estimable.
    """
    from sksurv.metrics import concordance_index_ipcw

    target = Target(duration, event, train)
    scores = risk_vector(risk, target.n)
    tau, _ = uno_tau(target, tau)
    if not (target.event & (target.time < (np.inf if tau is None else tau))).any():
        raise DataError("Uno's C-index is undefined: no event before tau (all samples censored).")
    try:
        return float(concordance_index_ipcw(target.structured(target.train_time, target.train_event),
                                            target.structured(), scores, tau=tau)[0])
    except Exception as exc:
        raise DataError(f"Uno's C-index is undefined: {exc}") from None


def time_dependent_auc(duration, event, risk_at_horizon, horizon: float, *, train=None) -> float:
    """Cumulative/dynamic AUROC at ``horizon`` (scikit-survival's ``cumulative_dynamic_auc``).

    ``risk_at_horizon``: a risk score (e.g. η) or the event probability ``1 − S(horizon | x)``.
    The horizon must lie within the test follow-up (see :func:`survival_metrics` for automatic clipping).
    """
    target = Target(duration, event, train)
    scores = risk_vector(risk_at_horizon, target.n, "risk_at_horizon")
    return _auc_point(target, scores, float(horizon))


def _auc_point(target: Target, scores: np.ndarray, horizon: float) -> float:
    from sksurv.metrics import cumulative_dynamic_auc

    events = auc_events(target, horizon)
    if not events.any():
        raise DataError(f"The AUROC at {horizon:g} is undefined: no event by that time.")
    if not (target.time > horizon).any():
        raise DataError(f"The AUROC at {horizon:g} is undefined: nobody is still at risk after it.")
    try:
        scores_auc, _ = cumulative_dynamic_auc(target.structured(target.train_time, target.train_event),
                                               target.structured(event=events), scores, [horizon])
    except Exception as exc:
        raise DataError(f"The AUROC at {horizon:g} is undefined: {exc}") from None
    return float(scores_auc[0])


def integrated_brier_score(duration, event, survival, times, *, train=None) -> float:
    """Integrated IPCW Brier score over ``times`` (scikit-survival's ``integrated_brier_score``).

    Args:
        survival: predicted S(t | x) at ``times``, shape (n, len(times)).
        times: increasing time points within the test follow-up.
    """
    from sksurv.metrics import integrated_brier_score as sksurv_ibs

    target = Target(duration, event, train)
    times = check_times(times)
    curves = np.asarray(survival, dtype=np.float64)
    if curves.shape != (target.n, times.size):
        raise DataError(f"'survival' must have shape (n_samples, len(times)) = ({target.n}, {times.size}); "
                        f"got {curves.shape}.")
    try:
        return float(sksurv_ibs(target.structured(target.train_time, target.train_event),
                                target.structured(capped_test_times(target, times)), curves, times))
    except Exception as exc:
        raise DataError(f"The integrated Brier score is undefined: {exc}") from None


def default_horizons(duration, event, quantiles: Sequence[float] = (0.25, 0.5, 0.75)) -> np.ndarray:
    """Horizons at quantiles of the event times (the usual 'early / middle / late' clinical horizons)."""
    time, events = check_survival_target(duration, event)
    if not events.any():
        raise DataError("Cannot choose horizons: 'event' has no events (all samples are censored).")
    return np.quantile(time[events], quantiles)


# -- bootstrap ------------------------------------------------------------------------------
def _interval(values: np.ndarray) -> tuple[list[float] | None, str | None]:
    undefined = int(np.count_nonzero(~np.isfinite(values)))
    if undefined > MAX_UNDEFINED * values.size:
        return None, (f"undefined in {undefined} of {values.size} bootstrap resamples (more than "
                      f"{MAX_UNDEFINED:.0%}): too few events for a stable interval.")
    lo, hi = np.percentile(values[np.isfinite(values)], [2.5, 97.5])
    return [float(lo), float(hi)], None


def _entry(value: float | None, resampled: Callable[[np.ndarray], np.ndarray] | None, blocks: list[np.ndarray] | None,
           note: str | None = None) -> dict:
    entry: dict = {"value": None if value is None or not np.isfinite(value) else float(value)}
    if blocks is None or resampled is None:
        entry["ci95"] = None
        entry["reason"] = f"fewer than {MIN_SAMPLES} samples: no bootstrap interval."
    elif not blocks:  # n_resamples=0: point values only (e.g. tuning trials)
        entry["ci95"] = None
        entry["reason"] = "no bootstrap resamples asked for (n_resamples=0)."
    else:
        entry["ci95"], reason = _interval(np.concatenate([resampled(w) for w in blocks]))
        if reason:
            entry["reason"] = reason
    if note:
        entry["note"] = note
    return entry


def _guard(name: str, results: dict, compute: Callable[[], dict]) -> None:
    try:
        results[name] = compute()
    except DataError as exc:
        results[name] = _undefined(str(exc))


def survival_metrics(duration, event, risk, *, survival: Callable[[np.ndarray], np.ndarray] | None = None,
                     horizons: Sequence[float] | None = None, train=None, brier_times: Sequence[float] | None = None,
                     tau: float | None = None, calibration_bins: int = 10, n_resamples: int = 1000,
                     seed: int = 0) -> dict[str, dict]:
    """Discrimination and calibration metrics of a survival model on test data, with 95% bootstrap CIs.

    Args:
        duration, event: test times and 0/1 events.
        risk: predicted risk score per sample (higher = earlier event), e.g. ``model.predict_risk(x)``.
        survival: ``times -> S(times | x)`` of shape (n, len(times)), e.g.
            ``lambda t: model.predict_survival(x, t)``; needed for the Brier score, calibration, and the
            time-dependent AUROC of non-proportional-hazards models (else ``risk`` ranks at every horizon).
        horizons: clinical horizons for the AUROC and calibration (default: event-time quartiles).
        train: ``(train_duration, train_event)`` for the censoring distribution of the IPCW metrics.
        brier_times: grid of the integrated Brier score (default: 100 points from the first test time to the
            90th percentile of test follow-up, within the training follow-up).
        tau: truncation time of Uno's C-index.
        calibration_bins: risk groups (deciles by default) for the calibration error.
        n_resamples, seed: bootstrap resamples and their seed.

    Returns:
        ``{name: {"value": float | None, "ci95": [lo, hi] | None, "reason"?: str, "note"?: str,
        "evaluated_at"?: float}}`` (``evaluated_at``: the time a horizon was clipped to, inside the follow-up) with names
        ``c_index`` (Harrell), ``uno_c_index``, ``auroc@<h>``, ``calibration_error@<h>`` and
        ``calibration_slope@<h>`` (per horizon; :func:`meddl.survival.calibration.calibration_slope`) and
        ``integrated_brier_score``.
    """
    # The bootstrap multiplies many small matrices: one BLAS thread is fastest and, on a busy
    # machine, avoids oversubscription that made it 100x slower (measured on 2 shared cores).
    with threadpool_limits(limits=1, user_api="blas"):
        return _survival_metrics(duration, event, risk, survival, horizons, train, brier_times, tau,
                                 calibration_bins, n_resamples, seed)


def _survival_metrics(duration, event, risk, survival, horizons, train, brier_times, tau, calibration_bins,
                      n_resamples, seed) -> dict[str, dict]:
    target = Target(duration, event, train)
    scores = risk_vector(risk, target.n)
    n_resamples = int(n_resamples)
    blocks = None
    if target.n >= MIN_SAMPLES:
        blocks = list(iter_bootstrap_weights(target.n, n_resamples=n_resamples, seed=seed))
    results: dict[str, dict] = {}
    if not target.event.any():
        reason = "all samples are censored: no event to evaluate."
        names = ["c_index", "uno_c_index", "integrated_brier_score"]
        for horizon in (horizons if horizons is not None else []):
            names += [f"auroc@{horizon:g}", f"calibration_error@{horizon:g}", f"calibration_slope@{horizon:g}"]
        return {name: _undefined(reason) for name in names}
    ones = np.ones(target.n)

    def harrell():
        value = harrell_c_index(target.time, target.event, scores)
        return _entry(value, lambda w: _weighted.weighted_concordance(target.time, target.event, scores, ones, w),
                      blocks)

    def uno():
        from sksurv.metrics import concordance_index_ipcw

        tau_used, note = uno_tau(target, tau)
        mask = target.time < (np.inf if tau_used is None else tau_used)
        if not (target.event & mask).any():
            raise DataError("Uno's C-index is undefined: no event before tau.")
        try:
            value = concordance_index_ipcw(target.structured(target.train_time, target.train_event),
                                           target.structured(), scores, tau=tau_used)[0]
        except Exception as exc:
            raise DataError(f"Uno's C-index is undefined: {exc}") from None
        ipcw = np.zeros(target.n)
        ipcw[mask] = target.censoring.predict_ipcw(target.structured()[mask])
        notes = "; ".join(n for n in (note, target.censoring_note) if n) or None
        return _entry(value, lambda w: _weighted.weighted_concordance(target.time, target.event, scores,
                                                                       np.square(ipcw), w), blocks, notes)

    _guard("c_index", results, harrell)
    _guard("uno_c_index", results, uno)

    if horizons is None:
        horizons = default_horizons(target.time, target.event)
    horizons = check_times(horizons, "horizons")
    at = None if survival is None else _survival_at(survival)
    for horizon in horizons:
        _guard(f"auroc@{horizon:g}", results, lambda h=horizon: _auc_entry(target, scores, at, h, blocks))
        if at is not None:
            _guard(f"calibration_error@{horizon:g}", results,
                   lambda h=horizon: _calibration_entry(target, at, h, calibration_bins, blocks))
            _guard(f"calibration_slope@{horizon:g}", results, lambda h=horizon: _slope_entry(target, at, h, blocks))
    if survival is not None:
        _guard("integrated_brier_score", results, lambda: _brier_entry(target, survival, brier_times, blocks))
    else:
        results["integrated_brier_score"] = _undefined("no survival curves given ('survival' is None).")
    return results


def _survival_at(survival: Callable[[np.ndarray], np.ndarray]) -> Callable[[float], np.ndarray]:
    """``horizon -> S(horizon | x)`` (n,), computed once per horizon for the AUROC, calibration error and slope."""
    return functools.cache(lambda horizon: np.asarray(survival(np.array([horizon])))[:, 0])


def _auc_entry(target: Target, scores: np.ndarray, at, horizon: float, blocks) -> dict:
    used, note = usable_horizon(target, horizon)
    if used is None:
        raise DataError(f"The AUROC at {horizon:g} is undefined: {note}.")
    risk_at = scores if at is None else 1.0 - at(used)
    value = _auc_point(target, risk_at, used)
    events = auc_events(target, used)
    ipcw = target.censoring.predict_ipcw(target.structured(event=events))
    notes = "; ".join(n for n in (note, target.censoring_note) if n) or None
    return _at_horizon(_entry(value, lambda w: _weighted.weighted_dynamic_auc(target.time, events, risk_at, ipcw,
                                                                              used, w), blocks, notes),
                       horizon, used)


def _at_horizon(entry: dict, horizon: float, used: float) -> dict:
    """``evaluated_at``: the time a horizon's figure was taken at, when the follow-up made it clip the horizon."""
    if used != horizon:
        entry["evaluated_at"] = float(used)
    return entry


def _calibration_entry(target: Target, at, horizon: float, n_bins: int, blocks) -> dict:
    used, note = usable_horizon(target, horizon)
    if used is None:
        raise DataError(f"The calibration at {horizon:g} is undefined: {note}.")
    predicted = at(used)
    table = calibration_table(target.time, target.event, predicted, used, n_bins=n_bins)
    bias = ("percentile bootstrap of an absolute error: resamples add noise to every group, so the interval "
            "can lie above the point value")
    return _at_horizon(_entry(table["calibration_error"],
                              lambda w: calibration_error_resampled(target.time, target.event, predicted, used,
                                                                    n_bins, w),
                              blocks, "; ".join(n for n in (note, bias) if n)), horizon, used)


def _slope_entry(target: Target, at, horizon: float, blocks) -> dict:
    used, note = usable_horizon(target, horizon)
    if used is None:
        raise DataError(f"The calibration slope at {horizon:g} is undefined: {note}.")
    predicted = at(used)
    value = calibration_slope(target.time, target.event, predicted, used)[0]
    return _at_horizon(_entry(value, lambda w: calibration_slope(target.time, target.event, predicted, used, w),
                              blocks, note), horizon, used)


def _brier_entry(target: Target, survival, brier_times, blocks) -> dict:
    grid, note = brier_grid(target, None if brier_times is None else check_times(brier_times, "brier_times"))
    curves = np.asarray(survival(grid), dtype=np.float64)
    capped = capped_test_times(target, grid)
    value = integrated_brier_score(capped, target.event, curves, grid, train=(target.train_time, target.train_event))
    at_time = target.censoring_survival(capped)
    at_grid = target.censoring_survival(grid)

    def resampled(w):
        curves_b = _weighted.weighted_brier_curves(capped, target.event, curves, grid, at_time, at_grid, w)
        return np.trapezoid(curves_b, grid, axis=1) / (grid[-1] - grid[0])

    notes = "; ".join(n for n in (note, target.censoring_note) if n) or None
    return _entry(value, resampled, blocks, notes)


def evaluate_survival_model(model, x, duration, event, *, train=None, horizons: Sequence[float] | None = None,
                            n_resamples: int = 1000, seed: int = 0, **options) -> dict[str, dict]:
    """:func:`survival_metrics` of a fitted meddl survival model (or ensemble) on ``(x, duration, event)``.

    Example:
        >>> metrics = evaluate_survival_model(model, x_test, t_test, e_test, train=(t_train, e_train))  # doctest: +SKIP
    """
    return survival_metrics(duration, event, model.predict_risk(x), survival=lambda t: model.predict_survival(x, t),
                            horizons=horizons, train=train, n_resamples=n_resamples, seed=seed, **options)
