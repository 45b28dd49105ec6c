"""Compare two models evaluated on the same cases (``meddl compare RUN_A RUN_B``).

For each metric: value of model A, value of model B, the difference A - B,
its 95% CI and a two-sided p-value.

* AUROC (binary): the paired DeLong test (:func:`~meddl.evaluation.delong_test`).
* Every other metric: a paired bootstrap -- both models are scored on the
  same resamples (of rows, or of patients with ``groups``), so the
  correlation between them is kept. The CI is the percentile interval of the
  resampled differences; the p-value inverts it: ``p = 2 * min(P(d <= 0),
  P(d >= 0))`` over resamples, with the add-one correction ``(count + 1) /
  (B + 1)`` so it is never exactly 0, capped at 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from meddl.errors import DataError
from meddl.evaluation import _kernels
from meddl.validation import (
    check_fraction,
    check_groups,
    check_positive_int,
    check_task,
)
from meddl.io import json_float, json_safe
from meddl.evaluation.bootstrap import iter_bootstrap_weights, map_blocks, prepare_task, undefined_reason
from meddl.evaluation.delong import delong_test

__all__ = ["compare_predictions", "bootstrap_p_value"]


def bootstrap_p_value(differences: np.ndarray) -> float:
    """Two-sided p-value of "no difference" from resampled differences (see module docstring).

    >>> bootstrap_p_value(np.array([0.1, 0.2, 0.3, -0.05]))
    0.8
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    below = (np.count_nonzero(d <= 0) + 1) / (d.size + 1)
    above = (np.count_nonzero(d >= 0) + 1) / (d.size + 1)
    return float(min(1.0, 2 * min(below, above)))


def compare_predictions(y_true: object, score_a: object, score_b: object, threshold_a: float = 0.5,
                        threshold_b: float = 0.5, *, task: str = "binary",
                        class_names: Sequence[str] | None = None, groups: object = None,
                        n_resamples: int = 1000, seed: int = 0, min_samples: int = 10,
                        max_undefined: float = 0.1) -> dict:
    """Paired comparison of two models' predictions on the same cases.

    Args:
        y_true: outcomes (as for :func:`~meddl.evaluation.evaluate_predictions`).
        score_a, score_b: the two models' outputs for the same rows, in the same order.
        threshold_a, threshold_b: each model's decision threshold (binary only).
        task: "binary", "multiclass" or "regression".
        class_names: class names (per-class metric keys).
        groups: patient ids; resample patients instead of rows.
        n_resamples, seed: the paired bootstrap.
        min_samples, max_undefined: as for :func:`~meddl.evaluation.bootstrap_metrics`.

    Returns:
        ``{"n", "task", "threshold_a", "threshold_b", "metrics": {name: {"a", "b",
        "difference", "ci95", "p_value", "method", ["reason"]}}, "bootstrap": {...}}``,
        JSON-safe.
    """
    task = check_task(task)
    owner = "compare_predictions"
    threshold_a = check_fraction(threshold_a, "threshold_a", owner)
    threshold_b = check_fraction(threshold_b, "threshold_b", owner)
    n_resamples = check_positive_int(n_resamples, "n_resamples", owner, minimum=0)
    min_samples = check_positive_int(min_samples, "min_samples", owner)
    max_undefined = check_fraction(max_undefined, "max_undefined", owner)
    n, data_a, kernel, explain_a = prepare_task(task, y_true, score_a, threshold_a, class_names)
    n_b, data_b, _, explain_b = prepare_task(task, y_true, score_b, threshold_b, class_names)
    if n_b != n:
        raise DataError(f"score_a and score_b must have the same length; got {n} and {n_b}.")
    ones = np.ones((1, n))
    point_a, point_b = kernel(data_a, ones), kernel(data_b, ones)
    if task == "binary":
        _kernels.warm_start(data_a, point_a)
        _kernels.warm_start(data_b, point_b)
    metrics: dict[str, dict] = {}
    for name in point_a:
        a, b = json_float(point_a[name][0]), json_float(point_b[name][0])
        entry = {"a": a, "b": b, "difference": None if a is None or b is None else a - b,
                 "ci95": None, "p_value": None, "method": "paired bootstrap"}
        if a is None or b is None:  # say whose value is missing: the two models may differ (PPV at a threshold)
            which = "models A and B" if a is None and b is None else f"model {'A' if a is None else 'B'}"
            entry["reason"] = f"not computable for {which}: {explain_a(name) if a is None else explain_b(name)}"
        metrics[name] = entry

    codes = check_groups(groups, n)
    units = n if codes is None else int(codes.max()) + 1
    if units < min_samples or n_resamples == 0:
        reason = (f"only {units} {'patients' if groups is not None else 'samples'} (fewer than {min_samples}): "
                  "no bootstrap interval." if n_resamples else "no bootstrap interval requested (n_resamples=0).")
        for entry in metrics.values():
            entry.setdefault("reason", reason)
    else:
        def paired(weights: np.ndarray) -> dict[str, np.ndarray]:
            values_a, values_b = kernel(data_a, weights), kernel(data_b, weights)
            with np.errstate(invalid="ignore"):  # inf - inf (an unbounded slope in both) is undefined, counted below
                return {name: values_a[name] - values_b[name] for name in metrics}

        blocks = map_blocks(paired, iter_bootstrap_weights(n, n_resamples=n_resamples, seed=seed, groups=codes))
        for name, entry in metrics.items():
            if entry["difference"] is None:
                continue
            d = np.concatenate([block[name] for block in blocks])
            undefined = int(np.count_nonzero(~np.isfinite(d)))
            if undefined > max_undefined * d.size:
                entry["reason"] = undefined_reason(undefined, d.size, max_undefined)
                continue
            entry["ci95"] = np.percentile(d[np.isfinite(d)], [2.5, 97.5]).tolist()
            entry["p_value"] = bootstrap_p_value(d)

    if task == "binary" and "auroc" in metrics:
        labels = data_a.y.astype(int)
        if min(labels.sum(), labels.size - labels.sum()) >= 2:
            test = delong_test(labels, data_a.score, data_b.score)
            metrics["auroc"].update({"a": test["auroc_a"], "b": test["auroc_b"], "difference": test["difference"],
                                     "ci95": test["ci95"], "p_value": test["p_value"], "method": "delong",
                                     "z": test["z"]})
            metrics["auroc"].pop("reason", None)
        else:
            metrics["auroc"].update({"ci95": None, "p_value": None, "method": "delong"})
            metrics["auroc"]["reason"] = "DeLong's test needs at least 2 positive and 2 negative cases."
    return json_safe({
        "task": task, "n": n, "threshold_a": threshold_a if task == "binary" else None,
        "threshold_b": threshold_b if task == "binary" else None, "metrics": metrics,
        "bootstrap": {"n_resamples": n_resamples, "seed": seed,
                      "resampled": "patients" if groups is not None else "rows"},
    })
