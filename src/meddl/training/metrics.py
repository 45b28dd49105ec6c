"""Training metrics by name (``accuracy``, ``auc``, ``mse``, ``mae``).

They are computed exactly over all of an epoch's outputs (not averaged over
batches), so ``auc`` is the real AUROC. ``accuracy`` follows the loss, as in
Keras: arg-max for categorical losses, a 0.5 threshold for binary ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
import torch

from meddl.errors import MeddlError, unknown_name_error
from meddl.saving import custom_object
from meddl.training import confusion_metrics, metric_objects, value_metrics

__all__ = ["get", "serialize", "METRICS", "accuracy", "auc", "mean_squared_error", "mean_absolute_error"]


def accuracy(y_true: torch.Tensor, y_pred: torch.Tensor, kind: str) -> float:
    if kind == "sparse":
        return (y_pred.argmax(dim=-1) == y_true).float().mean().item()
    if kind == "categorical":
        return (y_pred.argmax(dim=-1) == y_true.argmax(dim=-1)).float().mean().item()
    if kind == "binary":
        return ((y_pred >= 0.5).float() == y_true).float().mean().item()
    return (y_pred == y_true).float().mean().item()


def auc(y_true: torch.Tensor, y_pred: torch.Tensor, kind: str) -> float:
    """AUROC: binary, or macro one-vs-rest for several classes. NaN when only one class is present."""
    truth = y_true.detach().cpu().numpy()
    scores = y_pred.detach().float().cpu().numpy()
    if kind == "categorical":
        truth = truth.argmax(axis=-1)
    if kind in ("binary", "regression"):
        truth, scores = truth.reshape(-1), scores.reshape(-1)
        if len(np.unique(truth)) < 2:
            return math.nan
        return float(roc_auc_score(truth, scores))
    present = np.unique(truth)
    if len(present) < 2:
        return math.nan
    if scores.shape[1] == 2:
        return float(roc_auc_score(truth, scores[:, 1]))
    if len(present) < scores.shape[1]:
        # Macro one-vs-rest over the classes present in this split.
        return float(np.mean([roc_auc_score(truth == c, scores[:, c]) for c in present]))
    probabilities = scores / np.clip(scores.sum(axis=1, keepdims=True), 1e-12, None)
    return float(roc_auc_score(truth, probabilities, multi_class="ovr", average="macro"))


def mean_squared_error(y_true: torch.Tensor, y_pred: torch.Tensor, kind: str) -> float:
    if kind == "sparse":
        y_true = torch.nn.functional.one_hot(y_true, y_pred.shape[-1])
    return (y_pred - y_true).pow(2).mean().item()


def mean_absolute_error(y_true: torch.Tensor, y_pred: torch.Tensor, kind: str) -> float:
    if kind == "sparse":
        y_true = torch.nn.functional.one_hot(y_true, y_pred.shape[-1])
    return (y_pred - y_true).abs().mean().item()


MetricFunction = Callable[[torch.Tensor, torch.Tensor, str], float]

# Keras's metric directions (see metric_objects.Metric.direction), read by the callbacks' mode="auto"
accuracy.direction = auc.direction = "up"
mean_squared_error.direction = mean_absolute_error.direction = "down"
# each the mean of one value per row (see metric_objects.Metric.per_row_mean)
accuracy.per_row_mean = mean_squared_error.per_row_mean = mean_absolute_error.per_row_mean = True

METRICS: dict[str, MetricFunction] = {
    "accuracy": accuracy,
    "acc": accuracy,
    "auc": auc,
    "mse": mean_squared_error,
    "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error,
    "mean_absolute_error": mean_absolute_error,
}


# Keras's other metric names, served by its metric objects (computed over the epoch's outputs).
KERAS_NAMES = {
    "precision": metric_objects.Precision,
    "recall": metric_objects.Recall,
    "binary_accuracy": metric_objects.BinaryAccuracy,
    "categorical_accuracy": metric_objects.CategoricalAccuracy,
    "sparse_categorical_accuracy": metric_objects.SparseCategoricalAccuracy,
    "top_k_categorical_accuracy": metric_objects.TopKCategoricalAccuracy,
    "sparse_top_k_categorical_accuracy": metric_objects.SparseTopKCategoricalAccuracy,
    "binary_iou": metric_objects.BinaryIoU,
    "dice": metric_objects.DiceCoefficient,
}


# Every metric class, by class name: how saved models name them, and a name compile() also takes.
METRIC_CLASSES: dict[str, type[metric_objects.Metric]] = {
    name: getattr(module, name) for module in (metric_objects, confusion_metrics, value_metrics)
    for name in module.__all__ if isinstance(getattr(module, name), type)
    and issubclass(getattr(module, name), metric_objects.Metric) and getattr(module, name) is not metric_objects.Metric}


def serialize(identifier: Any) -> str | dict[str, Any]:
    """How a compiled model saves its metric: the name, a metric object's class and arguments, or a function's name."""
    if isinstance(identifier, metric_objects.Metric):
        return {"class_name": type(identifier).__name__, "config": identifier.get_config()}
    if callable(identifier) and not isinstance(identifier, str):
        return {"function": getattr(identifier, "__name__", type(identifier).__name__)}
    return identifier


def _saved_metric(spec: dict[str, Any]) -> Any:
    """The metric object or function a saved ``spec`` names (meddl's own, or from ``custom_objects``)."""
    name = str(spec.get("class_name", spec.get("function")))
    if "class_name" in spec:
        cls = METRIC_CLASSES.get(name) or custom_object(name)
        if cls is None:
            raise MeddlError(f"Unknown metric class {name!r}: pass custom_objects={{{name!r}: {name}}} to load_model.")
        return cls.from_config(dict(spec.get("config") or {}))
    function = metric_objects.FUNCTIONS.get(name) or custom_object(name)
    if function is None:
        raise MeddlError(f"Unknown metric function {name!r}: pass custom_objects={{{name!r}: {name}}} to load_model.")
    return function


def _metric_by_class_name(name: str) -> metric_objects.Metric:
    try:
        return METRIC_CLASSES[name]()
    except TypeError:
        raise MeddlError(f"Metric {name!r} needs arguments, so give it as an object, e.g. "
                         f"metrics=[meddl.metrics.{name}(...)]; see help(meddl.metrics.{name}).") from None


def get(identifier) -> tuple[str, MetricFunction]:
    """Return ``(name, function)`` for a metric name, a ``meddl.metrics`` object, a function ``(y_true, y_pred)``
    or what :func:`serialize` saved; the name is how it appears in logs and History."""
    if isinstance(identifier, dict) and ("class_name" in identifier or "function" in identifier):
        identifier = _saved_metric(identifier)
    if not isinstance(identifier, str):
        return metric_objects.as_training_metric(identifier)
    if identifier.lower() in KERAS_NAMES:
        return metric_objects.as_training_metric(KERAS_NAMES[identifier.lower()]())
    if identifier in METRIC_CLASSES and identifier.lower() not in METRICS:
        return metric_objects.as_training_metric(_metric_by_class_name(identifier))
    if identifier.lower() not in METRICS:
        raise unknown_name_error("metric", identifier, [*METRICS, *KERAS_NAMES, *METRIC_CLASSES])
    name = identifier.lower()
    canonical = {"acc": "accuracy", "mean_squared_error": "mse", "mean_absolute_error": "mae"}.get(name, name)
    return canonical, METRICS[name]
