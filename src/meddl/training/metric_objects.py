"""Keras's metric objects and functions: ``Precision()``, ``AUC()``, ``top_k_categorical_accuracy``, ...

A metric object keeps state (``update_state``, ``result``, ``reset_state``) as
in Keras, and can be given to ``compile(metrics=[...])``: there it is computed
exactly over each epoch's outputs, like meddl's named metrics. Metric
*functions* take ``(y_true, y_pred)`` in Keras's order and return one value
per sample.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
import torch

from meddl.errors import MeddlError
from meddl.training.metric_state import StateVariable, initial_value

__all__ = ["Metric", "Mean", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
           "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "Precision", "Recall", "AUC", "BinaryIoU",
           "DiceCoefficient",
           "MeanSquaredError", "MeanAbsoluteError", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy",
           "FUNCTIONS", "as_training_metric"]


def _tensor(value: Any) -> torch.Tensor:
    return value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> torch.Tensor:
    y_true, y_pred = _tensor(y_true), _tensor(y_pred)
    return ((y_pred > threshold).to(y_true.dtype) == y_true).float().reshape(len(y_true), -1).mean(dim=-1)


def categorical_accuracy(y_true, y_pred) -> torch.Tensor:
    return (_tensor(y_pred).argmax(dim=-1) == _tensor(y_true).argmax(dim=-1)).float()


def sparse_categorical_accuracy(y_true, y_pred) -> torch.Tensor:
    return (_tensor(y_pred).argmax(dim=-1) == _tensor(y_true).reshape(-1).long()).float()


def sparse_top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> torch.Tensor:
    """1 where the true class is among the ``k`` highest scores (ties count as in: Keras's rule)."""
    y_pred = _tensor(y_pred).float()
    labels = _tensor(y_true).reshape(-1).long()
    true_score = y_pred.gather(1, labels[:, None])
    return ((y_pred > true_score).sum(dim=1) < k).float()


def top_k_categorical_accuracy(y_true, y_pred, k: int = 5) -> torch.Tensor:
    return sparse_top_k_categorical_accuracy(_tensor(y_true).argmax(dim=-1), y_pred, k)


def _shape_error(what: str, y_true: torch.Tensor, y_pred: torch.Tensor) -> MeddlError:
    return MeddlError(
        f"Metric {what} cannot compare labels of shape {tuple(y_true.shape)} with predictions of shape "
        f"{tuple(y_pred.shape)}. For integer class labels and one probability per class use "
        "meddl.metrics.SparseCategoricalAccuracy() (or 'accuracy'); for one-hot labels CategoricalAccuracy(); "
        "for 0/1 labels and one sigmoid output BinaryAccuracy().")


FUNCTIONS = {f.__name__: f for f in (binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
                                     top_k_categorical_accuracy, sparse_top_k_categorical_accuracy)}


class Metric:
    """Base class with Keras's stateful API; subclasses implement ``compute(y_true, y_pred) -> float``."""

    default_name = "metric"
    # Keras's metric direction: "up" when larger is better, "down" when smaller is; None when it has none.
    # EarlyStopping, ModelCheckpoint and ReduceLROnPlateau with mode="auto" read it for the value they watch.
    direction: str | None = None
    # Whether the value is the mean of one value per row, so that over several batches it is their mean
    # weighted by rows: the running value of Keras's per-batch logs is then summed batch by batch
    # (training/batch_logs.py) instead of computed again over all the rows so far.
    per_row_mean = False
    # How compile() hands it integer labels of a softmax model: as they are, one-hot, or (for two
    # classes) as the 0/1 labels of the positive class's column.
    sparse_targets = "as_is"

    def __init__(self, name: str | None = None, dtype=None):
        self.name = name or self.default_name
        self.dtype = dtype
        self._variables: list[StateVariable] = []
        Metric.reset_state(self)  # a subclass's own reset_state may read variables its __init__ has yet to add

    def add_variable(self, shape: Any = (), initializer: Any = "zeros", dtype: Any = None, aggregation: str = "sum",
                     name: str | None = None) -> StateVariable:
        """Keras's way for a metric of your own to keep state: a variable it changes in ``update_state`` (with
        ``assign``, ``assign_add``) and reads in ``result`` (``.value``). ``initializer`` is ``"zeros"``,
        ``"ones"`` or a number; ``aggregation`` is accepted as in Keras and changes nothing."""
        name = name or f"variable_{len(self._variables)}"
        variable = StateVariable(initial_value(shape, initializer, dtype, name), name=name)
        self._variables.append(variable)
        return variable

    def add_weight(self, name: str | None = None, shape: Any = (), initializer: Any = "zeros", dtype: Any = None,
                   aggregation: str = "sum") -> StateVariable:
        """Keras's older name of :meth:`add_variable` (its first argument is the name)."""
        return self.add_variable(shape=shape, initializer=initializer, dtype=dtype, aggregation=aggregation,
                                 name=name)

    @property
    def variables(self) -> list[StateVariable]:
        """The state variables that :meth:`add_variable` made, in order."""
        return list(self._variables)

    def reset_state(self) -> None:
        self._true: list[torch.Tensor] = []
        self._pred: list[torch.Tensor] = []
        for variable in self._variables:  # Keras's default reset: every variable to zeros
            variable.reset()

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        if sample_weight is not None:
            raise MeddlError(f"{type(self).__name__}.update_state does not take sample_weight in meddl.")
        self._true.append(_tensor(y_true).detach().cpu())
        self._pred.append(_tensor(y_pred).detach().cpu().float())

    def result(self) -> float:
        if not self._true:
            return 0.0
        y_true, y_pred = torch.cat(self._true), torch.cat(self._pred)
        try:
            return float(self.compute(y_true, y_pred))
        except RuntimeError:
            raise _shape_error(f"{type(self).__name__} ('{self.name}')", y_true, y_pred) from None

    def compute(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> float:
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None) -> float:
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (saved with a compiled model, so it reloads the same metric)."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Metric":
        return cls(**config)


class Mean(Metric):
    """The running mean of the values given to ``update_state(values)``."""
    per_row_mean = True

    default_name = "mean"

    def update_state(self, values, sample_weight=None) -> None:  # noqa: D102 - Keras's signature
        super().update_state(_tensor(values).reshape(-1), _tensor(values).reshape(-1), sample_weight)

    def compute(self, y_true, y_pred):
        return y_pred.mean()


class _FunctionMetric(Metric):
    direction = "up"  # the accuracies
    per_row_mean = True
    function = staticmethod(binary_accuracy)

    def compute(self, y_true, y_pred):
        return self.function(y_true, y_pred).mean()


class BinaryAccuracy(_FunctionMetric):
    default_name = "binary_accuracy"

    def __init__(self, name: str | None = None, dtype=None, threshold: float = 0.5):
        self.threshold = float(threshold)
        super().__init__(name, dtype)

    def compute(self, y_true, y_pred):
        return binary_accuracy(y_true.reshape(y_pred.shape), y_pred, self.threshold).mean()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "threshold": self.threshold}


