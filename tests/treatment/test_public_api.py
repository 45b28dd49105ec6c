"""The public names of meddl.treatment: the list is deliberate, and every name exists and is documented."""

from __future__ import annotations

import numpy as np
import pytest

import meddl.treatment as treatment
from meddl.errors import ConfigError, DataError

EXPECTED = [
    "CFRNet", "Dragonnet", "EffectEnsemble", "LinearPropensity", "NO_SUPPORT", "Nuisances", "OUTCOME_TYPES",
    "PropensityModel", "RECOMMENDATION_COLUMNS",
    "SLearner", "SurvivalRecommender", "TARNet", "TLearner", "XLearner", "aipw_ate", "ate_error",
    "cross_fit_nuisances", "effect_metrics", "effect_metrics_by_sample", "load", "mmd_linear", "mmd_rbf",
    "nearest_neighbour_pehe", "overlap_mask", "overlap_plot", "policy_values", "recommend", "recommendation_survival",
    "resolve_outcome_type", "sinkhorn_wasserstein", "sqrt_pehe",
]


def test_all_is_the_expected_sorted_list():
    assert treatment.__all__ == EXPECTED
    assert treatment.__all__ == sorted(treatment.__all__)


def test_every_public_name_exists_and_callables_are_documented():
    for name in treatment.__all__:
        value = getattr(treatment, name)
        if callable(value):
            assert value.__doc__ and value.__doc__.strip(), name


def test_estimators_follow_the_scikit_learn_contract():
    from sklearn.base import clone

    for cls in (treatment.TARNet, treatment.CFRNet, treatment.Dragonnet):
        estimator = cls(random_state=3)
        copy = clone(estimator)
        assert copy.get_params() == estimator.get_params()
        assert not any(name.endswith("_") for name in vars(estimator))  # __init__ only stores arguments


def test_resolve_outcome_type_reads_auto_from_the_outcomes_and_checks_an_explicit_type():
    assert treatment.resolve_outcome_type("auto", np.array([0.0, 1.0, 1.0]), "TARNet") == "binary"
    assert treatment.resolve_outcome_type("auto", np.array([0.0, 1.0, 2.5]), "TARNet") == "continuous"
    assert treatment.resolve_outcome_type("continuous", np.array([0.0, 1.0]), "TARNet") == "continuous"
    with pytest.raises(DataError, match=r"TARNet\(outcome='binary'\) needs 'y' coded 0/1; got values such as 2.5"):
        treatment.resolve_outcome_type("binary", np.array([0.0, 2.5]), "TARNet")
    with pytest.raises(ConfigError, match="outcome type"):
        treatment.resolve_outcome_type("binry", np.array([0.0, 1.0]), "TARNet")
    assert treatment.OUTCOME_TYPES == ("auto", "continuous", "binary")
