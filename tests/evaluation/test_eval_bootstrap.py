"""Vectorised bootstrap: weighted metrics equal plain metrics on resampled copies."""

import numpy as np
import pytest
from sklearn import metrics as skm

from meddl.errors import ConfigError, DataError
from meddl.evaluation import (
    binary_metrics,
    bootstrap_metrics,
    bootstrap_weights,
    iter_bootstrap_weights,
    multiclass_metrics,
    regression_metrics,
    resampled_metrics,
)

from .eval_helpers import make_binary, make_multiclass


def _resampled_copy(counts):
    return np.repeat(np.arange(counts.size), counts.astype(int))


@pytest.mark.parametrize("round_to", [None, 1])
def test_weighted_auroc_equals_sklearn_on_an_explicitly_resampled_copy(round_to):
    y, p = make_binary(300, seed=1, round_to=round_to)
    weights = bootstrap_weights(y.size, n_resamples=5, seed=7)
    values = resampled_metrics("binary", y, p, weights, threshold=0.4)
    for r, counts in enumerate(weights):
        idx = _resampled_copy(counts)
        assert values["auroc"][r] == pytest.approx(skm.roc_auc_score(y[idx], p[idx]), abs=1e-12)
        assert values["auprc"][r] == pytest.approx(skm.average_precision_score(y[idx], p[idx]), abs=1e-12)


def test_every_weighted_binary_metric_equals_the_point_metric_of_the_resampled_copy():
    y, p = make_binary(250, seed=4)
    weights = bootstrap_weights(y.size, n_resamples=3, seed=1)
    values = resampled_metrics("binary", y, p, weights, threshold=0.45)
    for r, counts in enumerate(weights):
        idx = _resampled_copy(counts)
        expected = binary_metrics(y[idx], p[idx], threshold=0.45)
        for name, value in expected.items():
            assert values[name][r] == pytest.approx(value, rel=1e-6, abs=1e-9), name


def test_weighted_multiclass_and_regression_metrics_equal_the_resampled_copy():
    y, proba = make_multiclass(200, 3, seed=2)
    weights = bootstrap_weights(y.size, n_resamples=2, seed=3)
    values = resampled_metrics("multiclass", y, proba, weights)
    for r, counts in enumerate(weights):
        idx = _resampled_copy(counts)
        expected = multiclass_metrics(y[idx], proba[idx])
        for name, value in expected.items():
            if name != "confusion_matrix":
                assert values[name][r] == pytest.approx(value, abs=1e-12), name
    target = np.linspace(0, 10, 200)
    pred = target + np.sin(target)
    values = resampled_metrics("regression", target, pred, weights)
    idx = _resampled_copy(weights[0])
    for name, value in regression_metrics(target[idx], pred[idx]).items():
        assert values[name][0] == pytest.approx(value, rel=1e-9)


def test_weights_are_counts_that_sum_to_n_and_depend_only_on_the_seed():
    w = bootstrap_weights(40, n_resamples=120, seed=5)
    assert w.shape == (120, 40)
    assert np.all(w.sum(axis=1) == 40) and np.all(w == np.round(w))
    assert np.array_equal(w, bootstrap_weights(40, n_resamples=120, seed=5))
    assert not np.array_equal(w, bootstrap_weights(40, n_resamples=120, seed=6))
    blocks = list(iter_bootstrap_weights(40, n_resamples=120, seed=5))
    assert len(blocks) > 1 and np.array_equal(np.concatenate(blocks), w)


def test_group_bootstrap_keeps_patients_whole():
    groups = np.repeat(["p1", "p2", "p3", "p4", "p5", "p6"], [1, 2, 3, 4, 2, 3])
    w = bootstrap_weights(groups.size, n_resamples=200, seed=0, groups=groups)
    for patient in np.unique(groups):
        rows = w[:, groups == patient]
        assert np.all(rows == rows[:, :1])  # every row of a patient has the patient's count
    codes = np.unique(groups, return_inverse=True)[1]
    first_row = np.array([np.flatnonzero(codes == g)[0] for g in range(6)])
    assert np.all(w[:, first_row].sum(axis=1) == 6)  # six patients drawn per resample
    assert w.sum(axis=1).std() > 0  # while the number of rows varies


