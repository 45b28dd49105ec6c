"""Keras's confusion-matrix metrics: counts, a rate at a fixed operating point, and F-scores.

These are the numbers a clinical reader asks for: how many cases were missed
(``FalseNegatives``), the sensitivity of a screening test held at 95%
specificity (``SensitivityAtSpecificity(0.95)``), the precision at a required
recall. Keras searches 200 fixed thresholds for the operating point; meddl
tries every distinct score (sklearn's ``roc_curve`` / ``precision_recall_curve``),
so its values are exact and can differ from Keras's in the third decimal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from meddl.errors import MeddlError
from meddl.training.metric_objects import Metric

__all__ = ["TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives", "SensitivityAtSpecificity",
           "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision", "FBetaScore", "F1Score"]


def _fraction(value: Any, argument: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise MeddlError(f"The '{argument}' parameter of {owner} must be a float in the range [0, 1]. "
                         f"Got {value!r} instead.")
    return float(value)


def _no_class_id(class_id: Any, owner: str) -> None:
    if class_id is not None:
        raise MeddlError(f"{owner}: class_id is not supported by meddl; give it the scores of one class "
                         "(a sigmoid output, or the positive class of a two-class softmax).")


class _Count(Metric):
    """One cell of the confusion matrix at ``thresholds`` (a score above it is predicted positive)."""

    sparse_targets = "positive_column"

    def __init__(self, thresholds: float | None = None, name: str | None = None, dtype=None):
        if isinstance(thresholds, (list, tuple)):
            if len(thresholds) != 1:
                raise MeddlError(f"{type(self).__name__} in meddl takes one threshold; got {list(thresholds)}.")
            thresholds = thresholds[0]
        self.threshold = 0.5 if thresholds is None else _fraction(thresholds, "thresholds", type(self).__name__)
        super().__init__(name, dtype)

    def compute(self, y_true, y_pred):
        predicted = y_pred.reshape(-1) > self.threshold
        actual = y_true.reshape(-1) > 0.5
        return float(((predicted == self.predicted_positive) & (actual == self.actually_positive)).sum())

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.threshold}


class TruePositives(_Count):
    default_name, predicted_positive, actually_positive = "true_positives", True, True


class TrueNegatives(_Count):
    default_name, predicted_positive, actually_positive = "true_negatives", False, False


class FalsePositives(_Count):
    default_name, predicted_positive, actually_positive = "false_positives", True, False


class FalseNegatives(_Count):
    default_name, predicted_positive, actually_positive = "false_negatives", False, True


class _OperatingPoint(Metric):
    """The best value of one rate among the thresholds where another rate reaches ``target``."""
    direction = "up"

    sparse_targets = "positive_column"
    target_argument = "value"

    def __init__(self, target: float, num_thresholds: int = 200, class_id=None, name: str | None = None, dtype=None):
        owner = type(self).__name__
        _no_class_id(class_id, owner)
        self.target = _fraction(target, self.target_argument, owner)
        self.num_thresholds = int(num_thresholds)  # Keras's grid size; kept for the config, the search is exact
        super().__init__(name, dtype)

    def compute(self, y_true, y_pred):
        truth, scores = y_true.numpy().reshape(-1) > 0.5, y_pred.numpy().reshape(-1)
        if truth.all() or not truth.any():
            return float("nan")
        constrained, optimised = self.curve(truth, scores)
        reachable = constrained >= self.target - 1e-12
        return float(optimised[reachable].max()) if reachable.any() else 0.0

    def curve(self, truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), self.target_argument: self.target, "num_thresholds": self.num_thresholds}


def _roc(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sensitivity, specificity) at every achievable threshold."""
    fpr, tpr, _ = roc_curve(truth, scores, drop_intermediate=False)
    return tpr, 1 - fpr


