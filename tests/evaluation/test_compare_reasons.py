"""meddl compare never prints a bare "n/a": each missing value or interval says why (and for which model)."""

import argparse

import numpy as np

import meddl.cli as cli
from meddl.evaluation import compare_predictions


def test_a_metric_missing_for_one_model_names_that_model():
    y = np.tile([0, 1], 20)
    good = np.where(y == 1, 0.8, 0.2)
    silent = np.full(y.size, 0.1)  # never at or above 0.5: B has no PPV
    out = compare_predictions(y, good, silent, n_resamples=20)
    assert out["metrics"]["ppv"]["difference"] is None
    assert out["metrics"]["ppv"]["reason"].startswith("not computable for model B: no case scored at or above")
    swapped = compare_predictions(y, silent, good, n_resamples=20)
    assert swapped["metrics"]["ppv"]["reason"].startswith("not computable for model A:")
    one_class = compare_predictions(np.zeros(20), good[:20], silent[:20], n_resamples=20)
    assert one_class["metrics"]["auprc"]["reason"].startswith("not computable for models A and B: y_true has no "
                                                             "positive cases")


def _printed(monkeypatch, capsys, metrics):
    monkeypatch.setattr(cli, "compare_runs", lambda *a, **k: {"n": 30, "metrics": metrics})
    args = argparse.Namespace(run_a="a", run_b="b", split="test", resamples=0, out=None)
    assert cli.cmd_compare(args) == 0
    return capsys.readouterr().out.splitlines()


def test_compare_prints_why_a_difference_has_no_interval(monkeypatch, capsys):
    no_bootstrap = "no bootstrap interval requested (n_resamples=0)."
    lines = _printed(monkeypatch, capsys, {
        "auroc": {"a": 0.85, "b": 0.87, "difference": -0.02, "ci95": [-0.05, 0.01], "p_value": 0.2,
                  "method": "delong"},
        "accuracy": {"a": 0.77, "b": 0.70, "difference": 0.07, "ci95": None, "p_value": None,
                     "method": "paired bootstrap", "reason": no_bootstrap},
        "brier": {"a": 0.17, "b": 0.15, "difference": 0.02, "ci95": None, "p_value": None,
                  "method": "paired bootstrap", "reason": no_bootstrap},
        "ppv": {"a": 0.6, "b": None, "difference": None, "ci95": None, "p_value": None,
                "method": "paired bootstrap", "reason": "not computable for model B: no case scored at or above"},
    })
    rows = {line.split()[0]: line for line in lines[2:]}
    assert "see [" not in rows["auroc"]
    assert rows["accuracy"].endswith("(no CI or p: see [1])") and rows["brier"].endswith("(no CI or p: see [1])")
    assert f"  [1] {no_bootstrap}" in lines and sum(no_bootstrap in line for line in lines) == 1
    assert "n/a  (not computable for model B" in rows["ppv"]