def test_bootstrap_standard_error_of_accuracy_matches_the_binomial_formula():
    y, p = make_binary(2000, seed=8)
    out = bootstrap_metrics("binary", y, p, n_resamples=1000, seed=0)
    acc = out["accuracy"]["value"]
    width = out["accuracy"]["ci95"][1] - out["accuracy"]["ci95"][0]
    expected_width = 2 * 1.96 * np.sqrt(acc * (1 - acc) / y.size)
    assert width == pytest.approx(expected_width, rel=0.12)


def test_bootstrap_metrics_structure_and_point_values():
    y, p = make_binary(300, seed=2)
    out = bootstrap_metrics("binary", y, p, threshold=0.4, n_resamples=200)
    point = binary_metrics(y, p, threshold=0.4)
    assert set(out) == set(point)
    for name, entry in out.items():
        assert entry["value"] == pytest.approx(point[name])
        lo, hi = entry["ci95"]
        assert lo <= entry["value"] <= hi or name.startswith("calibration") or name == "ece"
        assert "reason" not in entry


def test_patient_level_intervals_are_wider_when_rows_of_a_patient_agree():
    rng = np.random.default_rng(0)
    patients = np.repeat(np.arange(60), 10)
    y = np.repeat(rng.integers(0, 2, 60), 10)  # one outcome per patient, repeated on 10 images
    p = np.clip(0.25 + 0.4 * y + np.repeat(rng.normal(0, 0.2, 60), 10) + rng.normal(0, 0.02, 600), 0, 1)
    rows = bootstrap_metrics("binary", y, p, n_resamples=300)["auroc"]["ci95"]
    whole = bootstrap_metrics("binary", y, p, groups=patients, n_resamples=300)["auroc"]["ci95"]
    assert whole[1] - whole[0] > 1.5 * (rows[1] - rows[0])


def test_tiny_split_has_values_but_no_interval():
    out = bootstrap_metrics("binary", [0, 1, 0, 1, 1], [0.2, 0.7, 0.4, 0.9, 0.3], n_resamples=100)
    assert out["auroc"]["value"] == pytest.approx(5 / 6)
    assert out["auroc"]["ci95"] is None
    assert "fewer than 10" in out["auroc"]["reason"]


def test_tiny_patient_count_is_checked_on_patients_not_rows():
    y, p = make_binary(60, seed=1)
    out = bootstrap_metrics("binary", y, p, groups=np.arange(60) % 4, n_resamples=50)
    assert out["accuracy"]["ci95"] is None and "only 4 patients" in out["accuracy"]["reason"]


def test_metric_undefined_in_many_resamples_has_no_interval():
    y = np.array([1, 0] + [0] * 28)
    p = np.linspace(0.05, 0.95, 30)
    out = bootstrap_metrics("binary", y, p, n_resamples=300)
    assert out["auroc"]["value"] is not None
    assert out["auroc"]["ci95"] is None
    assert "undefined in" in out["auroc"]["reason"] and "of 300 bootstrap resamples" in out["auroc"]["reason"]
    assert out["specificity"]["ci95"] is not None


def test_point_undefined_metric_keeps_its_reason_and_no_interval():
    out = bootstrap_metrics("binary", [0] * 20, np.linspace(0, 1, 20), n_resamples=50)
    assert out["auroc"] == {"value": None, "ci95": None, "reason": out["auroc"]["reason"]}
    assert "no positive cases" in out["auroc"]["reason"]


def test_zero_resamples_gives_point_values_without_intervals():
    y, p = make_binary(100)
    out = bootstrap_metrics("binary", y, p, n_resamples=0)
    assert out["auroc"]["value"] == pytest.approx(binary_metrics(y, p)["auroc"])
    assert out["auroc"]["ci95"] is None and "n_resamples=0" in out["auroc"]["reason"]
    assert bootstrap_weights(5, n_resamples=0).shape == (0, 5)


def test_bootstrap_parameter_errors():
    with pytest.raises(ConfigError, match=r"The 'n_resamples' parameter of bootstrap_metrics must be an int in the "
                                          r"range \[0, inf\)\. Got -1 instead\."):
        bootstrap_metrics("binary", [0, 1], [0.1, 0.9], n_resamples=-1)
    with pytest.raises(ConfigError, match="Unknown task 'binray'.*Did you mean 'binary'"):
        bootstrap_metrics("binray", [0, 1], [0.1, 0.9])
    with pytest.raises(DataError, match=r"weights must have shape \(n_resamples, 2\)"):
        resampled_metrics("binary", [0, 1], [0.1, 0.9], np.ones((3, 5)))
    with pytest.raises(DataError, match="groups must have the same length"):
        bootstrap_weights(5, groups=[1, 2, 3])
