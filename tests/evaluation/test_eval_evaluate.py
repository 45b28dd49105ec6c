"""evaluate_predictions (the metrics.json of one split), choose_threshold and subgroups."""

import json

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix as sk_confusion_matrix

from meddl.errors import ConfigError, DataError
from meddl.evaluation import (
    binary_metrics,
    choose_threshold,
    delong_auroc,
    evaluate_predictions,
    flag_subgroup,
    subgroup_metrics,
)

from .eval_helpers import make_binary, make_multiclass


def _assert_json_safe(obj):
    text = json.dumps(obj, allow_nan=False)
    assert json.loads(text) == obj


def test_binary_result_structure():
    y, p = make_binary(300, seed=1)
    out = evaluate_predictions("binary", y, p, threshold=0.4, n_resamples=100)
    _assert_json_safe(out)
    assert out["n"] == 300 and out["threshold"] == 0.4 and out["task"] == "binary"
    assert set(out["metrics"]) == set(binary_metrics(y, p))
    assert out["metrics"]["sensitivity"]["value"] == pytest.approx(binary_metrics(y, p, 0.4)["sensitivity"])
    assert out["confusion_matrix"] == sk_confusion_matrix(y, (p >= 0.4).astype(int)).tolist()
    delong = delong_auroc(y, p)
    assert out["auroc_delong"]["value"] == pytest.approx(delong["value"])
    assert out["auroc_delong"]["ci95"] == pytest.approx(delong["ci95"])
    assert out["subgroups"] == {} and out["bootstrap"] == {"n_resamples": 100, "seed": 0, "resampled": "rows"}


def test_default_threshold_is_one_half_and_labels_may_be_class_names():
    y, p = make_binary(120, seed=2)
    names = np.array(["benign", "malignant"])[y]
    out = evaluate_predictions("binary", names, p, class_names=["benign", "malignant"], n_resamples=50)
    assert out["threshold"] == 0.5
    assert out["metrics"] == evaluate_predictions("binary", y, p, n_resamples=50)["metrics"]


def test_results_are_reproducible_with_the_seed():
    y, p = make_binary(200, seed=3)
    first = evaluate_predictions("binary", y, p, n_resamples=80, seed=4)
    assert first == evaluate_predictions("binary", y, p, n_resamples=80, seed=4)
    assert first != evaluate_predictions("binary", y, p, n_resamples=80, seed=5)


def test_degenerate_split_is_json_safe_with_reasons():
    out = evaluate_predictions("binary", [0] * 30, np.linspace(0, 1, 30), n_resamples=50)
    _assert_json_safe(out)
    assert out["metrics"]["auroc"]["value"] is None and out["metrics"]["auroc"]["reason"]
    assert out["auroc_delong"]["value"] is None and "at least 2 of each" in out["auroc_delong"]["reason"]


