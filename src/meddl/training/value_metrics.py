"""Keras's regression and probabilistic metrics: ``RootMeanSquaredError``, ``R2Score``,
``MeanAbsolutePercentageError`` and the cross-entropies (the log loss, a proper score of
predicted probabilities)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import r2_score
import torch

from meddl.errors import MeddlError
from meddl.training import losses
from meddl.training.metric_objects import Metric

__all__ = ["RootMeanSquaredError", "MeanAbsolutePercentageError", "R2Score", "BinaryCrossentropy",
           "CategoricalCrossentropy", "SparseCategoricalCrossentropy"]


class RootMeanSquaredError(Metric):
    default_name = "root_mean_squared_error"
    direction = "down"

    def compute(self, y_true, y_pred):
        return (y_pred - y_true.reshape(y_pred.shape)).pow(2).mean().sqrt()


class MeanAbsolutePercentageError(Metric):
    """``100 · mean(|y − ŷ| / |y|)``, with ``|y|`` floored at 1e-7 as in Keras (a true 0 gives a huge value)."""

    default_name = "mean_absolute_percentage_error"
    direction = "down"

    def compute(self, y_true, y_pred):
        y_true = y_true.reshape(y_pred.shape).to(y_pred.dtype)
        return 100 * ((y_true - y_pred).abs() / y_true.abs().clamp(min=1e-7)).mean()


class R2Score(Metric):
    """The coefficient of determination per output, averaged (``"uniform_average"``), weighted by each output's
    variance (``"variance_weighted_average"``) or one per output (``None``, an array); ``num_regressors > 0``
    gives the adjusted R², with n the number of samples (Keras counts every value, which differs for several
    outputs)."""

    default_name = "r2_score"
    direction = "up"
    _AGGREGATIONS = {"uniform_average": "uniform_average", "variance_weighted_average": "variance_weighted",
                     None: "raw_values"}

    def __init__(self, class_aggregation: str | None = "uniform_average", num_regressors: int = 0,
                 name: str | None = None, dtype=None):
        if class_aggregation not in self._AGGREGATIONS:
            raise MeddlError("The 'class_aggregation' parameter of R2Score must be 'uniform_average', "
                             f"'variance_weighted_average' or None. Got {class_aggregation!r} instead.")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, (int, np.integer)) or num_regressors < 0:
            raise MeddlError(f"The 'num_regressors' parameter of R2Score must be an integer >= 0. Got "
                             f"{num_regressors!r} instead.")
        self.class_aggregation, self.num_regressors = class_aggregation, int(num_regressors)
        super().__init__(name, dtype)

    def result(self):
        """A float, or one value per output (an array) with ``class_aggregation=None`` and several outputs."""
        if not self._true:
            return 0.0
        value = self.compute(torch.cat(self._true), torch.cat(self._pred))
        return float(value) if np.ndim(value) == 0 or np.size(value) == 1 else np.asarray(value)

    def compute(self, y_true, y_pred):
        y_pred = y_pred.numpy().reshape(len(y_pred), -1)
        y_true = y_true.numpy().reshape(y_pred.shape)
        n = len(y_true)
        if n < 2:
            return float("nan")
        score = r2_score(y_true, y_pred, multioutput=self._AGGREGATIONS[self.class_aggregation])
        if self.num_regressors:
            if n - self.num_regressors - 1 <= 0:
                raise MeddlError(f"R2Score: the adjusted R² needs more samples ({n}) than num_regressors + 1 "
                                 f"({self.num_regressors + 1}).")
            score = 1 - (1 - score) * (n - 1) / (n - self.num_regressors - 1)
        return score

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}


class _LossMetric(Metric):
    """The mean of a loss over the epoch (Keras's probabilistic metrics)."""
    direction = "down"

    loss_class: type[losses.Loss] = losses.BinaryCrossentropy

    def __init__(self, name: str | None = None, dtype=None, from_logits: bool = False, **loss_settings):
        self.loss = self.loss_class(from_logits=from_logits, **loss_settings)
        super().__init__(name, dtype)

    def compute(self, y_true, y_pred):
        return self.loss(y_true, y_pred)

    def get_config(self) -> dict[str, Any]:
        settings = {key: value for key, value in self.loss.get_config().items() if key != "name"}
        return {**super().get_config(), **settings}


class BinaryCrossentropy(_LossMetric):
    """Mean binary cross-entropy (log loss) of 0/1 labels and predicted probabilities."""

    default_name = "binary_crossentropy"
    sparse_targets = "positive_column"

    def __init__(self, name: str | None = None, dtype=None, from_logits: bool = False, label_smoothing: float = 0.0):
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing)


class CategoricalCrossentropy(_LossMetric):
    """Mean cross-entropy of one-hot labels and predicted class probabilities."""

    default_name = "categorical_crossentropy"
    sparse_targets = "one_hot"
    loss_class = losses.CategoricalCrossentropy

    def __init__(self, name: str | None = None, dtype=None, from_logits: bool = False, label_smoothing: float = 0.0,
                 axis: int = -1):
        super().__init__(name, dtype, from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(_LossMetric):
    """Mean cross-entropy of integer class labels and predicted class probabilities."""

    default_name = "sparse_categorical_crossentropy"
    loss_class = losses.SparseCategoricalCrossentropy

    def __init__(self, name: str | None = None, dtype=None, from_logits: bool = False, axis: int = -1):
        super().__init__(name, dtype, from_logits=from_logits, axis=axis)

