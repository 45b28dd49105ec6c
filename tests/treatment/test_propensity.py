"""The propensity model, the overlap rule and the overlap plot."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from meddl.errors import ConfigError, DataError
from meddl.treatment import PropensityModel, overlap_mask, overlap_plot


def test_overlap_rule_withholds_exactly_outside_the_bounds():
    propensity = np.array([0.0, 0.01, 0.049, 0.05, 0.3, 0.5, 0.95, 0.951, 0.99, 1.0])
    inside, n_outside = overlap_mask(propensity)
    np.testing.assert_array_equal(inside, [False, False, False, True, True, True, True, False, False, False])
    assert n_outside == 6
    inside, n_outside = overlap_mask(propensity, lower=0.3, upper=0.5)
    np.testing.assert_array_equal(np.flatnonzero(inside), [4, 5])
    assert n_outside == 8


def test_overlap_rule_on_a_constructed_population():
    # 100 patients whose propensity we set: 10 below 0.05, 15 above 0.95, the rest inside.
    propensity = np.r_[np.linspace(0.0, 0.04, 10), np.linspace(0.05, 0.95, 75), np.linspace(0.96, 1.0, 15)]
    inside, n_outside = overlap_mask(propensity)
    assert n_outside == 25 and inside.sum() == 75
    assert not inside[:10].any() and inside[10:85].all() and not inside[85:].any()


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"propensity": [0.5, 1.2]}, DataError, r"'propensity' must hold probabilities in \[0, 1\]; got 1.2 \(at index 1\)"),
    ({"propensity": [0.5, np.nan]}, DataError, "'propensity' contains 1 NaN"),
    ({"propensity": [0.5], "lower": 0.9, "upper": 0.1}, ConfigError, "overlap_mask needs lower < upper; got lower=0.9 and upper=0.1"),
    ({"propensity": [0.5], "lower": -0.1}, ConfigError, r"The 'lower' parameter of overlap_mask must be a float in the range \[0, 1\]"),
])
def test_overlap_rule_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        overlap_mask(**kwargs)


def test_propensity_model_recovers_the_true_propensity(dataset):
    model = PropensityModel().fit(dataset["x"], dataset["t"])
    estimate = model.predict_propensity(dataset["x"])
    assert np.abs(estimate - dataset["propensity"]).mean() < 0.06  # logistic model, true propensity is logistic
    proba = model.predict_proba(dataset["x"][:5])
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(model.predict(dataset["x"][:5]), (proba[:, 1] > 0.5).astype(int))


def test_propensity_model_accepts_any_probabilistic_classifier(dataset):
    classifier = HistGradientBoostingClassifier(max_iter=50, random_state=0)
    model = PropensityModel(classifier).fit(dataset["x"], dataset["t"])
    direct = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(dataset["x"], dataset["t"])
    np.testing.assert_allclose(model.predict_propensity(dataset["x"]), direct.predict_proba(dataset["x"])[:, 1])
    assert not hasattr(classifier, "classes_")  # the template was cloned, not fitted


def test_propensity_model_needs_both_arms(dataset):
    with pytest.raises(DataError, match="must contain both arms"):
        PropensityModel().fit(dataset["x"], np.zeros(len(dataset["x"])))


def test_overlap_plot_is_a_png_data_uri(dataset):
    uri = overlap_plot(dataset["propensity"], dataset["t"])
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(DataError, match="'propensity' and 't' must have the same number of samples; got 800 and 10"):
        overlap_plot(dataset["propensity"], dataset["t"][:10])
    with pytest.raises(ConfigError, match="The 'bins' parameter of overlap_plot"):
        overlap_plot(dataset["propensity"], dataset["t"], bins=0)
