"""Split-conformal prediction sets: coverage close to the target on average."""

import json

import numpy as np
import pytest

from meddl.errors import ConfigError, DataError, NotFittedError
from meddl.evaluation import ConformalClassifier, coverage_chance_range, mean_set_size, set_coverage, sets_to_lists

from .eval_helpers import make_multiclass


@pytest.mark.parametrize("method", ["lac", "aps"])
@pytest.mark.parametrize("coverage", [0.8, 0.9])
def test_coverage_is_within_three_points_of_the_target_over_many_seeds(method, coverage):
    observed = []
    for seed in range(30):
        y, proba = make_multiclass(600, 5, seed=seed)
        conformal = ConformalClassifier(coverage, method=method).fit(proba[:300], y[:300])
        observed.append(set_coverage(conformal.predict_sets(proba[300:]), y[300:]))
    assert np.mean(observed) == pytest.approx(coverage, abs=0.03)


def test_sets_are_smaller_than_all_classes_and_grow_with_coverage():
    y, proba = make_multiclass(2000, 5, seed=1)
    sizes = []
    for coverage in (0.7, 0.9, 0.97):
        conformal = ConformalClassifier(coverage).fit(proba[:1000], y[:1000])
        sizes.append(mean_set_size(conformal.predict_sets(proba[1000:])))
    assert sizes[0] < sizes[1] < sizes[2] < 5


def test_q_hat_is_the_finite_sample_quantile():
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]] * 5)
    y = np.zeros(20, dtype=int)
    conformal = ConformalClassifier(0.8).fit(proba, y)
    scores = np.sort(1 - proba[:, 0])
    assert conformal.q_hat_ == pytest.approx(scores[int(np.ceil(21 * 0.8)) - 1])


def test_binary_probabilities_may_be_one_dimensional():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=400)
    y = (rng.random(400) < p).astype(int)
    conformal = ConformalClassifier(0.9).fit(p, y)
    sets = conformal.predict_sets(p)
    assert sets.shape == (400, 2) and set_coverage(sets, y) >= 0.85


def test_summary_round_trip_and_lists():
    y, proba = make_multiclass(200, 3, seed=2)
    conformal = ConformalClassifier(0.9, method="aps").fit(proba, y)
    summary = conformal.summary(proba, y)
    assert summary["target_coverage"] == 0.9 and summary["method"] == "aps"
    assert summary["coverage"] >= 0.9 and 1 <= summary["mean_set_size"] <= 3
    restored = ConformalClassifier.from_dict(json.loads(json.dumps(conformal.to_dict())))
    assert np.array_equal(restored.predict_sets(proba), conformal.predict_sets(proba))
    lists = sets_to_lists(np.array([[True, False, True], [False, False, False]]), ["a", "b", "c"])
    assert lists == [["a", "c"], []]


def test_conformal_errors():
    with pytest.raises(DataError, match="Coverage 0.9 needs at least 9 calibration cases.*got 5"):
        ConformalClassifier(0.9).fit(np.full((5, 2), 0.5), [0, 1, 0, 1, 0])
    with pytest.raises(ConfigError, match="Unknown conformal method 'apss'.*Did you mean 'aps'"):
        ConformalClassifier(method="apss").fit(np.full((20, 2), 0.5), [0, 1] * 10)
    with pytest.raises(ConfigError, match=r"The 'coverage' parameter of ConformalClassifier must be a float in the "
                                          r"range \(0, 1\)\. Got 1\.0 instead\."):
        ConformalClassifier(1.0).fit(np.full((20, 2), 0.5), [0, 1] * 10)
    with pytest.raises(NotFittedError, match="not fitted yet"):
        ConformalClassifier().predict_sets(np.full((2, 2), 0.5))
    fitted = ConformalClassifier(0.8).fit(np.full((20, 2), 0.5), [0, 1] * 10)
    with pytest.raises(DataError, match="proba has 3 columns, but ConformalClassifier was fitted on 2"):
        fitted.predict_sets(np.full((2, 3), 1 / 3))


def test_coverage_chance_range_holds_exchangeable_cases_and_flags_shifted_ones():
    inside, shifted_inside = [], []
    for seed in range(100):
        y, proba = make_multiclass(500, 3, seed=seed)
        conformal = ConformalClassifier(0.9).fit(proba[:200], y[:200])
        low, high = coverage_chance_range(0.9, 200, 300)
        inside.append(low <= set_coverage(conformal.predict_sets(proba[200:]), y[200:]) <= high)
        # shifted cases: a third of the labels drawn anew, so the probabilities overstate what they know
        rng = np.random.default_rng(seed)
        y_shifted = np.where(rng.random(300) < 1 / 3, rng.integers(0, 3, 300), y[200:])
        shifted_inside.append(low <= set_coverage(conformal.predict_sets(proba[200:]), y_shifted) <= high)
    assert 0.88 <= np.mean(inside) <= 1.0
    assert np.mean(shifted_inside) < 0.2
    low, high = coverage_chance_range(0.9, 10_000, 10_000)
    assert high - low < 0.02 and low < 0.9 < high
    with pytest.raises(ValueError, match="target"):
        coverage_chance_range(1.0, 100, 100)