class CategoricalAccuracy(_FunctionMetric):
    default_name = "categorical_accuracy"
    sparse_targets = "one_hot"
    function = staticmethod(categorical_accuracy)


class SparseCategoricalAccuracy(_FunctionMetric):
    default_name = "sparse_categorical_accuracy"
    function = staticmethod(sparse_categorical_accuracy)


class Accuracy(Metric):
    """How often predictions equal the labels exactly (Keras's ``Accuracy``)."""
    per_row_mean = True

    default_name = "accuracy"
    direction = "up"

    def compute(self, y_true, y_pred):
        return (y_pred.reshape(y_true.shape) == y_true).float().mean()


class TopKCategoricalAccuracy(Metric):
    per_row_mean = True
    default_name = "top_k_categorical_accuracy"
    direction = "up"
    sparse = False
    sparse_targets = "one_hot"

    def __init__(self, k: int = 5, name: str | None = None, dtype=None):
        self.k = int(k)
        super().__init__(name, dtype)

    def compute(self, y_true, y_pred):
        function = sparse_top_k_categorical_accuracy if self.sparse else top_k_categorical_accuracy
        return function(y_true, y_pred, self.k).mean()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "k": self.k}


class SparseTopKCategoricalAccuracy(TopKCategoricalAccuracy):
    default_name = "sparse_top_k_categorical_accuracy"
    sparse = True
    sparse_targets = "as_is"


