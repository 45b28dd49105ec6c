"""The calibration slope's bootstrap interval under (near) separation: separated resamples have an
infinite slope, which keeps its place in the ranking instead of being dropped as undefined."""

import numpy as np

from meddl.evaluation import _kernels
from meddl.evaluation.bootstrap import bootstrap_metrics


def _nearly_separated(n=60, seed=0):
    """Confident scores that separate the classes but for two mistakes."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1], n // 2)
    score = np.where(y == 1, rng.uniform(0.8, 0.999, n), rng.uniform(0.001, 0.2, n))
    score[0], score[-1] = 0.9, 0.1  # one confident mistake per class
    return y, score


def test_a_separated_resample_has_an_infinite_slope_not_a_missing_one():
    y, score = _nearly_separated()
    data = _kernels.prepare_binary(y, score, 0.5)
    keep = np.ones((2, y.size))
    keep[1, [0, y.size - 1]] = 0.0  # the second resample leaves both mistakes out: the classes separate
    slopes = _kernels.binary_kernel(data, keep)["calibration_slope"]
    assert np.isfinite(slopes[0]) and slopes[0] > 0
    assert slopes[1] == np.inf


def test_many_separated_resamples_make_the_interval_unbounded_with_its_finite_end_given():
    y, score = _nearly_separated()
    slope = bootstrap_metrics("binary", y, score, n_resamples=300, seed=0)["calibration_slope"]
    assert slope["value"] is not None and slope["ci95"] is None
    assert slope["reason"].startswith("unbounded") and "finite end" in slope["reason"]


def test_without_separation_the_interval_is_the_usual_percentile_interval():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    score = 1 / (1 + np.exp(-(1.5 * (y - 0.5) + rng.normal(0, 1, 300))))
    slope = bootstrap_metrics("binary", y, score, n_resamples=300, seed=0)["calibration_slope"]
    low, high = slope["ci95"]
    assert low < slope["value"] < high and np.isfinite(high)
