"""Point metrics for binary, multi-class and regression predictions.

Each function returns a :class:`MetricDict`: a plain ``dict`` of metric name to
float (or ``None`` when the metric is undefined on this split), with a
``reasons`` attribute that says why each ``None`` is ``None``.

Binary definitions (predicted positive iff ``y_score >= threshold``):

* ``auroc`` — area under the ROC curve (ties count one half), as ``roc_auc_score``.
* ``auprc`` — average precision, as ``average_precision_score``.
* ``accuracy``, ``balanced_accuracy``, ``sensitivity`` (recall), ``specificity``,
  ``ppv`` (precision), ``npv``, ``f1`` — from the confusion matrix at the threshold.
* ``brier`` — mean squared difference between probability and outcome.
* ``ece`` — expected calibration error: 10 equal-width probability bins,
  ``sum_b (n_b / n) |observed rate_b - mean probability_b|``.
* ``calibration_slope`` — slope ``b`` of the logistic fit ``logit P(y=1) = a + b logit(p)``
  (1 is ideal; < 1 means predictions are too extreme).
* ``calibration_intercept`` — calibration-in-the-large: ``a`` in the fit
  ``logit P(y=1) = a + logit(p)`` with the slope fixed at 1 (an offset model);
  0 is ideal, > 0 means the model under-predicts risk on average.

Probabilities are clipped to ``[1e-6, 1 - 1e-6]`` before taking the logit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from meddl.evaluation import _kernels
from meddl.validation import (
    as_float_array,
    binary_labels,
    binary_scores,
    check_fraction,
    check_same_length,
    multiclass_inputs,
)

__all__ = ["MetricDict", "binary_metrics", "multiclass_metrics", "regression_metrics"]


class MetricDict(dict):
    """A ``dict`` of metric values that also carries ``reasons`` for the ``None`` ones.

    >>> m = MetricDict({"auroc": None}, reasons={"auroc": "y_true has one class"})
    >>> m["auroc"] is None, m.reasons["auroc"]
    (True, 'y_true has one class')
    """

    def __init__(self, values: dict | None = None, *, reasons: dict[str, str] | None = None):
        super().__init__(values or {})
        self.reasons: dict[str, str] = dict(reasons or {})


def _to_metric_dict(values: dict[str, np.ndarray], explain) -> MetricDict:
    out = MetricDict()
    for name, array in values.items():
        value = float(array[0])
        if np.isfinite(value):
            out[name] = value
        else:
            out[name] = None
            out.reasons[name] = explain(name)
    return out


def binary_reasons(counts: dict[str, float], threshold: float):
    """Return ``explain(name) -> str`` for undefined binary metrics on a split with these counts."""
    n, pos = counts["n"], counts["positives"]
    neg = n - pos
    one_class = None
    if pos == 0:
        one_class = "y_true has no positive cases (only one class)"
    elif neg == 0:
        one_class = "y_true has no negative cases (only one class)"

    def explain(name: str) -> str:
        if name in ("auroc", "auprc", "balanced_accuracy", "calibration_slope", "calibration_intercept"):
            if one_class:
                return f"{one_class}; {name} needs both classes."
        if name == "sensitivity" and pos == 0:
            return "y_true has no positive cases; sensitivity is undefined."
        if name == "specificity" and neg == 0:
            return "y_true has no negative cases; specificity is undefined."
        if name == "ppv" and counts["predicted_positive"] == 0:
            return f"no case scored at or above the threshold {threshold:g}; PPV is undefined."
        if name == "npv" and counts["predicted_negative"] == 0:
            return f"no case scored below the threshold {threshold:g}; NPV is undefined."
        if name == "f1" and pos == 0 and counts["predicted_positive"] == 0:
            return "no positive cases and no positive predictions; F1 is undefined."
        if name.startswith("calibration_"):
            return ("the logistic recalibration did not converge: the scores separate the classes "
                    "(almost) perfectly, so the fitted slope is unbounded.")
        return f"{name} is undefined on this split."

    return explain


def binary_metrics(y_true: object, y_score: object, threshold: float = 0.5) -> MetricDict:
    """Discrimination, threshold and calibration metrics of a binary classifier.

    Args:
        y_true: 0/1 outcomes, shape (n,).
        y_score: predicted probability of the positive class, shape (n,) (or (n, 2)).
        threshold: a case is predicted positive iff ``y_score >= threshold``.

    Returns:
        A :class:`MetricDict` with the keys listed in the module docstring.

    Raises:
        DataError: on NaN/inf or out-of-range scores, labels other than 0/1, or
            arrays of different lengths.

    >>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(m["auroc"], 2), m["sensitivity"]
    (0.75, 0.5)
    """
    threshold = check_fraction(threshold, "threshold", "binary_metrics")
    y = binary_labels(y_true)
    scores = binary_scores(y_score)
    check_same_length(("y_true", y), ("y_score", scores))
    data = _kernels.prepare_binary(y, scores, threshold)
    values = _kernels.binary_kernel(data, np.ones((1, y.size)))
    return _to_metric_dict(values, binary_reasons(_kernels.binary_counts(data), threshold))


def class_keys(class_names: Sequence[str] | None, k: int) -> list[str]:
    """Names used in per-class metric keys: the class names, or "0", "1", ..."""
    return [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(k)]


def multiclass_reasons(y: np.ndarray, proba: np.ndarray, keys: list[str]):
    """Return ``explain(name) -> str`` for undefined multi-class metrics."""
    present = np.bincount(y, minlength=len(keys))
    predicted = np.bincount(proba.argmax(axis=1), minlength=len(keys))
    missing = [keys[c] for c in range(len(keys)) if present[c] == 0]

    def explain(name: str) -> str:
        if name in ("auroc", "balanced_accuracy") and missing:
            return f"class(es) {missing} have no cases in y_true; the macro average needs every class."
        if name.startswith("sensitivity["):
            return f"class {name[12:-1]} has no cases in y_true; its sensitivity is undefined."
        if name.startswith("ppv[") and predicted[keys.index(name[4:-1])] == 0:
            return f"class {name[4:-1]} is never predicted; its PPV is undefined."
        return f"{name} is undefined on this split."

    return explain


def multiclass_metrics(y_true: object, proba: object, class_names: Sequence[str] | None = None) -> MetricDict:
    """Accuracy, macro one-vs-rest AUROC and per-class sensitivity / PPV.

    The predicted class is the arg-max of ``proba``. ``auroc`` is the unweighted
    mean over classes of the one-vs-rest AUROC of each column (as MedMNIST and
    ``roc_auc_score(multi_class="ovr", average="macro")`` compute it);
    ``balanced_accuracy`` is the mean per-class sensitivity. Per-class keys are
    ``sensitivity[<class>]`` and ``ppv[<class>]``. ``confusion_matrix`` is a list
    of lists (rows: true class, columns: predicted class).

    Args:
        y_true: class indices 0..k-1 (or class names when ``class_names`` is given).
        proba: (n, k) matrix of class probabilities (rows sum to 1).
        class_names: optional names of the k columns, used in the keys.

    >>> m = multiclass_metrics([0, 1, 2], [[.8, .1, .1], [.2, .7, .1], [.3, .3, .4]])
    >>> m["accuracy"], m["confusion_matrix"]
    (1.0, [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    """
    y, matrix = multiclass_inputs(y_true, proba, class_names)
    keys = class_keys(class_names, matrix.shape[1])
    data = _kernels.prepare_multiclass(y, matrix, keys)
    out = _to_metric_dict(_kernels.multiclass_kernel(data, np.ones((1, y.size))), multiclass_reasons(y, matrix, keys))
    out["confusion_matrix"] = confusion_matrix(y, matrix.argmax(axis=1), matrix.shape[1])
    return out


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> list[list[int]]:
    """Counts with rows = true class and columns = predicted class, as plain ints."""
    counts = np.bincount(np.asarray(y_true) * n_classes + np.asarray(y_pred), minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes).astype(int).tolist()


def regression_metrics(y_true: object, y_pred: object) -> MetricDict:
    """Mean squared error, mean absolute error and R² (coefficient of determination).

    R² is ``None`` when ``y_true`` is constant (its variance is zero).

    >>> regression_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 4.0])["mae"]
    0.3333333333333333
    """
    y = as_float_array(y_true, "y_true")
    pred = as_float_array(y_pred, "y_pred")
    check_same_length(("y_true", y), ("y_pred", pred))
    values = _kernels.regression_kernel(_kernels.prepare_regression(y, pred), np.ones((1, y.size)))
    return _to_metric_dict(values, lambda name: "y_true is constant; R² needs variation in the outcome.")