class _ThresholdMetric(Metric):
    direction = "up"  # precision, recall, Dice
    sparse_targets = "positive_column"

    def __init__(self, thresholds: float | None = None, top_k=None, class_id=None, name: str | None = None,
                 dtype=None):
        if top_k is not None or class_id is not None:
            raise MeddlError(f"{type(self).__name__}: top_k and class_id are not supported by meddl.")
        self.threshold = 0.5 if thresholds is None else float(thresholds)
        super().__init__(name, dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "thresholds": self.threshold}

    def _counts(self, y_true, y_pred):
        predicted = (y_pred.reshape(-1) > self.threshold)
        actual = y_true.reshape(-1) > 0.5
        return (predicted & actual).sum().item(), (predicted & ~actual).sum().item(), (~predicted & actual).sum().item()


class Precision(_ThresholdMetric):
    """Of the samples predicted positive (score > threshold, default 0.5), the fraction truly positive."""

    default_name = "precision"

    def compute(self, y_true, y_pred):
        tp, fp, _ = self._counts(y_true, y_pred)
        return tp / (tp + fp) if tp + fp else 0.0


class Recall(_ThresholdMetric):
    """Of the truly positive samples, the fraction predicted positive (sensitivity)."""

    default_name = "recall"

    def compute(self, y_true, y_pred):
        tp, _, fn = self._counts(y_true, y_pred)
        return tp / (tp + fn) if tp + fn else 0.0


class AUC(Metric):
    """Area under the ROC curve (``curve="ROC"``) or the precision-recall curve (``"PR"``), computed exactly.

    Keras approximates the area with 200 thresholds; meddl ranks every score (the exact AUROC),
    so the two can differ in the third decimal.
    """

    default_name = "auc"
    direction = "up"
    sparse_targets = "positive_column"

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC", summation_method: str = "interpolation",
                 name: str | None = None, dtype=None, multi_label: bool = False, **ignored):
        if curve not in ("ROC", "PR"):
            raise MeddlError(f"The 'curve' parameter of AUC must be 'ROC' or 'PR'. Got {curve!r} instead.")
        if multi_label or ignored.get("label_weights") is not None:  # would be averaged otherwise: refused
            raise MeddlError("AUC in meddl ranks all scores together; multi_label=True and label_weights are not "
                             "supported. Compute one AUC per label with meddl.evaluation instead.")
        self.curve = curve
        super().__init__(name, dtype)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "curve": self.curve}

    def compute(self, y_true, y_pred):
        truth, scores = y_true.numpy().reshape(-1), y_pred.numpy().reshape(-1)
        if len(np.unique(truth)) < 2:
            return float("nan")
        return roc_auc_score(truth, scores) if self.curve == "ROC" else average_precision_score(truth, scores)


class BinaryIoU(Metric):
    """Intersection over union of the positions predicted positive (score >= ``threshold``) and the true ones,
    averaged over ``target_class_ids`` (Keras's ``BinaryIoU``: class 0 is the background, 1 the mask)."""

    default_name = "binary_iou"
    direction = "up"
    sparse_targets = "positive_column"

    def __init__(self, target_class_ids=(0, 1), threshold: float = 0.5, name: str | None = None, dtype=None):
        ids = list(target_class_ids)
        if not ids or any(i not in (0, 1) for i in ids):
            raise MeddlError(f"The 'target_class_ids' of BinaryIoU must be 0 and/or 1. Got {target_class_ids!r} "
                             "instead.")
        self.target_class_ids, self.threshold = ids, float(threshold)
        super().__init__(name, dtype)

    def compute(self, y_true, y_pred):
        predicted = y_pred.reshape(-1) >= self.threshold
        actual = y_true.reshape(-1) > 0.5
        scores = []
        for positive in self.target_class_ids:
            p, a = (predicted, actual) if positive else (~predicted, ~actual)
            union = (p | a).sum().item()
            if union:
                scores.append((p & a).sum().item() / union)
        return float(np.mean(scores)) if scores else 0.0

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "target_class_ids": self.target_class_ids, "threshold": self.threshold}


