"""Benchmark of meddl.evaluation: bootstrap CIs of all binary metrics, and the report.

Prints:
  * seconds for every binary metric with 1000 bootstrap resamples on 10,000
    synthetic test predictions (the vectorised implementation);
  * seconds for a naive loop over resamples calling scikit-learn (and a
    logistic fit per resample for the calibration slope / intercept),
    measured on fewer resamples in the same run and extrapolated to 1000;
  * their ratio;
  * seconds to build report.html from a run folder with those predictions.

Run:  PYTHONPATH=src .venv/bin/python bench/evaluation.py [--naive-resamples 20]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize_scalar
from sklearn import metrics as skm
from sklearn.linear_model import LogisticRegression

from meddl.evaluation import bootstrap_metrics, build_report, evaluate_predictions

N = 10_000
RESAMPLES = 1000
THRESHOLD = 0.5


def synthetic(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(1.2 * (2 * y - 1) + rng.normal(0, 1.3, n))))
    return y, p


def naive_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """All binary metrics of one resample, the straightforward scikit-learn way."""
    pred = (p >= THRESHOLD).astype(int)
    tn, fp, fn, tp = skm.confusion_matrix(y, pred, labels=[0, 1]).ravel()
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(abs(y[bins == b].mean() - p[bins == b].mean()) * (bins == b).mean() for b in range(10)
              if (bins == b).any())
    x = np.log(np.clip(p, 1e-6, 1 - 1e-6) / (1 - np.clip(p, 1e-6, 1 - 1e-6)))
    slope = LogisticRegression(C=np.inf, tol=1e-8, max_iter=1000).fit(x[:, None], y).coef_[0, 0]
    intercept = minimize_scalar(lambda a: np.sum(np.logaddexp(0, a + x) - y * (a + x)), bounds=(-10, 10),
                                method="bounded").x
    return {
        "auroc": skm.roc_auc_score(y, p), "auprc": skm.average_precision_score(y, p),
        "accuracy": skm.accuracy_score(y, pred), "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "sensitivity": skm.recall_score(y, pred), "specificity": tn / (tn + fp),
        "ppv": skm.precision_score(y, pred), "npv": tn / (tn + fn), "f1": skm.f1_score(y, pred),
        "brier": skm.brier_score_loss(y, p), "ece": ece, "calibration_slope": slope,
        "calibration_intercept": intercept,
    }


def naive_bootstrap(y: np.ndarray, p: np.ndarray, n_resamples: int) -> None:
    rng = np.random.default_rng(0)
    for _ in range(n_resamples):
        idx = rng.integers(0, y.size, y.size)
        naive_metrics(y[idx], p[idx])


def write_run(run_dir: Path, n: int) -> None:
    """A run folder like a pipeline writes, with n validation and n test predictions."""
    metrics = {}
    for i, split in enumerate(("val", "test")):
        y, p = synthetic(n, seed=i + 1)
        sex = np.random.default_rng(i).choice(["F", "M"], n)
        pd.DataFrame({"row_id": np.arange(n), "y_true": y, "prob_no": 1 - p, "prob_yes": p,
                      "predicted": (p >= THRESHOLD).astype(int), "sex": sex}).to_csv(
            run_dir / f"predictions_{split}.csv", index=False)
        metrics[split] = evaluate_predictions("binary", y, p, threshold=THRESHOLD, subgroups={"sex": sex},
                                              n_resamples=200)
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    (run_dir / "run.json").write_text(json.dumps({
        "task": "diagnosis", "problem": "binary", "class_names": ["no", "yes"], "threshold": THRESHOLD,
        "label": "benchmark", "model": {"preset": "mlp", "n_parameters": 1000},
        "data_summary": {"source": "synthetic", "n_rows": 3 * n, "split_sizes": {"train": n, "val": n, "test": n},
                         "class_balance": {}, "missingness": {}},
        "created": "2024-01-01T00:00:00", "meddl_version": "bench"}))
    epochs = np.arange(1, 21)
    pd.DataFrame({"epoch": epochs, "loss": 1 / epochs, "val_loss": 1.1 / epochs}).to_csv(
        run_dir / "history.csv", index=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--naive-resamples", type=int, default=20, help="resamples timed for the naive baseline")
    args = parser.parse_args()

    y, p = synthetic(N)
    bootstrap_metrics("binary", y[:500], p[:500], n_resamples=20)  # warm-up (imports, caches)

    start, cpu = time.perf_counter(), time.process_time()
    result = bootstrap_metrics("binary", y, p, threshold=THRESHOLD, n_resamples=RESAMPLES, seed=0)
    vectorised, vectorised_cpu = time.perf_counter() - start, time.process_time() - cpu

    start = time.perf_counter()
    naive_bootstrap(y, p, args.naive_resamples)
    naive = (time.perf_counter() - start) / args.naive_resamples * RESAMPLES

    with tempfile.TemporaryDirectory() as folder:
        run_dir = Path(folder)
        write_run(run_dir, N)
        start = time.perf_counter()
        build_report(run_dir)
        report = time.perf_counter() - start
        size = (run_dir / "report.html").stat().st_size

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (timings are wall-clock)")
    print(f"all 13 binary metrics, {RESAMPLES} bootstrap resamples, n={N:,}: {vectorised:.2f} s (vectorised; "
          f"{vectorised_cpu:.2f} s of CPU time)")
    print(f"naive sklearn loop, {args.naive_resamples} resamples timed, extrapolated to {RESAMPLES}: {naive:.1f} s")
    print(f"speed-up: {naive / vectorised:.0f}x")
    print(f"report.html from a run with {N:,} test predictions: {report:.2f} s ({size / 1e6:.2f} MB)")
    auroc = result["auroc"]
    print(f"(check) AUROC {auroc['value']:.4f} [{auroc['ci95'][0]:.4f}, {auroc['ci95'][1]:.4f}]")


if __name__ == "__main__":
    main()
