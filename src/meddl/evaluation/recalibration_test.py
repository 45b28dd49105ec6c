"""Which update do a model's probabilities need on new cases? The closed testing procedure.

A model's risks rarely carry over unchanged to another hospital, period or population
(PneumoniaMNIST's official test split: calibration intercept -2.8 after a map fitted on
its validation split). The standard remedies, in increasing flexibility (Steyerberg,
*Clinical Prediction Models*, ch. 20): keep the model; **recalibration in the large**
(shift every log-odds by one intercept); **logistic recalibration** (new intercept and
slope on the log-odds). Vergouwe et al. (Stat Med 2017, "A closed testing procedure to
select an appropriate method for updating prediction models") choose between them with
likelihood-ratio tests that keep the overall error rate at ``alpha``:

1. logistic recalibration against the model as it is (2 degrees of freedom): not
   significant means no update;
2. otherwise logistic recalibration against recalibration in the large (1 degree of
   freedom): significant means the slope must change too, else the intercept alone.

Probabilities are clipped to ``[1e-6, 1 - 1e-6]`` before the logit, as in the
calibration metrics (:mod:`meddl.evaluation.metrics`).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logit
from scipy.stats import chi2

from meddl.errors import DataError
from meddl.evaluation._kernels import fit_offset_intercept, fit_recalibration
from meddl.validation import binary_labels, binary_scores, check_fraction, check_same_length

__all__ = ["UPDATE_METHODS", "recalibration_test"]

UPDATE_METHODS = ("none", "intercept", "logistic")


def _log_likelihood(y: np.ndarray, log_odds: np.ndarray) -> float:
    # log p = -log(1 + e^-z), log (1 - p) = -log(1 + e^z)
    return float(-np.sum(np.where(y == 1, np.logaddexp(0.0, -log_odds), np.logaddexp(0.0, log_odds))))


def recalibration_test(y_true: object, y_prob: object, *, alpha: float = 0.05) -> dict:
    """The closed testing procedure on labelled cases: which update, if any, their probabilities need.

    Args:
        y_true: 0/1 outcomes of the new cases (both classes present).
        y_prob: the model's probability of the positive class for them.
        alpha: the level of the likelihood-ratio tests.

    Returns:
        A JSON-safe dict: ``recommended`` (one of ``UPDATE_METHODS``), ``reason`` (a sentence),
        ``intercept_update`` (the shift of the log-odds for recalibration in the large),
        ``logistic_update`` (``intercept`` and ``slope`` on the log-odds), ``log_likelihood`` per method,
        ``p_values`` (``any_update``: 2 df; ``slope``: logistic against the intercept alone), ``alpha``, ``n``,
        ``mean_probability`` and ``observed_rate`` (of the positive class).

    Example:
        >>> from scipy.special import expit
        >>> rng = np.random.default_rng(3)
        >>> risk = rng.uniform(0.05, 0.95, 2000)
        >>> y = rng.binomial(1, expit(logit(risk) - 1.0))       # risks too high by one unit of log-odds
        >>> result = recalibration_test(y, risk)
        >>> result["recommended"], round(result["intercept_update"], 1)
        ('intercept', -1.0)
    """
    alpha = check_fraction(alpha, "alpha", "recalibration_test")
    y = binary_labels(y_true)
    prob = binary_scores(y_prob, "y_prob")
    check_same_length(("y_true", y), ("y_prob", prob))
    if y.min() == y.max():
        raise DataError(f"recalibration_test needs cases of both classes; all {y.size} cases have outcome {y[0]}.")
    z = logit(np.clip(prob, 1e-6, 1 - 1e-6))
    ones = np.ones((1, y.size))
    shift = float(fit_offset_intercept(ones, z, y)[0])
    intercept, slope = (float(v[0]) for v in fit_recalibration(ones, z, y))
    if not (np.isfinite(shift) and np.isfinite(intercept) and np.isfinite(slope)):
        raise DataError("recalibration_test could not fit the updates: the probabilities separate the two classes "
                        "of these cases perfectly, so no finite intercept or slope fits them.")
    likelihood = {"none": _log_likelihood(y, z), "intercept": _log_likelihood(y, z + shift),
                  "logistic": _log_likelihood(y, intercept + slope * z)}
    p_any = float(chi2.sf(max(2 * (likelihood["logistic"] - likelihood["none"]), 0.0), 2))
    p_slope = float(chi2.sf(max(2 * (likelihood["logistic"] - likelihood["intercept"]), 0.0), 1))
    if p_any >= alpha:
        recommended = "none"
        reason = (f"the probabilities fit these {y.size} cases: no update is needed (likelihood-ratio test of an "
                  f"intercept and slope update against none, p = {p_any:.3g} >= {alpha:g})")
    elif p_slope < alpha:
        recommended = "logistic"
        reason = (f"the probabilities need a new intercept and slope on these {y.size} cases (any update p = "
                  f"{p_any:.3g}; slope beyond the intercept p = {p_slope:.3g}, both < {alpha:g}): logistic "
                  f"recalibration, log-odds x {slope:.3g} {intercept:+.3g}")
    else:
        recommended = "intercept"
        reason = (f"the probabilities are on average too {'high' if shift < 0 else 'low'} on these {y.size} cases "
                  f"(any update p = {p_any:.3g} < {alpha:g}; a new slope adds nothing, p = {p_slope:.3g}): "
                  f"recalibration in the large, log-odds {shift:+.3g}")
    return {"recommended": recommended, "reason": reason, "intercept_update": shift,
            "logistic_update": {"intercept": intercept, "slope": slope}, "log_likelihood": likelihood,
            "p_values": {"any_update": p_any, "slope": p_slope}, "alpha": alpha, "n": int(y.size),
            "mean_probability": float(prob.mean()), "observed_rate": float(y.mean())}
