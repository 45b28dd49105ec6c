"""Which update do a survival model's curves need on new patients? The closed testing procedure.

A prognostic model's risks rarely carry over unchanged to another hospital or period:
the baseline hazard differs (patients there fare better or worse on the whole), and
its risk factors may weigh less (or more) there. The standard updates, in increasing
flexibility (van Houwelingen, Stat Med 2000; Steyerberg, *Clinical Prediction Models*,
ch. 20), are: keep the model; **rescale the baseline** (every cumulative hazard times
one factor, so that the expected number of events matches the observed one); **rescale
the baseline and the risk** (that factor and a calibration slope on each patient's log
cumulative hazard).

Each is a Poisson model of a patient's event indicator ``d`` with the predicted
cumulative hazard over his follow-up ``H`` (to the end of the horizon, ``end``) as
its mean (Crowson, Atkinson & Therneau, Stat Methods Med Res 2016):

* no update: ``log mu = log H``;
* baseline: ``log mu = a + log H``; ``exp(a)`` is observed / expected events;
* baseline and slope: ``log mu = a + log H + (b - 1) (r - mean r)``, with ``r`` the
  patient's log cumulative hazard at ``end``: a proportional-hazards model's
  log-risk plus a constant, so ``b`` is the calibration slope of the risk.

The choice between them is Vergouwe et al.'s closed testing procedure (Stat Med 2017),
as for a two-class model (:func:`meddl.evaluation.recalibration_test`): first the most
flexible update against none (2 degrees of freedom), then against the baseline alone
(1 degree of freedom), each a likelihood-ratio test at ``alpha``.

Example:
    >>> rng = np.random.default_rng(0)
    >>> risk = rng.normal(size=3000)
    >>> time = rng.exponential(1 / np.exp(risk - 0.5))    # the true hazard: exp(risk - 0.5)
    >>> follow_up = np.minimum(time, 1.0)
    >>> result = survival_recalibration_test(time, np.ones(3000), np.exp(-follow_up * np.exp(risk)),
    ...                                      np.exp(-np.exp(risk)), end=1.0)
    >>> result["recommended"], round(result["observed_expected"]["ratio"], 1)
    ('baseline', 0.6)
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from meddl.errors import DataError
from meddl.survival._checks import check_survival_target
from meddl.survival.calibration import _log_cumulative_hazard
from meddl.validation import check_fraction

__all__ = ["SURVIVAL_UPDATES", "survival_recalibration_test"]

SURVIVAL_UPDATES = ("none", "baseline", "slope")

def _log_hazard(survival, name: str, n: int) -> np.ndarray:
    """``log(-log S)`` of one survival probability per patient, checked (0 and 1 moved in by a float)."""
    values = np.asarray(survival, dtype=np.float64).reshape(-1)
    if values.size != n:
        raise DataError(f"'{name}' must hold one survival probability per patient ({n}); it holds {values.size}.")
    if not np.all(np.isfinite(values) & (values >= 0) & (values <= 1)):
        raise DataError(f"'{name}' must hold survival probabilities in [0, 1]; "
                        f"{int((~(np.isfinite(values) & (values >= 0) & (values <= 1))).sum())} values are not.")
    return _log_cumulative_hazard(values)


def _poisson_log_likelihood(d: np.ndarray, log_mu: np.ndarray) -> float:
    # without the constant -log(d!), which is 0 for a 0/1 event indicator
    return float(np.sum(d * log_mu - np.exp(log_mu)))


def _fit_baseline_and_slope(d: np.ndarray, log_h: np.ndarray, r: np.ndarray, max_iter: int = 100,
                            tol: float = 1e-10) -> tuple[float, float, np.ndarray]:
    """Newton's method for ``log mu = a + log H + c r``; returns ``(a, c, covariance)``."""
    a, c = np.log(max(d.sum(), 0.5) / np.exp(log_h).sum()), 0.0
    design = np.column_stack([np.ones_like(r), r])
    information = np.eye(2)
    for _ in range(max_iter):
        mu = np.exp(np.clip(a + log_h + c * r, -700, 700))
        score = design.T @ (d - mu)
        information = design.T @ (design * mu[:, None])
        try:
            step = np.linalg.solve(information, score)
        except np.linalg.LinAlgError:
            return float("nan"), float("nan"), np.full((2, 2), np.nan)
        a, c = a + float(np.clip(step[0], -5, 5)), c + float(np.clip(step[1], -5, 5))
        if np.max(np.abs(step)) < tol:
            break
    else:
        return float("nan"), float("nan"), np.full((2, 2), np.nan)
    return a, c, np.linalg.inv(information)


