"""The one entry point the task pipelines call: metrics of one split, ready for JSON.

``evaluate_predictions`` returns the structure stored per split in a run's
``metrics.json``::

    {
      "task": "binary",
      "n": 1200,
      "threshold": 0.42,
      "metrics": {"auroc": {"value": 0.91, "ci95": [0.89, 0.93]},
                  "ppv": {"value": None, "ci95": None, "reason": "..."}, ...},
      "auroc_delong": {"value": 0.91, "ci95": [0.89, 0.93]},      # binary only
      "confusion_matrix": [[tn, fp], [fn, tp]],                    # rows: true class
      "subgroups": {"sex": {"F": {"n": ..., "metrics": {...}, "flagged": False}, ...}},
      "bootstrap": {"n_resamples": 1000, "seed": 0, "resampled": "patients"}
    }

Every number is a Python float/int or ``None`` (never NaN), so
``json.dumps(result, allow_nan=False)`` always works.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import roc_curve

from meddl.errors import ConfigError, DataError, unknown_name_error
from meddl.validation import (
    binary_labels,
    binary_scores,
    check_fraction,
    check_same_length,
    check_task,
    multiclass_inputs,
)
from meddl.io import json_safe
from meddl.evaluation.bootstrap import bootstrap_metrics
from meddl.evaluation.delong import delong_auroc
from meddl.evaluation.metrics import confusion_matrix
from meddl.evaluation.subgroups import subgroup_metrics

__all__ = ["evaluate_predictions", "choose_threshold"]

_THRESHOLD_METHODS = ("youden", "sensitivity", "fixed")


def _auroc_delong(y: np.ndarray, scores: np.ndarray) -> dict:
    positives = int(y.sum())
    if positives < 2 or y.size - positives < 2:
        return {"value": None, "ci95": None,
                "reason": f"{positives} positive and {y.size - positives} negative cases; DeLong's interval "
                          "needs at least 2 of each."}
    result = delong_auroc(y, scores)
    return {"value": result["value"], "ci95": result["ci95"], "se": result["se"]}


def evaluate_predictions(task: str, y_true: object, y_score: object, *, threshold: float | None = None,
                         class_names: Sequence[str] | None = None, groups: object = None,
                         subgroups: Mapping[str, object] | None = None, n_resamples: int = 1000,
                         seed: int = 0) -> dict:
    """Metrics with 95% bootstrap CIs for one split, as stored in ``metrics.json``.

    Args:
        task: "binary", "multiclass" or "regression".
        y_true: outcomes: 0/1 (binary), class indices or names (multiclass), numbers (regression).
        y_score: binary: probability of the positive class (n,); multiclass: (n, k)
            probabilities; regression: predictions (n,).
        threshold: binary decision threshold (default 0.5); ignored otherwise.
        class_names: class names (per-class metric keys; lets y_true hold names).
        groups: patient ids; the bootstrap then resamples patients, not rows.
        subgroups: ``{column: values}`` for per-subgroup metrics (e.g. sex, site).
        n_resamples: bootstrap resamples (0: point values only, no intervals).
        seed: bootstrap seed.

    Returns:
        A JSON-safe dict; see the module docstring.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 300)
        >>> p = np.clip(0.3 * y + rng.uniform(0, 0.7, 300), 0, 1)
        >>> result = evaluate_predictions("binary", y, p, threshold=0.5, n_resamples=200)
        >>> sorted(result)[:4]
        ['auroc_delong', 'bootstrap', 'confusion_matrix', 'metrics']
    """
    task = check_task(task)
    if task == "binary":
        threshold = 0.5 if threshold is None else check_fraction(threshold, "threshold", "evaluate_predictions")
    else:
        threshold = None
    metrics = bootstrap_metrics(task, y_true, y_score, threshold=threshold if threshold is not None else 0.5,
                                class_names=class_names, groups=groups, n_resamples=n_resamples, seed=seed)
    n = len(np.asarray(y_true))
    result: dict = {"task": task, "n": n, "threshold": threshold, "metrics": metrics}
    if task == "binary":
        y = binary_labels(y_true, class_names)
        scores = binary_scores(y_score)
        result["auroc_delong"] = _auroc_delong(y, scores)
        result["confusion_matrix"] = confusion_matrix(y, (scores >= threshold).astype(int), 2)
    elif task == "multiclass":
        y, proba = multiclass_inputs(y_true, y_score, class_names, name="y_score")
        result["confusion_matrix"] = confusion_matrix(y, proba.argmax(axis=1), proba.shape[1])
    else:
        result["confusion_matrix"] = None
    if subgroups:
        labels = (binary_labels(y_true, class_names) if task == "binary"
                  else multiclass_inputs(y_true, y_score, class_names, name="y_score")[0] if task == "multiclass"
                  else np.asarray(y_true, dtype=float))
        overall = metrics.get("auroc", {}).get("value")
        result["subgroups"] = subgroup_metrics(
            task, labels, np.asarray(y_score, dtype=float), subgroups,
            threshold=threshold if threshold is not None else 0.5,
            class_names=class_names, groups=groups, n_resamples=n_resamples, seed=seed, overall_auroc=overall,
        )
    else:
        result["subgroups"] = {}
    result["bootstrap"] = {"n_resamples": int(n_resamples), "seed": int(seed),
                           "resampled": "patients" if groups is not None else "rows"}
    return json_safe(result)


def choose_threshold(y_true: object, y_score: object, method: str = "youden", target: float | None = None) -> float:
    """Pick a decision threshold on a validation split (a case is positive iff score >= threshold).

    Args:
        y_true: 0/1 outcomes.
        y_score: probability of the positive class.
        method: "youden" -- maximise sensitivity + specificity - 1 (the highest such
            cut when several tie); "sensitivity" -- the largest cut whose sensitivity
            reaches ``target``; "fixed" -- return ``target``. The threshold returned lies
            halfway between the cut's score and the next lower validation score: it makes
            the same decisions on the validation split and is less brittle on new cases.
        target: the sensitivity to reach, or the fixed threshold.

    >>> round(choose_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]), 6)
    0.6
    >>> round(choose_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], method="sensitivity", target=1.0), 6)
    0.225
    """
    if method not in _THRESHOLD_METHODS:
        raise unknown_name_error("threshold method", method, _THRESHOLD_METHODS, error_class=ConfigError)
    if method == "fixed":
        if target is None:
            raise ConfigError("choose_threshold(method='fixed') needs target, the threshold to use (e.g. 0.5).")
        return check_fraction(target, "target", "choose_threshold")
    y = binary_labels(y_true)
    scores = binary_scores(y_score)
    check_same_length(("y_true", y), ("y_score", scores))
    if y.min() == y.max():
        raise DataError(f"y_true has only one class ({int(y[0])}); choosing a threshold needs both positive "
                        "and negative cases.")
    fpr, tpr, thresholds = roc_curve(y, scores, drop_intermediate=False)
    finite = np.isfinite(thresholds) & (thresholds <= 1)
    fpr, tpr, thresholds = fpr[finite], tpr[finite], thresholds[finite]
    if method == "youden":
        index = int(np.argmax(tpr - fpr))
    else:
        if target is None:
            raise ConfigError("choose_threshold(method='sensitivity') needs target, the sensitivity to reach (e.g. 0.9).")
        target = check_fraction(target, "target", "choose_threshold")
        index = int(np.argmax(tpr >= target - 1e-12))
    # Halfway to the next lower validation score: the same decisions on the validation split, but new cases
    # just below the lowest chosen score (common when the validation classes separate) are not cut off.
    if index + 1 < len(thresholds):
        return float((thresholds[index] + thresholds[index + 1]) / 2)
    return float(thresholds[index])
