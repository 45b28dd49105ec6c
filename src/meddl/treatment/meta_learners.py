"""Meta-learners (Künzel et al., PNAS 2019): effect estimators built from any regressor.

``estimator`` is a scikit-learn estimator or any object with ``fit(x, y)`` and
``predict(x)`` (a meddl model wrapper works). A classifier with ``predict_proba``
(scikit-learn's ``is_classifier``) is read as a probability, so a binary outcome
gives risks and τ̂ is a risk difference.

* ``SLearner``: one model of y on [x, t]; τ̂(x) = μ(x, 1) − μ(x, 0).
* ``TLearner``: one model per arm; τ̂(x) = μ1(x) − μ0(x).
* ``XLearner``: T-learner, then imputed effects regressed per arm and blended by the
  propensity: τ̂(x) = g(x) τ̂0(x) + (1 − g(x)) τ̂1(x).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from meddl.errors import ConfigError
from meddl.treatment._checks import check_features, check_fitted, check_min_per_arm, check_xty
from meddl.treatment.outcome_models import is_classifier_model, fit_clone, predict_response
from meddl.treatment.propensity import PropensityModel

__all__ = ["SLearner", "TLearner", "XLearner"]


def _check_estimator(estimator: Any, argument: str, owner: str) -> None:
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")):
        raise ConfigError(f"The '{argument}' of {owner} must have fit(x, y) and predict(x) methods; got "
                          f"{type(estimator).__name__}.")


class _MetaLearner(BaseEstimator):
    def predict_effect(self, x: Any) -> np.ndarray:
        """Estimated individual effect τ̂(x), shape (N,)."""
        outcomes = self.predict_outcomes(x)
        return outcomes[:, 1] - outcomes[:, 0]

    def _features(self, x: Any) -> np.ndarray:
        check_fitted(self)
        return check_features(x, n_features=self.n_features_in_)


class SLearner(_MetaLearner):
    """One model of the outcome on the covariates plus the treatment as a last column.

    Example:
        >>> from sklearn.ensemble import HistGradientBoostingRegressor
        >>> from meddl.treatment import SLearner
        >>> learner = SLearner(HistGradientBoostingRegressor())
    """

    def __init__(self, estimator: Any):
        self.estimator = estimator

    def fit(self, x: Any, t: Any, y: Any) -> "SLearner":
        _check_estimator(self.estimator, "estimator", "SLearner")
        x, t, y = check_xty(x, t, y)
        self.model_ = fit_clone(self.estimator, np.column_stack([x, t]), y)
        self.n_features_in_ = x.shape[1]
        return self

    def predict_outcomes(self, x: Any) -> np.ndarray:
        """[μ(x, 0), μ(x, 1)], shape (N, 2)."""
        x = self._features(x)
        return np.column_stack([predict_response(self.model_, np.column_stack([x, np.full(len(x), arm)]))
                                for arm in (0, 1)])


class TLearner(_MetaLearner):
    """One model per arm; ``control_estimator`` (default: a copy of ``estimator``) for the control arm.

    Example:
        >>> from sklearn.linear_model import LinearRegression
        >>> from meddl.treatment import TLearner
        >>> learner = TLearner(LinearRegression())
    """

    def __init__(self, estimator: Any, *, control_estimator: Any = None):
        self.estimator = estimator
        self.control_estimator = control_estimator

    def fit(self, x: Any, t: Any, y: Any) -> "TLearner":
        _check_estimator(self.estimator, "estimator", "TLearner")
        control = self.estimator if self.control_estimator is None else self.control_estimator
        _check_estimator(control, "control_estimator", "TLearner")
        x, t, y = check_xty(x, t, y)
        check_min_per_arm(t, 2, "TLearner")
        self.models_ = [fit_clone(control, x[t == 0], y[t == 0]), fit_clone(self.estimator, x[t == 1], y[t == 1])]
        self.n_features_in_ = x.shape[1]
        return self

    def predict_outcomes(self, x: Any) -> np.ndarray:
        """[μ0(x), μ1(x)], shape (N, 2)."""
        x = self._features(x)
        return np.column_stack([predict_response(model, x) for model in self.models_])


class XLearner(_MetaLearner):
    """X-learner: impute individual effects with the other arm's model, regress them, blend by propensity.

    Stage 1 fits μ0, μ1 per arm (``estimator``). Stage 2 regresses the imputed effects
    D1 = y − μ0(x) (treated) and D0 = μ1(x) − y (control) on x with ``effect_estimator``
    (default: a copy of ``estimator``, which must then be a regressor). The blend
    uses the propensity g(x) of ``propensity_model`` (default: a
    :class:`~meddl.treatment.PropensityModel`), as Künzel et al. recommend.

    Example:
        >>> from sklearn.ensemble import HistGradientBoostingRegressor
        >>> from meddl.treatment import XLearner
        >>> learner = XLearner(HistGradientBoostingRegressor())
    """

    def __init__(self, estimator: Any, *, effect_estimator: Any = None, propensity_model: Any = None):
        self.estimator = estimator
        self.effect_estimator = effect_estimator
        self.propensity_model = propensity_model

    def fit(self, x: Any, t: Any, y: Any) -> "XLearner":
        _check_estimator(self.estimator, "estimator", "XLearner")
        effect = self.estimator if self.effect_estimator is None else self.effect_estimator
        _check_estimator(effect, "effect_estimator", "XLearner")
        if is_classifier_model(effect):
            raise ConfigError("The effect model of XLearner regresses imputed effects, so it must be a regressor; "
                              f"got the classifier {type(effect).__name__}. Pass effect_estimator=<a regressor>.")
        x, t, y = check_xty(x, t, y)
        check_min_per_arm(t, 2, "XLearner")
        self.outcome_models_ = [fit_clone(self.estimator, x[t == arm], y[t == arm]) for arm in (0, 1)]
        treated, control = x[t == 1], x[t == 0]
        imputed_treated = y[t == 1] - predict_response(self.outcome_models_[0], treated)
        imputed_control = predict_response(self.outcome_models_[1], control) - y[t == 0]
        self.effect_models_ = [fit_clone(effect, control, imputed_control), fit_clone(effect, treated, imputed_treated)]
        propensity = PropensityModel() if self.propensity_model is None else self.propensity_model
        self.propensity_model_ = fit_clone(propensity, x, t)
        self.n_features_in_ = x.shape[1]
        return self

    def predict_propensity(self, x: Any) -> np.ndarray:
        """The fitted propensity model's P(t = 1 | x)."""
        return predict_response(self.propensity_model_, self._features(x))

    def predict_effect(self, x: Any) -> np.ndarray:
        """τ̂(x) = g(x) τ̂0(x) + (1 − g(x)) τ̂1(x), shape (N,)."""
        x = self._features(x)
        g = np.clip(predict_response(self.propensity_model_, x), 0.0, 1.0)
        return g * predict_response(self.effect_models_[0], x) + (1.0 - g) * predict_response(self.effect_models_[1], x)

    def predict_outcomes(self, x: Any) -> np.ndarray:
        """Stage-1 [μ0(x), μ1(x)], shape (N, 2) (their difference is the T-learner's τ̂, not the X-learner's)."""
        x = self._features(x)
        return np.column_stack([predict_response(model, x) for model in self.outcome_models_])
