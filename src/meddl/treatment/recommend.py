"""Per-patient treatment recommendations, with the overlap rule applied.

The recommended arm is the one with the better predicted outcome (``higher_is_better``
says which direction is better); treatment is recommended only when its expected
benefit exceeds ``min_benefit`` (ties go to control: a treatment must earn its
burden). A patient outside the data's support (propensity outside
``[lower, upper]``) gets no recommendation at all.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from meddl.errors import ConfigError
from meddl.treatment._checks import check_features, check_probabilities
from meddl.treatment.propensity import DEFAULT_SUPPORT, NO_SUPPORT, overlap_mask

__all__ = ["recommend", "RECOMMENDATION_COLUMNS"]

RECOMMENDATION_COLUMNS = ("outcome_if_control", "outcome_if_treated", "effect", "effect_lower", "effect_upper",
                          "propensity", "in_support", "recommended_arm", "expected_benefit", "recommendation")


def _propensity(estimator: Any, x: np.ndarray, propensity: Any) -> np.ndarray:
    if propensity is None:
        if not hasattr(estimator, "predict_propensity"):
            raise ConfigError(f"recommend needs propensities for the overlap rule, and {type(estimator).__name__} does "
                              "not estimate them. Pass propensity=PropensityModel().fit(x_train, t_train) "
                              "(or an array of P(treated | x)).")
        values = estimator.predict_propensity(x)
    elif hasattr(propensity, "predict_propensity"):
        values = propensity.predict_propensity(x)
    else:
        values = propensity
    return check_probabilities(values, "propensity", len(x))


def recommend(estimator: Any, x: Any, *, propensity: Any = None, higher_is_better: bool = True,
              min_benefit: float = 0.0, lower: float = DEFAULT_SUPPORT[0], upper: float = DEFAULT_SUPPORT[1],
              index: Any = None) -> pd.DataFrame:
    """One row per patient: predicted outcomes, effect with interval, recommended arm and benefit.

    Args:
        estimator: a fitted effect estimator (``predict_outcomes`` and ``predict_effect``;
            ``predict_effect_interval`` is used when present, e.g. :class:`EffectEnsemble`).
        x: covariates of the patients, (N, d).
        propensity: a fitted model with ``predict_propensity`` (e.g. :class:`PropensityModel`),
            or an array of P(treated | x); ``None`` uses the estimator's own propensity
            (Dragonnet, XLearner) and fails for estimators without one.
        higher_is_better: ``True`` when a larger outcome is better (e.g. survival, a score),
            ``False`` when smaller is better (e.g. risk of death, a log-hazard).
        min_benefit: treatment is recommended only when its expected benefit exceeds this
            (in outcome units); otherwise control.
        lower, upper: the support bounds of the overlap rule.
        index: index of the returned frame (e.g. patient ids); default 0..N-1.

    Returns:
        A DataFrame with the columns :data:`RECOMMENDATION_COLUMNS`:
        ``outcome_if_control``/``outcome_if_treated`` (predicted outcome under each arm),
        ``effect`` (treated − control) and its interval ``effect_lower``/``effect_upper``
        (NaN without one), ``propensity``, ``in_support``, ``recommended_arm``
        (``"treated"``/``"control"``, or ``None`` when withheld), ``expected_benefit``
        (how much better the recommended arm's predicted outcome is than the other's; ≥ 0
        except when control is recommended because treatment's benefit is below
        ``min_benefit``; NaN when withheld) and ``recommendation`` (the arm, or ``"no recommendation: outside the
        data's support"``).

    Example:
        >>> from meddl.treatment import PropensityModel, TLearner, recommend
        >>> table = recommend(model, x_new, propensity=PropensityModel().fit(x, t))  # doctest: +SKIP
    """
    if not isinstance(higher_is_better, (bool, np.bool_)):
        raise ConfigError(f"The 'higher_is_better' parameter of recommend must be True or False. Got {higher_is_better!r} instead.")
    if isinstance(min_benefit, bool) or not isinstance(min_benefit, (int, float, np.floating)) or min_benefit < 0:
        raise ConfigError(f"The 'min_benefit' parameter of recommend must be a float in the range [0, inf). Got {min_benefit!r} instead.")
    x = check_features(x)
    outcomes = np.asarray(estimator.predict_outcomes(x), dtype=np.float64)
    effect = np.asarray(estimator.predict_effect(x), dtype=np.float64)
    if hasattr(estimator, "predict_effect_interval"):
        interval = np.asarray(estimator.predict_effect_interval(x), dtype=np.float64)
    else:
        interval = np.full((len(x), 2), np.nan)
    scores = _propensity(estimator, x, propensity)
    inside, _ = overlap_mask(scores, lower=lower, upper=upper)

    benefit_of_treating = effect if higher_is_better else -effect
    treat = benefit_of_treating > min_benefit
    arm = np.where(treat, "treated", "control").astype(object)
    arm[~inside] = None
    benefit = np.where(inside, np.where(treat, benefit_of_treating, -benefit_of_treating), np.nan)
    text = np.where(inside, arm, NO_SUPPORT).astype(object)
    return pd.DataFrame({
        "outcome_if_control": outcomes[:, 0], "outcome_if_treated": outcomes[:, 1], "effect": effect,
        "effect_lower": interval[:, 0], "effect_upper": interval[:, 1], "propensity": scores,
        "in_support": inside, "recommended_arm": arm, "expected_benefit": benefit, "recommendation": text,
    }, index=index)
