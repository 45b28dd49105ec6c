"""Paired comparison of two models on the same cases."""

import json
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest

from meddl.errors import DataError, ModelFileError
from meddl.evaluation import binary_metrics, bootstrap_p_value, compare_predictions, delong_test
from meddl.runs import RunFolder, compare_runs

from .eval_helpers import make_binary, make_multiclass, write_run


def _two_models(n=600, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    signal = 2 * y - 1
    good = 1 / (1 + np.exp(-(1.5 * signal + rng.normal(0, 1, n))))
    weak = 1 / (1 + np.exp(-(0.3 * signal + rng.normal(0, 1, n))))
    return y, good, weak


def test_better_model_wins_with_small_p_values():
    y, good, weak = _two_models()
    out = compare_predictions(y, good, weak, 0.5, 0.5, n_resamples=300)
    assert out["metrics"]["auroc"]["method"] == "delong"
    assert out["metrics"]["auroc"]["difference"] > 0.2 and out["metrics"]["auroc"]["p_value"] < 1e-6
    assert out["metrics"]["accuracy"]["method"] == "paired bootstrap"
    assert out["metrics"]["accuracy"]["p_value"] < 0.01
    assert out["metrics"]["accuracy"]["ci95"][0] > 0
    json.dumps(out, allow_nan=False)


def test_values_and_differences_match_the_single_model_metrics():
    y, good, weak = _two_models(seed=1)
    out = compare_predictions(y, good, weak, threshold_a=0.4, threshold_b=0.6, n_resamples=100)
    a, b = binary_metrics(y, good, 0.4), binary_metrics(y, weak, 0.6)
    for name in ("sensitivity", "ppv", "brier", "calibration_slope"):
        entry = out["metrics"][name]
        assert entry["a"] == pytest.approx(a[name]) and entry["b"] == pytest.approx(b[name])
        assert entry["difference"] == pytest.approx(a[name] - b[name])
    test = delong_test(y, good, weak)
    assert out["metrics"]["auroc"]["ci95"] == pytest.approx(test["ci95"])
    assert out["metrics"]["auroc"]["p_value"] == pytest.approx(test["p_value"])


def test_identical_models_show_no_difference():
    y, p = make_binary(200)
    out = compare_predictions(y, p, p.copy(), n_resamples=100)
    for entry in out["metrics"].values():
        assert entry["difference"] == 0
        assert entry["p_value"] == 1.0


def test_paired_bootstrap_is_narrower_than_treating_the_models_as_independent():
    rng = np.random.default_rng(3)
    y, p = make_binary(500, seed=3)
    p2 = np.clip(p + rng.normal(0, 0.02, p.size), 0, 1)  # almost the same model
    out = compare_predictions(y, p, p2, n_resamples=300)
    lo, hi = out["metrics"]["brier"]["ci95"]
    assert hi - lo < 0.01


def test_patient_resampling_is_reported_and_multiclass_is_supported():
    y, proba = make_multiclass(240, 3, seed=4)
    other = np.roll(proba, 1, axis=1)
    out = compare_predictions(y, proba, other, task="multiclass", groups=np.arange(240) // 2, n_resamples=100)
    assert out["bootstrap"]["resampled"] == "patients" and out["threshold_a"] is None
    assert out["metrics"]["auroc"]["method"] == "paired bootstrap"
    assert out["metrics"]["accuracy"]["difference"] > 0


def test_tiny_comparison_has_no_intervals():
    out = compare_predictions([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], [0.3, 0.6, 0.4, 0.5])
    assert out["metrics"]["accuracy"]["ci95"] is None and "fewer than 10" in out["metrics"]["accuracy"]["reason"]
    assert out["metrics"]["auroc"]["method"] == "delong"  # 2 of each class is enough for DeLong


def test_compare_rejects_mismatched_predictions():
    with pytest.raises(DataError, match="y_true and y_score must have the same length; got 3 and 2"):
        compare_predictions([0, 1, 0], [0.1, 0.2, 0.3], [0.1, 0.2])


def test_bootstrap_p_value_inverts_the_percentile_interval():
    assert bootstrap_p_value(np.ones(999)) == pytest.approx(2 / 1000)
    assert bootstrap_p_value(np.r_[np.ones(900), -np.ones(99)]) == pytest.approx(2 * 100 / 1000)
    assert bootstrap_p_value(np.zeros(50)) == 1.0


def test_compare_runs_matches_rows_by_id_and_uses_each_threshold(tmp_path):
    run_a = write_run(tmp_path / "a", "binary", n=150, with_history=False)
    run_b = tmp_path / "b"
    shutil.copytree(run_a, run_b)
    frame = pd.read_csv(run_b / "predictions_test.csv").sample(frac=1.0, random_state=0)  # other row order
    frame["prob_malignant"] = np.clip(frame["prob_malignant"] * 0.5 + 0.25, 0, 1)
    frame["prob_benign"] = 1 - frame["prob_malignant"]
    frame.to_csv(run_b / "predictions_test.csv", index=False)
    run_json = json.loads((run_b / "run.json").read_text())
    run_json["threshold"] = 0.45
    (run_b / "run.json").write_text(json.dumps(run_json))
    out = compare_runs(run_a, run_b, n_resamples=100)
    assert out["threshold_a"] == 0.5 and out["threshold_b"] == 0.45
    original = pd.read_csv(run_a / "predictions_test.csv")
    y = (original["y_true"] == "malignant").to_numpy().astype(int)
    b_scores = pd.read_csv(run_b / "predictions_test.csv").set_index("row_id").loc[original["row_id"], "prob_malignant"]
    expected = compare_predictions(y, original["prob_malignant"], b_scores, 0.5, 0.45, n_resamples=100)
    for name, entry in expected["metrics"].items():
        assert out["metrics"][name]["difference"] == pytest.approx(entry["difference"], rel=1e-9), name
        assert out["metrics"][name]["ci95"] == pytest.approx(entry["ci95"], rel=1e-9), name
    assert out["metrics"]["auroc"]["difference"] == pytest.approx(0, abs=1e-12)  # same ranking
    assert out["metrics"]["calibration_slope"]["difference"] != 0


def test_compare_runs_refuses_runs_on_different_cases(tmp_path):
    run_a = write_run(tmp_path / "a", "binary", n=60, with_history=False)
    run_b = write_run(tmp_path / "b", "binary", n=50, with_history=False)
    with pytest.raises(DataError, match="not tested on the same cases"):
        compare_runs(run_a, run_b, n_resamples=10)
    with pytest.raises(ModelFileError, match="is not a complete meddl run folder"):
        compare_runs(run_a, tmp_path, n_resamples=10)
    (run_b / "predictions_test.csv").unlink()
    with pytest.raises(ModelFileError, match="has no predictions_test.csv"):
        compare_runs(run_a, run_b, n_resamples=10)


def test_compare_runs_refuses_an_edited_predictions_file_and_a_survival_run(tmp_path):
    run_a = write_run(tmp_path / "a", "binary", n=60, with_history=False)
    run_b = write_run(tmp_path / "b", "binary", n=60, with_history=False)
    info = json.loads((run_b / "run.json").read_text())
    (run_b / "run.json").write_text(json.dumps({**info, "format_version": 2}))
    RunFolder(run_b).write_manifest()
    compare_runs(run_a, run_b, n_resamples=10)
    frame = pd.read_csv(run_b / "predictions_test.csv")
    frame["prob_malignant"] = 1 - frame["prob_malignant"]  # someone "fixed" the predictions by hand
    frame.to_csv(run_b / "predictions_test.csv", index=False)
    with pytest.raises(ModelFileError, match="'predictions_test.csv' has changed since the run was written"):
        compare_runs(run_a, run_b, n_resamples=10)
    survival = write_run(tmp_path / "s", "binary", n=60, with_history=False)
    info = json.loads((survival / "run.json").read_text())
    (survival / "run.json").write_text(json.dumps({**info, "task": "survival", "problem": "survival"}))
    with pytest.raises(DataError, match="compares diagnosis and regression runs.*'.*s' is a survival run"):
        compare_runs(run_a, survival, n_resamples=10)


def test_comparing_two_unbounded_calibration_slopes_warns_nothing():
    y = np.array([0] * 30 + [1] * 30)
    separating = np.r_[np.linspace(0.05, 0.4, 30), np.linspace(0.6, 0.95, 30)]  # both models separate perfectly
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        out = compare_predictions(y, separating, separating ** 1.1, 0.5, 0.5, n_resamples=50)
    assert out["metrics"]["calibration_slope"]["ci95"] is None
