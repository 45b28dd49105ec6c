"""Per-patient recommendations: direction, benefit, the overlap rule, intervals and errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from meddl.errors import ConfigError, DataError
from meddl.treatment import NO_SUPPORT, RECOMMENDATION_COLUMNS, PropensityModel, TLearner, recommend


class _Fixed:
    """An 'estimator' whose predictions we choose."""

    def __init__(self, outcomes, interval=None, propensity=None):
        self.outcomes = np.asarray(outcomes, dtype=float)
        if interval is not None:
            self.predict_effect_interval = lambda x: np.asarray(interval, dtype=float)
        if propensity is not None:
            self.predict_propensity = lambda x: np.asarray(propensity, dtype=float)

    def predict_outcomes(self, x):
        return self.outcomes

    def predict_effect(self, x):
        return self.outcomes[:, 1] - self.outcomes[:, 0]


OUTCOMES = [[1.0, 3.0], [2.0, 1.0], [1.0, 1.0], [0.0, 4.0], [5.0, 5.5]]
X = np.zeros((5, 2))


def test_higher_is_better():
    table = recommend(_Fixed(OUTCOMES), X, propensity=[0.5, 0.5, 0.5, 0.01, 0.5])
    assert list(table.columns) == list(RECOMMENDATION_COLUMNS)
    assert table["recommended_arm"].tolist() == ["treated", "control", "control", None, "treated"]
    assert table["recommendation"].tolist() == ["treated", "control", "control", NO_SUPPORT, "treated"]
    np.testing.assert_allclose(table["effect"], [2.0, -1.0, 0.0, 4.0, 0.5])
    np.testing.assert_allclose(table["expected_benefit"], [2.0, 1.0, 0.0, np.nan, 0.5])
    assert table["in_support"].tolist() == [True, True, True, False, True]
    np.testing.assert_allclose(table["outcome_if_treated"], [3.0, 1.0, 1.0, 4.0, 5.5])
    assert table["effect_lower"].isna().all() and table["effect_upper"].isna().all()


def test_lower_is_better_flips_the_choice():
    table = recommend(_Fixed(OUTCOMES), X, propensity=np.full(5, 0.5), higher_is_better=False)
    assert table["recommended_arm"].tolist() == ["control", "treated", "control", "control", "control"]
    np.testing.assert_allclose(table["expected_benefit"], [2.0, 1.0, 0.0, 4.0, 0.5])


def test_min_benefit_keeps_small_gains_on_control():
    table = recommend(_Fixed(OUTCOMES), X, propensity=np.full(5, 0.5), min_benefit=1.0)
    assert table["recommended_arm"].tolist() == ["treated", "control", "control", "treated", "control"]
    # Control recommended although treatment would gain 0.5 (below min_benefit): the benefit is negative.
    assert table["expected_benefit"].iloc[4] == pytest.approx(-0.5)


def test_interval_and_own_propensity_and_index():
    interval = [[1.0, 3.0], [-2.0, 0.0], [-1.0, 1.0], [3.0, 5.0], [0.1, 0.9]]
    estimator = _Fixed(OUTCOMES, interval=interval, propensity=[0.5, 0.97, 0.5, 0.5, 0.5])
    table = recommend(estimator, X, index=pd.Index(list("abcde"), name="patient"))
    np.testing.assert_allclose(table[["effect_lower", "effect_upper"]].to_numpy(), interval)
    assert table.loc["b", "recommendation"] == NO_SUPPORT and table.index.name == "patient"
    narrow = recommend(estimator, X, lower=0.4, upper=0.6)
    assert narrow["in_support"].tolist() == [True, False, True, True, True]


def test_propensity_is_required_when_the_estimator_has_none():
    with pytest.raises(ConfigError, match=r"recommend needs propensities for the overlap rule, and _Fixed does not "
                                          r"estimate them. Pass propensity=PropensityModel\(\)"):
        recommend(_Fixed(OUTCOMES), X)
    with pytest.raises(DataError, match="'x' and 'propensity' must have the same number of samples; got 5 and 2"):
        recommend(_Fixed(OUTCOMES), X, propensity=[0.5, 0.5])
    with pytest.raises(ConfigError, match="The 'higher_is_better' parameter of recommend must be True or False"):
        recommend(_Fixed(OUTCOMES), X, propensity=np.full(5, 0.5), higher_is_better="yes")
    with pytest.raises(ConfigError, match=r"The 'min_benefit' parameter of recommend must be a float in the range \[0, inf\)"):
        recommend(_Fixed(OUTCOMES), X, propensity=np.full(5, 0.5), min_benefit=-1)


def test_end_to_end_recommendations_follow_the_true_effect(dataset, test_dataset):
    model = TLearner(LinearRegression()).fit(dataset["x"], dataset["t"], dataset["y"])
    propensity = PropensityModel().fit(dataset["x"], dataset["t"])
    table = recommend(model, test_dataset["x"], propensity=propensity)
    inside = table["in_support"].to_numpy()
    truly_better = np.where(test_dataset["tau"] > 0, "treated", "control")
    agreement = (table["recommended_arm"].to_numpy()[inside] == truly_better[inside]).mean()
    assert agreement > 0.9
    expected_inside = (test_dataset["propensity"] >= 0.05) & (test_dataset["propensity"] <= 0.95)
    assert (inside == expected_inside).mean() > 0.95  # the estimated propensity, not the true one, decides