def survival_recalibration_test(duration, event, survival_at_follow_up, survival_at_end, *, end: float,
                                alpha: float = 0.05) -> dict:
    """Which update (none, the baseline, the baseline and slope) predictions need on these patients.

    Args:
        duration, event: the patients' follow-up times and 0/1 events; follow-up is cut at ``end``
            (an event after ``end`` counts as censored there).
        survival_at_follow_up: each patient's predicted survival at ``min(duration, end)``.
        survival_at_end: each patient's predicted survival at ``end``.
        end: the last time the predictions are used at (a run's last horizon).
        alpha: the level of the likelihood-ratio tests.

    Returns:
        ``recommended`` (one of :data:`SURVIVAL_UPDATES`; ``"slope"`` means the baseline and the slope),
        ``reason`` (a sentence), ``observed_expected`` (events observed and expected by the model, their
        ratio with an exact 95% CI: the baseline update's factor), ``slope_update`` (``factor`` on the
        cumulative hazard at the mean risk, ``slope`` with a 95% Wald CI, ``mean_log_hazard_at_end``),
        the three log-likelihoods, the two p-values, ``alpha``, ``n`` and ``end``.

    Raises:
        DataError: no event before ``end``, inputs of different lengths or not probabilities.
    """
    alpha = check_fraction(alpha, "alpha", "survival_recalibration_test")
    durations, events = check_survival_target(duration, event)
    if not (np.isfinite(end) and end > 0):
        raise DataError(f"'end' must be a positive time; got {end!r}.")
    n = durations.size
    log_h = _log_hazard(survival_at_follow_up, "survival_at_follow_up", n)
    r = _log_hazard(survival_at_end, "survival_at_end", n)
    d = (events.astype(bool) & (durations <= end)).astype(np.float64)
    observed = int(d.sum())
    if observed == 0:
        raise DataError(f"survival_recalibration_test needs events before the end of follow-up ({end:g}); none of "
                        f"the {n} patients has one.")
    expected = float(np.exp(log_h).sum())
    shift = float(np.log(observed / expected))
    r_mean = float(r.mean())
    a, c, covariance = _fit_baseline_and_slope(d, log_h, r - r_mean)
    if not (np.isfinite(a) and np.isfinite(c)):
        raise DataError("survival_recalibration_test could not fit the baseline and slope update on these patients "
                        "(the fit did not converge).")
    likelihood = {"none": _poisson_log_likelihood(d, log_h), "baseline": _poisson_log_likelihood(d, shift + log_h),
                  "slope": _poisson_log_likelihood(d, a + log_h + c * (r - r_mean))}
    p_any = float(chi2.sf(max(2 * (likelihood["slope"] - likelihood["none"]), 0.0), 2))
    p_slope = float(chi2.sf(max(2 * (likelihood["slope"] - likelihood["baseline"]), 0.0), 1))
    slope = 1.0 + c
    slope_se = float(np.sqrt(covariance[1, 1]))
    ratio_ci = [float(chi2.ppf(0.025, 2 * observed) / (2 * expected)),
                float(chi2.ppf(0.975, 2 * observed + 2) / (2 * expected))]
    ratio = observed / expected
    words = (f"{observed} events observed against {expected:.1f} expected by {end:g} (observed / expected "
             f"{ratio:.2f} [{ratio_ci[0]:.2f}, {ratio_ci[1]:.2f}])")
    if p_any >= alpha:
        recommended = "none"
        reason = (f"the predicted curves fit these {n} patients: no update is needed ({words}; likelihood-ratio test "
                  f"of a baseline and slope update against none, p = {p_any:.3g} >= {alpha:g})")
    elif p_slope < alpha:
        recommended = "slope"
        reason = (f"the predicted curves need a new baseline and slope on these {n} patients (any update p = "
                  f"{p_any:.3g}; slope beyond the baseline p = {p_slope:.3g}, both < {alpha:g}): risk slope "
                  f"{slope:.3g}, {words}")
    else:
        recommended = "baseline"
        reason = (f"the predicted risks are on average too {'high' if ratio < 1 else 'low'} on these {n} patients "
                  f"(any update p = {p_any:.3g} < {alpha:g}; a new slope adds nothing, p = {p_slope:.3g}): "
                  f"baseline hazard x {ratio:.3g}, {words}")
    return {"recommended": recommended, "reason": reason,
            "observed_expected": {"observed": observed, "expected": expected, "ratio": ratio, "ci95": ratio_ci},
            "slope_update": {"factor": float(np.exp(a)), "slope": slope,
                             "ci95": [slope - 1.959964 * slope_se, slope + 1.959964 * slope_se],
                             "mean_log_hazard_at_end": r_mean},
            "log_likelihood": likelihood, "p_values": {"any_update": p_any, "slope": p_slope}, "alpha": alpha,
            "n": int(n), "end": float(end)}
