"""Reliability curves and the two recalibration methods."""

import json

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.calibration import calibration_curve

from meddl.errors import ConfigError, DataError, NotFittedError
from meddl.evaluation import PlattScaler, TemperatureScaler, reliability_curve

from .eval_helpers import make_binary


def test_reliability_curve_matches_sklearn_calibration_curve():
    y, p = make_binary(500, seed=2)
    curve = reliability_curve(y, p, n_bins=8)
    observed, predicted = calibration_curve(y, p, n_bins=8, strategy="uniform")
    np.testing.assert_allclose(curve["observed_fraction"], observed)
    np.testing.assert_allclose(curve["mean_predicted"], predicted)
    assert sum(curve["count"]) == 500 and len(curve["bin_edges"]) == 9


def test_quantile_bins_hold_about_equal_counts():
    y, p = make_binary(1000, seed=1)
    counts = reliability_curve(y, p, n_bins=5, strategy="quantile")["count"]
    assert len(counts) == 5 and max(counts) - min(counts) <= 2


def test_reliability_curve_rejects_an_unknown_strategy():
    with pytest.raises(ConfigError, match="Unknown strategy 'quantil'.*Did you mean 'quantile'"):
        reliability_curve([0, 1], [0.2, 0.8], strategy="quantil")


def _tempered_multiclass(temperature, n=4000, k=4, seed=0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, size=(n, k))
    true_proba = softmax(logits / temperature, axis=1)
    y = (true_proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, y


@pytest.mark.parametrize("temperature", [0.6, 2.5])
def test_temperature_scaling_recovers_the_temperature_of_the_data(temperature):
    logits, y = _tempered_multiclass(temperature)
    scaler = TemperatureScaler().fit(logits, y)
    assert scaler.temperature_ == pytest.approx(temperature, rel=0.12)
    probs = scaler.transform(logits)
    assert probs.shape == logits.shape and np.allclose(probs.sum(axis=1), 1)
    assert np.array_equal(probs.argmax(axis=1), logits.argmax(axis=1))


def test_fitted_temperature_minimises_the_validation_nll():
    logits, y = _tempered_multiclass(1.7, n=1500)
    scaler = TemperatureScaler().fit(logits, y)

    def nll(t):
        return -np.mean(np.log(softmax(logits / t, axis=1)[np.arange(y.size), y]))

    best = nll(scaler.temperature_)
    assert best <= nll(scaler.temperature_ * 1.05) and best <= nll(scaler.temperature_ / 1.05)


@pytest.mark.parametrize("multiclass", [False, True])
def test_temperature_stays_finite_and_keeps_the_ranking_on_perfectly_separated_validation_data(multiclass):
    # 85 validation rows the model already separates: the plain likelihood has no optimum (T -> 0), which made
    # every probability exactly 0 or 1 and tied the ranking. Platt's smoothed targets keep the fit finite.
    rng = np.random.default_rng(0)
    y = np.arange(85) % 2
    margin = np.where(y == 1, 1.0, -1.0) * rng.uniform(2.0, 12.0, 85)
    logits = np.column_stack([-margin / 2, margin / 2]) if multiclass else margin
    scaler = TemperatureScaler().fit(logits, y)
    assert scaler.temperature_ > 0.2
    probs = scaler.transform(logits)
    positive = probs[:, 1] if multiclass else probs
    assert ((positive > 0) & (positive < 1)).all()
    assert len(np.unique(positive)) == len(np.unique(margin))       # no ties: the AUROC is the model's own


def test_binary_temperature_scaling_uses_the_sigmoid():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 4, 5000)
    y = (rng.random(5000) < expit(logits / 2.0)).astype(int)
    scaler = TemperatureScaler().fit(logits, y)
    assert scaler.temperature_ == pytest.approx(2.0, rel=0.12)
    np.testing.assert_allclose(scaler.transform(logits), expit(logits / scaler.temperature_))


def test_temperature_scaler_saves_to_json_and_back():
    logits, y = _tempered_multiclass(1.5, n=500)
    scaler = TemperatureScaler().fit(logits, y)
    restored = TemperatureScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    np.testing.assert_allclose(restored.transform(logits), scaler.transform(logits))


def test_temperature_scaler_errors():
    with pytest.raises(NotFittedError, match="This TemperatureScaler instance is not fitted yet. Call 'fit'"):
        TemperatureScaler().transform([[1.0, 2.0]])
    with pytest.raises(DataError, match=r"y_true must hold class indices in \[0, 1\]"):
        TemperatureScaler().fit([[1.0, 2.0], [0.0, 1.0]], [0, 2])
    with pytest.raises(DataError, match="logits has 3 columns, but TemperatureScaler was fitted on 2"):
        TemperatureScaler().fit([[1.0, 2.0], [0.0, 1.0]], [0, 1]).transform([[1.0, 2.0, 3.0]])
    with pytest.raises(DataError, match="TemperatureScaler.from_dict expects the output of"):
        TemperatureScaler.from_dict({"type": "PlattScaler", "a": 1, "b": 0})
    with pytest.raises(ConfigError, match="0 < min_temperature < max_temperature"):
        TemperatureScaler(min_temperature=5, max_temperature=1).fit([0.1, 0.2], [0, 1])


def test_platt_scaling_recovers_a_known_logistic_relation():
    rng = np.random.default_rng(0)
    score = rng.normal(0, 1, 20000)
    y = (rng.random(score.size) < expit(2.0 * score - 0.5)).astype(int)
    scaler = PlattScaler().fit(score, y)
    assert scaler.a_ == pytest.approx(2.0, rel=0.05)
    assert scaler.b_ == pytest.approx(-0.5, abs=0.05)
    np.testing.assert_allclose(scaler.transform(score), expit(scaler.a_ * score + scaler.b_))


def test_platt_scaling_stays_finite_on_separable_data_and_round_trips():
    scaler = PlattScaler().fit([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 0, 1, 1, 1])
    assert np.isfinite(scaler.a_) and scaler.a_ > 0
    restored = PlattScaler.from_dict(json.loads(json.dumps(scaler.to_dict())))
    assert restored.transform([0.5]) == pytest.approx(scaler.transform([0.5]))


def test_platt_scaler_errors():
    with pytest.raises(NotFittedError, match="This PlattScaler instance is not fitted yet"):
        PlattScaler().transform([0.5])
    with pytest.raises(DataError, match="y_score and y_true must have the same length; got 2 and 3"):
        PlattScaler().fit([0.1, 0.2], [0, 1, 1])