def test_multiclass_and_regression_results():
    y, proba = make_multiclass(150, 3, seed=2)
    out = evaluate_predictions("multiclass", y, proba, class_names=["a", "b", "c"], threshold=0.3, n_resamples=50)
    _assert_json_safe(out)
    assert out["threshold"] is None and "sensitivity[b]" in out["metrics"]
    assert out["confusion_matrix"] == sk_confusion_matrix(y, proba.argmax(axis=1)).tolist()
    rng = np.random.default_rng(0)
    target = rng.normal(size=100)
    out = evaluate_predictions("regression", target, target + rng.normal(0, 0.3, 100), n_resamples=50,
                               groups=np.arange(100) // 4)
    _assert_json_safe(out)
    assert set(out["metrics"]) == {"mse", "mae", "r2"} and out["confusion_matrix"] is None
    assert out["bootstrap"]["resampled"] == "patients"


def test_subgroups_are_evaluated_and_a_bad_subgroup_is_flagged():
    rng = np.random.default_rng(0)
    n = 1200
    y = rng.integers(0, 2, n)
    site = np.where(np.arange(n) < 800, "good site", "bad site")
    signal = np.where(site == "good site", 2.5, 0.0) * (2 * y - 1)
    p = 1 / (1 + np.exp(-(signal + rng.normal(0, 1, n))))
    out = evaluate_predictions("binary", y, p, subgroups={"site": site, "sex": rng.choice(["F", "M"], n)},
                               n_resamples=200)
    _assert_json_safe(out)
    sites = out["subgroups"]["site"]
    assert sites["good site"]["n"] == 800 and sites["bad site"]["n"] == 400
    assert sites["bad site"]["flagged"] and not sites["good site"]["flagged"]
    assert not any(v["flagged"] for v in out["subgroups"]["sex"].values())
    assert sites["bad site"]["metrics"]["auroc"]["value"] == pytest.approx(
        binary_metrics(y[site == "bad site"], p[site == "bad site"])["auroc"])


def test_subgroup_metrics_labels_missing_values_and_checks_lengths():
    y, p = make_binary(60, seed=1)
    values = np.array([1.0, 2.0, np.nan] * 20, dtype=object)
    out = subgroup_metrics("binary", y, p, {"stage": values}, n_resamples=30)
    assert sorted(out["stage"]) == ["1", "2", "missing"]
    as_text = subgroup_metrics("binary", y, p, {"stage": values.astype(str)}, n_resamples=30)
    assert sorted(as_text["stage"]) == ["1.0", "2.0", "missing"]
    with pytest.raises(DataError, match=r"y_true and subgroups\['stage'\] must have the same length; got 60 and 3"):
        subgroup_metrics("binary", y, p, {"stage": [1, 2, 3]})


def test_flag_subgroup_rule():
    assert flag_subgroup({"value": 0.6, "ci95": [0.5, 0.79]}, 0.8)
    assert not flag_subgroup({"value": 0.7, "ci95": [0.5, 0.85]}, 0.8)
    assert not flag_subgroup({"value": 0.7, "ci95": None}, 0.8)
    assert not flag_subgroup(None, 0.8)


def test_youden_threshold_maximises_sensitivity_plus_specificity():
    y, p = make_binary(300, seed=6, round_to=2)
    threshold = choose_threshold(y, p, method="youden")
    j = [binary_metrics(y, p, t)["sensitivity"] + binary_metrics(y, p, t)["specificity"] for t in np.unique(p)]
    best = binary_metrics(y, p, threshold)
    assert best["sensitivity"] + best["specificity"] == pytest.approx(max(j))


def test_sensitivity_threshold_is_the_largest_reaching_the_target():
    y, p = make_binary(300, seed=7)
    threshold = choose_threshold(y, p, method="sensitivity", target=0.9)
    assert binary_metrics(y, p, threshold)["sensitivity"] >= 0.9
    above = np.unique(p[p > threshold])  # above[0] is the cut's own score: same decisions as the threshold
    assert binary_metrics(y, p, above[0])["sensitivity"] == binary_metrics(y, p, threshold)["sensitivity"]
    assert binary_metrics(y, p, above[1])["sensitivity"] < 0.9
    below = np.max(p[p < threshold])
    assert threshold == pytest.approx((above[0] + below) / 2)  # halfway to the next lower score


def test_fixed_threshold_and_threshold_errors():
    assert choose_threshold([0, 1], [0.2, 0.8], method="fixed", target=0.3) == 0.3
    with pytest.raises(ConfigError, match="Unknown threshold method 'yoden'.*Did you mean 'youden'"):
        choose_threshold([0, 1], [0.2, 0.8], method="yoden")
    with pytest.raises(ConfigError, match="needs target, the sensitivity to reach"):
        choose_threshold([0, 1], [0.2, 0.8], method="sensitivity")
    with pytest.raises(ConfigError, match="needs target, the threshold to use"):
        choose_threshold([0, 1], [0.2, 0.8], method="fixed")
    with pytest.raises(DataError, match="y_true has only one class"):
        choose_threshold([1, 1], [0.2, 0.8])


def test_evaluate_errors_name_the_argument():
    with pytest.raises(ConfigError, match="Unknown task 'regresion'.*Did you mean 'regression'"):
        evaluate_predictions("regresion", [1.0], [1.0])
    with pytest.raises(DataError, match=r"y_score contains 1 NaN or infinite values \(first at index 2\)"):
        evaluate_predictions("binary", [0, 1, 0], [0.1, 0.2, np.nan])
    with pytest.raises(ConfigError, match=r"The 'threshold' parameter of evaluate_predictions must be a float"):
        evaluate_predictions("binary", [0, 1, 0], [0.1, 0.2, 0.3], threshold=-1)
