"""√PEHE and |ATE error| with bootstrap intervals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from meddl.errors import DataError
from meddl.treatment import ate_error, effect_metrics, effect_metrics_by_sample, nearest_neighbour_pehe, sqrt_pehe


def test_point_values_by_hand():
    truth, predicted = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 2.0, 5.0])
    assert sqrt_pehe(truth, predicted) == pytest.approx(np.sqrt((0.25 + 0 + 1 + 1) / 4))
    assert ate_error(truth, predicted) == pytest.approx(abs(10.5 / 4 - 10 / 4))
    assert sqrt_pehe(truth, truth) == 0.0


def test_bootstrap_intervals_contain_the_value_and_shrink_with_n():
    rng = np.random.default_rng(0)
    widths = []
    for n in (100, 1600):
        truth = rng.normal(size=n)
        predicted = truth + rng.normal(scale=0.5, size=n)
        result = effect_metrics(truth, predicted, n_resamples=300)
        json.dumps(result)  # JSON-safe, as metrics.json needs
        low, high = result["sqrt_pehe"]["ci95"]
        assert low <= result["sqrt_pehe"]["value"] <= high
        assert result["ate_error"]["ci95"][0] >= 0 and len(result["ate_error"]["ci95"]) == 2
        assert result["sqrt_pehe"]["ci95"][0] < 0.5 < result["sqrt_pehe"]["ci95"][1]
        widths.append(np.diff(result["sqrt_pehe"]["ci95"])[0])
    assert widths[1] < widths[0] / 2.5  # about 1/√16 = 1/4 as wide


def test_no_interval_below_min_samples():
    result = effect_metrics([1.0, 2.0], [1.0, 3.0])
    assert result["sqrt_pehe"]["ci95"] is None and "only 2 patients" in result["sqrt_pehe"]["reason"]


def test_by_sample_uses_each_split():
    class Constant:
        def predict_effect(self, x):
            return np.full(len(x), 2.0)

    x = np.zeros((20, 3))
    result = effect_metrics_by_sample(Constant(), within=(x, np.full(20, 1.0)), out_of_sample=(x, np.full(20, 5.0)),
                                      n_resamples=50)
    assert result["within_sample"]["sqrt_pehe"]["value"] == pytest.approx(1.0)
    assert result["out_of_sample"]["ate_error"]["value"] == pytest.approx(3.0)


def test_errors():
    with pytest.raises(DataError, match="'true_effect' and 'predicted_effect' must have the same number of samples; got 3 and 2"):
        sqrt_pehe([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(DataError, match="'predicted_effect' contains 1 NaN"):
        ate_error([1.0, 2.0], [1.0, np.nan])
    with pytest.raises(DataError, match="'true_effect' is empty"):
        sqrt_pehe([], [])


def test_nearest_neighbour_pehe_by_hand():
    """Each patient's effect is matched against the nearest patient of the other arm."""
    x = [[0.0], [0.3], [1.0], [5.0], [5.2]]
    t = [1, 0, 0, 1, 0]
    y = [3.0, 1.0, 0.0, 9.0, 8.0]
    # matches: 0 -> 1 (3 - 1 = 2), 1 -> 0 (2), 2 -> 0 (3 - 0 = 3), 3 -> 4 (1), 4 -> 3 (1)
    assert nearest_neighbour_pehe(x, t, y, [2.0, 2.0, 3.0, 1.0, 1.0]) == 0.0
    assert nearest_neighbour_pehe(x, t, y, [2.0, 2.0, 2.0, 1.0, 1.0]) == pytest.approx(np.sqrt(1 / 5))


def test_nearest_neighbour_pehe_ranks_estimators_like_the_true_pehe():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    t = (rng.random(400) < 0.5).astype(int)
    effect = 1.0 + x[:, 0]
    y = x[:, 1] + t * effect + rng.normal(scale=0.3, size=400)
    scores = [nearest_neighbour_pehe(x, t, y, effect + noise * rng.normal(size=400)) for noise in (0.0, 0.5, 1.5)]
    assert scores[0] < scores[1] < scores[2]


def test_nearest_neighbour_pehe_errors_name_the_argument():
    with pytest.raises(DataError, match="'t' .* both arms"):
        nearest_neighbour_pehe([[0.0], [1.0]], [1, 1], [1.0, 2.0], [0.0, 0.0])
    with pytest.raises(DataError, match="'predicted_effect'"):
        nearest_neighbour_pehe([[0.0], [1.0]], [0, 1], [1.0, 2.0], [0.0])
