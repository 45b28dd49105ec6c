"""Treatment optimisation: estimate each patient's benefit and recommend a treatment, safely.

Effect estimators share one contract, ``fit(x, t, y)`` then ``predict_outcomes(x)``
(N, 2) = [μ0, μ1] and ``predict_effect(x)`` = μ1 − μ0:

* neural: :class:`TARNet`, :class:`CFRNet`, :class:`Dragonnet`, and :class:`EffectEnsemble` of any of them;
* meta-learners over any scikit-learn estimator: :class:`SLearner`, :class:`TLearner`, :class:`XLearner`;
* time-to-event: :class:`SurvivalRecommender` (DeepSurv with the treatment as an input).

Then :func:`recommend` turns estimates into per-patient recommendations, withholding
them outside the data's support (:func:`overlap_mask`); :func:`aipw_ate` and
:func:`policy_values` give doubly robust population estimates with CIs; and
:mod:`~meddl.treatment.metrics` scores estimates when true effects are known.

Example:
    >>> from meddl.treatment import TARNet, PropensityModel, recommend
    >>> model = TARNet(random_state=0).fit(x, t, y)                      # doctest: +SKIP
    >>> table = recommend(model, x_new, propensity=PropensityModel().fit(x, t))  # doctest: +SKIP
"""

from meddl.treatment._checks import OUTCOME_TYPES, resolve_outcome_type
from meddl.treatment.balance import mmd_linear, mmd_rbf, sinkhorn_wasserstein
from meddl.treatment.cfrnet import CFRNet
from meddl.treatment.dragonnet import Dragonnet
from meddl.treatment.ensemble import EffectEnsemble
from meddl.treatment.meta_learners import SLearner, TLearner, XLearner
from meddl.treatment.metrics import (ate_error, effect_metrics, effect_metrics_by_sample, nearest_neighbour_pehe,
                                     sqrt_pehe)
from meddl.treatment.policy import Nuisances, aipw_ate, cross_fit_nuisances, policy_values
from meddl.treatment.propensity import NO_SUPPORT, LinearPropensity, PropensityModel, overlap_mask, overlap_plot
from meddl.treatment.recommend import RECOMMENDATION_COLUMNS, recommend
from meddl.treatment.saving import load
from meddl.treatment.survival import SurvivalRecommender, recommendation_survival
from meddl.treatment.tarnet import TARNet

__all__ = [
    "CFRNet",
    "Dragonnet",
    "EffectEnsemble",
    "LinearPropensity",
    "NO_SUPPORT",
    "Nuisances",
    "OUTCOME_TYPES",
    "PropensityModel",
    "RECOMMENDATION_COLUMNS",
    "SLearner",
    "SurvivalRecommender",
    "TARNet",
    "TLearner",
    "XLearner",
    "aipw_ate",
    "ate_error",
    "cross_fit_nuisances",
    "effect_metrics",
    "effect_metrics_by_sample",
    "load",
    "mmd_linear",
    "mmd_rbf",
    "nearest_neighbour_pehe",
    "overlap_mask",
    "overlap_plot",
    "policy_values",
    "recommend",
    "recommendation_survival",
    "resolve_outcome_type",
    "sinkhorn_wasserstein",
    "sqrt_pehe",
]
