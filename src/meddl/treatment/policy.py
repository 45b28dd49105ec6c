"""Doubly robust (AIPW) estimates: the average treatment effect and the value of a policy.

The outcome models μ0, μ1 and the propensity e are *cross-fitted*: each patient's
nuisances come from models fitted on the other folds (Chernozhukov et al. 2018),
so the estimates stay unbiased with flexible models. Per patient,

    ψ_ATE = μ1 − μ0 + t (y − μ1) / e − (1 − t) (y − μ0) / (1 − e)
    ψ_π   = π μ1 + (1 − π) μ0 + π t (y − μ1) / e + (1 − π)(1 − t)(y − μ0) / (1 − e)

for a policy π(x) ∈ {0, 1}. The estimate is the mean of ψ and its standard error
sd(ψ)/√n (the influence-function variance); the 95% interval is ±1.96 SE. The
estimate is consistent when either the outcome models or the propensity model is
right. The propensity is clipped to [clip, 1 − clip] to bound the weights.

Evaluate a learned recommendation on patients the effect model was not fitted on;
on its own training data the value is optimistic.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from meddl.errors import ConfigError, DataError
from meddl.treatment._checks import check_min_per_arm, check_xty, resolve_outcome_type
from meddl.treatment.meta_learners import TLearner
from meddl.treatment.propensity import PropensityModel

__all__ = ["Nuisances", "cross_fit_nuisances", "aipw_ate", "policy_values"]


class Nuisances(NamedTuple):
    """Cross-fitted nuisance predictions, one entry per patient."""

    mu0: np.ndarray
    mu1: np.ndarray
    propensity: np.ndarray


def _check_folds(n_folds: Any, t: np.ndarray, owner: str) -> int:
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ConfigError(f"The 'n_folds' parameter of {owner} must be an int in the range [2, inf). Got {n_folds!r} instead.")
    check_min_per_arm(t, 2 * int(n_folds), owner)
    return int(n_folds)


def _check_clip(clip: Any, owner: str) -> float:
    if isinstance(clip, bool) or not isinstance(clip, (int, float, np.floating)) or not 0 <= clip < 0.5:
        raise ConfigError(f"The 'clip' parameter of {owner} must be a float in the range [0, 0.5). Got {clip!r} instead.")
    return float(clip)


def cross_fit_nuisances(x: Any, t: Any, y: Any, *, outcome_model: Any = None, propensity_model: Any = None,
                        n_folds: int = 5, random_state: int | None = 0) -> Nuisances:
    """Out-of-fold μ0(x), μ1(x) (a T-learner of ``outcome_model``) and e(x) (a :class:`PropensityModel`).

    Args:
        outcome_model: regressor (or classifier, for a 0/1 outcome) fitted per arm; default
            ``StandardScaler`` + ``RidgeCV`` (continuous) or logistic regression (binary ``y``).
        propensity_model: classifier for P(t = 1 | x); default standardised logistic regression.
        n_folds: number of cross-fitting folds (stratified by arm).
        random_state: seed of the fold assignment.
    """
    x, t, y = check_xty(x, t, y)
    n_folds = _check_folds(n_folds, t, "cross_fit_nuisances")
    if outcome_model is None:
        binary = resolve_outcome_type("auto", y, "cross_fit_nuisances") == "binary"
        outcome_model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000) if binary else RidgeCV())
    mu = np.empty((len(x), 2))
    propensity = np.empty(len(x))
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    for train, held_out in folds.split(x, t):
        mu[held_out] = TLearner(outcome_model).fit(x[train], t[train], y[train]).predict_outcomes(x[held_out])
        model = PropensityModel(propensity_model).fit(x[train], t[train])
        propensity[held_out] = model.predict_propensity(x[held_out])
    return Nuisances(mu[:, 0], mu[:, 1], propensity)


def _nuisances(x, t, y, nuisances, outcome_model, propensity_model, n_folds, random_state) -> Nuisances:
    if nuisances is None:
        return cross_fit_nuisances(x, t, y, outcome_model=outcome_model, propensity_model=propensity_model,
                                   n_folds=n_folds, random_state=random_state)
    if not isinstance(nuisances, Nuisances) or any(len(part) != len(y) for part in nuisances):
        raise DataError("'nuisances' must be the Nuisances returned by cross_fit_nuisances for the same patients "
                        f"({len(y)}).")
    return nuisances


def _summary(psi: np.ndarray) -> dict[str, Any]:
    """Mean, influence-function SE and normal 95% interval, as JSON-safe floats."""
    value = float(psi.mean())
    se = float(psi.std(ddof=1) / np.sqrt(len(psi)))
    z = float(norm.ppf(0.975))
    return {"value": value, "ci95": [value - z * se, value + z * se], "se": se}


def aipw_ate(x: Any, t: Any, y: Any, *, outcome_model: Any = None, propensity_model: Any = None,
             n_folds: int = 5, clip: float = 0.01, random_state: int | None = 0,
             nuisances: Nuisances | None = None) -> dict[str, Any]:
    """Average treatment effect E[Y(1) − Y(0)] by cross-fitted AIPW, with a 95% CI.

    Returns:
        ``{"value": ATE, "ci95": [lo, hi], "se": SE, "n": N}``.

    Example:
        >>> from meddl.treatment import aipw_ate
        >>> aipw_ate(x, t, y)["ci95"]  # doctest: +SKIP
    """
    x, t, y = check_xty(x, t, y)
    clip = _check_clip(clip, "aipw_ate")
    mu0, mu1, e = _nuisances(x, t, y, nuisances, outcome_model, propensity_model, n_folds, random_state)
    e = np.clip(e, clip, 1.0 - clip)
    psi = mu1 - mu0 + t * (y - mu1) / e - (1 - t) * (y - mu0) / (1.0 - e)
    return {**_summary(psi), "n": int(len(y))}


def _policy_array(policy: Any, n: int) -> np.ndarray:
    """0/1 per patient, NaN = no recommendation (usual care); accepts 'treated'/'control'/None too."""
    values = np.asarray(policy, dtype=object).reshape(-1)
    if len(values) != n:
        raise DataError(f"'x' and 'policy' must have the same number of samples; got {n} and {len(values)}.")
    mapping = {"treated": 1.0, "control": 0.0, None: np.nan}
    out = np.empty(n)
    for i, value in enumerate(values):
        if isinstance(value, str) or value is None:
            if value not in mapping:
                raise DataError(f"'policy' values must be 0/1, 'treated'/'control' or None/NaN (no recommendation); "
                                f"got {value!r} at index {i}.")
            out[i] = mapping[value]
        else:
            number = float(value)
            if not (np.isnan(number) or number in (0.0, 1.0)):
                raise DataError(f"'policy' values must be 0/1, 'treated'/'control' or None/NaN (no recommendation); "
                                f"got {value!r} at index {i}.")
            out[i] = number
    return out


def policy_values(x: Any, t: Any, y: Any, policy: Any, *, outcome_model: Any = None, propensity_model: Any = None,
                  n_folds: int = 5, clip: float = 0.01, random_state: int | None = 0,
                  nuisances: Nuisances | None = None) -> dict[str, Any]:
    """Doubly robust mean outcome of "treat as recommended" vs treat-all vs treat-none, with 95% CIs.

    Args:
        policy: the recommended arm per patient: 1/0, ``"treated"``/``"control"``, or
            NaN/``None`` for no recommendation — those patients keep their usual care (the
            treatment they received), so they contribute their observed outcome. The
            ``recommended_arm`` column of :func:`recommend` can be passed as is.

    Returns:
        ``{"as_recommended", "treat_all", "treat_none", "as_recommended_minus_treat_all",
        "as_recommended_minus_treat_none"}``, each ``{"value", "ci95", "se"}``, plus
        ``"n"`` and ``"n_without_recommendation"``. Differences use paired influence
        functions, so their intervals account for the shared patients.
    """
    x, t, y = check_xty(x, t, y)
    clip = _check_clip(clip, "policy_values")
    arms = _policy_array(policy, len(y))
    mu0, mu1, e = _nuisances(x, t, y, nuisances, outcome_model, propensity_model, n_folds, random_state)
    e = np.clip(e, clip, 1.0 - clip)
    psi_treated = mu1 + t * (y - mu1) / e
    psi_control = mu0 + (1 - t) * (y - mu0) / (1.0 - e)
    withheld = np.isnan(arms)
    psi_recommended = np.where(withheld, y, np.where(arms == 1, psi_treated, psi_control))
    return {
        "as_recommended": _summary(psi_recommended),
        "treat_all": _summary(psi_treated),
        "treat_none": _summary(psi_control),
        "as_recommended_minus_treat_all": _summary(psi_recommended - psi_treated),
        "as_recommended_minus_treat_none": _summary(psi_recommended - psi_control),
        "n": int(len(y)),
        "n_without_recommendation": int(withheld.sum()),
    }
