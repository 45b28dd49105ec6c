"""Shared data and a fake run folder for the evaluation tests (imported by the test modules)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from meddl.evaluation import ConformalClassifier, evaluate_predictions


def make_binary(n: int = 400, seed: int = 0, *, separation: float = 1.0, round_to: int | None = None):
    """Outcomes and probabilities of a moderately good, mis-calibrated model."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(separation * (2 * y - 1) + rng.normal(0, 1.2, n))))
    if round_to is not None:
        p = np.round(p, round_to)  # forces tied scores
    return y, p


def make_multiclass(n: int = 300, k: int = 3, seed: int = 0):
    """Labels drawn from Dirichlet probabilities: the probabilities are calibrated by construction."""
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(k) * 0.7, size=n)
    y = (proba.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return y, proba


def write_run(run_dir, problem: str = "binary", *, n: int = 240, with_history: bool = True,
              with_subgroups: bool = True, seed: int = 0):
    """Write the files a task pipeline leaves in a run folder (small and fast)."""
    rng = np.random.default_rng(seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    if problem == "binary":
        class_names = ["benign", "malignant"]
        splits = {s: make_binary(n, seed + i) for i, s in enumerate(("val", "test"))}
        splits = {s: (y, np.column_stack([1 - p, p])) for s, (y, p) in splits.items()}
    elif problem == "multiclass":
        class_names = ["normal", "pneumonia", "covid"]
        splits = {s: make_multiclass(n, 3, seed + i) for i, s in enumerate(("val", "test"))}
    else:
        class_names = []
        splits = {}
        for s in ("val", "test"):
            y = rng.normal(50, 10, n)
            splits[s] = (y, y + rng.normal(0, 4, n))
    metrics = {}
    for split, (y, out) in splits.items():
        sex = rng.choice(["F", "M"], size=n)
        site = rng.choice(["A", "B", "C"], size=n)
        frame = pd.DataFrame({"row_id": np.arange(n)})
        if problem == "regression":
            frame["y_true"] = y
            frame["predicted"] = out
            score = out
        else:
            frame["y_true"] = [class_names[i] for i in y]
            for j, name in enumerate(class_names):
                frame[f"prob_{name}"] = out[:, j]
            frame["predicted"] = [class_names[i] for i in out.argmax(axis=1)]
            score = out[:, 1] if problem == "binary" else out
        if problem == "binary":
            frame["prediction_set"] = np.where(np.abs(out[:, 1] - 0.5) < 0.2, "benign|malignant",
                                               frame["predicted"])
        if with_subgroups:
            frame["sex"] = sex
            frame["site"] = site
        frame.to_csv(run_dir / f"predictions_{split}.csv", index=False)
        metrics[split] = evaluate_predictions(
            problem, y, score, threshold=0.5 if problem == "binary" else None,
            class_names=class_names or None, subgroups={"sex": sex, "site": site} if with_subgroups else None,
            n_resamples=100, seed=0)
        if problem == "binary":  # as the pipeline stores it when probabilities were recalibrated
            metrics[split]["before_calibration"] = evaluate_predictions(problem, y, score, n_resamples=0)["metrics"]
    metrics["threshold"] = 0.5 if problem == "binary" else None
    if problem != "regression":
        conformal = ConformalClassifier(coverage=0.9).fit(splits["val"][1], splits["val"][0])
        metrics["test"]["conformal"] = conformal.summary(splits["test"][1], splits["test"][0])
    (run_dir / "metrics.json").write_text(json.dumps(metrics, allow_nan=False))
    run = {
        "task": "diagnosis" if problem != "regression" else "regression",
        "problem": problem,
        "class_names": class_names,
        "threshold": 0.5 if problem == "binary" else None,
        "label": "Breast lesion <malignancy>" if problem == "binary" else f"{problem} demo",
        "data_summary": {
            "source": "synthetic.csv",
            "n_rows": 3 * n,
            "split_sizes": {"train": n, "val": n, "test": n},
            "class_balance": {s: {c: int((splits[s][0] == i).sum()) for i, c in enumerate(class_names)}
                              for s in ("val", "test")} if class_names else {},
            "missingness": {"age": 0.0, "tumour_size": 0.25},
        },
        "model": {"preset": "mlp-small", "n_parameters": 1234},
        "calibration": ({"type": "TemperatureScaler", "temperature": 1.3, "n_classes": 2}
                        if problem == "binary" else None),
        "created": "2024-01-01T00:00:00",
        "meddl_version": "0.1.0",
    }
    (run_dir / "run.json").write_text(json.dumps(run))
    if with_history:
        epochs = np.arange(1, 6)
        pd.DataFrame({"epoch": epochs, "loss": 1 / epochs, "val_loss": 1.2 / epochs + 0.01 * epochs,
                      "auc": 0.7 + 0.03 * epochs}).to_csv(run_dir / "history.csv", index=False)
    return run_dir