def _precision_recall(truth: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    precision, recall, _ = precision_recall_curve(truth, scores, drop_intermediate=False)
    return precision[:-1], recall[:-1]  # the last point (recall 0, precision 1) is no threshold


class SensitivityAtSpecificity(_OperatingPoint):
    """The best sensitivity (recall) among the thresholds whose specificity is at least ``specificity``."""

    default_name, target_argument = "sensitivity_at_specificity", "specificity"

    def __init__(self, specificity: float, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def curve(self, truth, scores):
        sensitivity, specificity = _roc(truth, scores)
        return specificity, sensitivity


class SpecificityAtSensitivity(_OperatingPoint):
    """The best specificity among the thresholds whose sensitivity is at least ``sensitivity``."""

    default_name, target_argument = "specificity_at_sensitivity", "sensitivity"

    def __init__(self, sensitivity: float, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def curve(self, truth, scores):
        return _roc(truth, scores)


class PrecisionAtRecall(_OperatingPoint):
    """The best precision among the thresholds whose recall is at least ``recall``."""

    default_name, target_argument = "precision_at_recall", "recall"

    def __init__(self, recall: float, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def curve(self, truth, scores):
        precision, recall = _precision_recall(truth, scores)
        return recall, precision


class RecallAtPrecision(_OperatingPoint):
    """The best recall among the thresholds whose precision is at least ``precision`` (0 when none reaches it)."""

    default_name, target_argument = "recall_at_precision", "precision"

    def __init__(self, precision: float, num_thresholds: int = 200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def curve(self, truth, scores):
        return _precision_recall(truth, scores)


class FBetaScore(Metric):
    """Keras's F-beta score ``(1 + β²)·P·R / (β²·P + R)`` per class, for one-hot (or 0/1) labels.

    A score above ``threshold`` counts as predicted; ``threshold=None`` predicts each row's highest
    score. ``average`` is ``None`` (one value per class), ``"micro"``, ``"macro"`` or ``"weighted"``.
    With a single sigmoid output and ``threshold=None``, meddl uses 0.5: Keras's arg-max over one
    column would call every case positive.
    """

    default_name = "fbeta_score"
    direction = "up"
    sparse_targets = "one_hot"

    def __init__(self, average: str | None = None, beta: float = 1.0, threshold: float | None = None,
                 name: str | None = None, dtype=None):
        owner = type(self).__name__
        if average not in (None, "micro", "macro", "weighted"):
            raise MeddlError(f"The 'average' parameter of {owner} must be None, 'micro', 'macro' or 'weighted'. "
                             f"Got {average!r} instead.")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
            raise MeddlError(f"The 'beta' parameter of {owner} must be a float in the range (0, inf). Got {beta!r} "
                             "instead.")
        self.average, self.beta = average, float(beta)
        self.threshold = None if threshold is None else _fraction(threshold, "threshold", owner)
        super().__init__(name, dtype)

    def result(self):
        """A float, or one value per class (a NumPy array) when ``average`` is None and there are several."""
        if not self._true:
            return 0.0
        y_true, y_pred = (np.concatenate([t.numpy() for t in parts]) for parts in (self._true, self._pred))
        try:
            value = self.compute(y_true, y_pred)
        except ValueError:
            raise MeddlError(f"{type(self).__name__} ('{self.name}') needs labels of the predictions' shape "
                             f"{y_pred.shape} (one-hot, or 0/1 per output); got labels of shape {y_true.shape}.") from None
        return float(value[0]) if np.ndim(value) and len(value) == 1 else value

    def compute(self, y_true, y_pred):
        y_pred = np.asarray(y_pred, dtype=float)
        y_pred = y_pred.reshape(len(y_pred), -1)
        y_true = np.asarray(y_true, dtype=float).reshape(y_pred.shape)
        if self.threshold is None and y_pred.shape[1] > 1:
            predicted = y_pred == y_pred.max(axis=1, keepdims=True)
        else:
            predicted = y_pred > (0.5 if self.threshold is None else self.threshold)
        actual = y_true > 0.5
        tp, fp, fn = ((predicted & actual).sum(0), (predicted & ~actual).sum(0), (~predicted & actual).sum(0))
        if self.average == "micro":
            tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
        b2 = self.beta ** 2
        denominator = (1 + b2) * tp + b2 * fn + fp
        scores = np.divide((1 + b2) * tp, denominator, out=np.zeros(len(tp)), where=denominator > 0)
        if self.average == "macro":
            return float(scores.mean())
        if self.average == "weighted":
            support = actual.sum(0)
            return float((scores * support).sum() / support.sum()) if support.sum() else 0.0
        return float(scores[0]) if self.average == "micro" else scores

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "average": self.average, "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the F-beta score with ``beta=1``, the harmonic mean of precision and recall."""

    default_name = "f1_score"

    def __init__(self, average: str | None = None, threshold: float | None = None, name: str | None = None,
                 dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["beta"]
        return config