class DiceCoefficient(_ThresholdMetric):
    """Dice similarity ``2·TP / (2·TP + FP + FN)`` of the positions predicted positive (score > threshold) and the
    true ones, over the epoch: the usual overlap score of a segmentation (meddl's; Keras has none)."""

    default_name = "dice"

    def compute(self, y_true, y_pred):
        tp, fp, fn = self._counts(y_true, y_pred)
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


class MeanSquaredError(Metric):
    per_row_mean = True
    default_name = "mean_squared_error"
    direction = "down"

    def compute(self, y_true, y_pred):
        return (y_pred - y_true.reshape(y_pred.shape)).pow(2).mean()


class MeanAbsoluteError(Metric):
    per_row_mean = True
    default_name = "mean_absolute_error"
    direction = "down"

    def compute(self, y_true, y_pred):
        return (y_pred - y_true.reshape(y_pred.shape)).abs().mean()


def as_training_metric(metric) -> tuple[str, Any]:
    """``(name, fn(y_true, y_pred, kind) -> float)`` for a metric object or a Keras-style metric function."""
    if isinstance(metric, Metric):
        # A metric of your own (its own update_state, as the Keras guide writes one) gets the whole epoch's rows
        # in one update_state call: the same result as Keras's batch-by-batch calls for state that sums rows.
        own_update = type(metric).update_state is not Metric.update_state and \
            not type(metric).__module__.startswith("meddl.")

        def epoch_value(y_true, y_pred, kind, metric=metric):
            if kind == "sparse" and metric.sparse_targets == "one_hot":
                y_true = torch.nn.functional.one_hot(y_true.long(), y_pred.shape[-1])
            if kind == "sparse" and metric.sparse_targets == "positive_column" and y_pred.shape[-1] == 2:
                y_pred = y_pred[:, 1]
            if kind == "sparse" and own_update and y_true.ndim == 1:
                y_true = y_true.reshape(-1, 1)  # a column of labels, as Keras hands a metric y of shape (N, 1)
            metric.reset_state()
            metric.update_state(y_true, y_pred)
            value = metric.result()
            metric.reset_state()
            value = value.value if isinstance(value, StateVariable) else value
            if isinstance(value, torch.Tensor):  # a metric of your own returns a tensor, as in Keras
                value = value.detach().cpu().numpy()
            if np.ndim(value) == 0:
                return float(value)
            if np.ndim(value):
                raise MeddlError(f"Metric {type(metric).__name__} ('{metric.name}') gives one value per class, which "
                                 "a training log cannot hold; compile it with average='macro', 'micro' or "
                                 "'weighted'.")
            return value

        epoch_value.direction = metric.direction
        epoch_value.per_row_mean = metric.per_row_mean
        return metric.name, epoch_value
    if callable(metric):
        name = getattr(metric, "__name__", type(metric).__name__)

        def function_value(y_true, y_pred, kind, function=metric):
            if kind == "sparse" and name in ("categorical_accuracy", "top_k_categorical_accuracy"):
                y_true = torch.nn.functional.one_hot(y_true.long(), y_pred.shape[-1])
            try:
                return float(torch.as_tensor(function(y_true, y_pred)).float().mean())
            except RuntimeError:
                raise _shape_error(f"function {name}", y_true, y_pred) from None

        return name, function_value
    raise MeddlError(f"A metric must be a name, a meddl.metrics object or a function (y_true, y_pred). "
                     f"Got {metric!r} instead.")
