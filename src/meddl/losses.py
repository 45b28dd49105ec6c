"""Keras's ``keras.losses`` namespace: loss classes for ``compile`` and loss functions ``(y_true, y_pred)``.

The classes are what ``compile(loss=...)`` takes (by object or by name); called
directly, ``loss(y_true, y_pred, sample_weight=None)``, they return the batch
mean as Keras's do. The functions follow Keras's argument order and return one
loss value per sample, for your own code (e.g. ``meddl.losses.binary_crossentropy(y, p)``).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from meddl.training.losses import (BinaryCrossentropy, BinaryFocalCrossentropy, CategoricalCrossentropy,
                                   CategoricalFocalLoss, Dice, FocalLoss, Huber, LogCosh, Loss, MeanAbsoluteError,
                                   MeanSquaredError, SparseCategoricalCrossentropy, get)
from meddl.errors import missing_name

__all__ = ["BinaryCrossentropy", "BinaryFocalCrossentropy", "CategoricalCrossentropy", "CategoricalFocalLoss", "Dice",
           "FocalLoss", "Huber", "LogCosh", "Loss", "MeanAbsoluteError", "MeanSquaredError",
           "SparseCategoricalCrossentropy", "binary_crossentropy", "categorical_crossentropy", "get", "huber",
           "log_cosh", "mean_absolute_error", "mean_squared_error", "mae", "mse", "sparse_categorical_crossentropy"]

_EPSILON = 1e-7  # Keras's clipping of probabilities


def _tensors(y_true, y_pred) -> tuple[torch.Tensor, torch.Tensor]:
    y_pred = y_pred if isinstance(y_pred, torch.Tensor) else torch.as_tensor(np.asarray(y_pred, dtype=np.float64))
    y_true = y_true if isinstance(y_true, torch.Tensor) else torch.as_tensor(np.asarray(y_true))
    return y_true, y_pred


def mean_squared_error(y_true, y_pred) -> torch.Tensor:
    y_true, y_pred = _tensors(y_true, y_pred)
    return (y_pred - y_true.to(y_pred.dtype)).pow(2).mean(dim=-1)


def mean_absolute_error(y_true, y_pred) -> torch.Tensor:
    y_true, y_pred = _tensors(y_true, y_pred)
    return (y_pred - y_true.to(y_pred.dtype)).abs().mean(dim=-1)


def binary_crossentropy(y_true, y_pred, from_logits: bool = False) -> torch.Tensor:
    y_true, y_pred = _tensors(y_true, y_pred)
    y_true = y_true.to(y_pred.dtype)
    if from_logits:
        return F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none").mean(dim=-1)
    p = y_pred.clamp(_EPSILON, 1 - _EPSILON)
    return -(y_true * p.log() + (1 - y_true) * (1 - p).log()).mean(dim=-1)


def categorical_crossentropy(y_true, y_pred, from_logits: bool = False) -> torch.Tensor:
    y_true, y_pred = _tensors(y_true, y_pred)
    if from_logits:
        log_p = torch.log_softmax(y_pred, dim=-1)
    else:
        p = y_pred / y_pred.sum(dim=-1, keepdim=True)
        log_p = p.clamp(_EPSILON, 1 - _EPSILON).log()
    return -(y_true.to(y_pred.dtype) * log_p).sum(dim=-1)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits: bool = False) -> torch.Tensor:
    y_true, y_pred = _tensors(y_true, y_pred)
    one_hot = F.one_hot(y_true.reshape(-1).long(), y_pred.shape[-1])
    return categorical_crossentropy(one_hot, y_pred, from_logits=from_logits)


def huber(y_true, y_pred, delta: float = 1.0) -> torch.Tensor:
    y_true, y_pred = _tensors(y_true, y_pred)
    return F.huber_loss(y_pred, y_true.to(y_pred.dtype), reduction="none", delta=delta).mean(dim=-1)


def log_cosh(y_true, y_pred) -> torch.Tensor:
    y_true, y_pred = _tensors(y_true, y_pred)
    error = y_pred - y_true.to(y_pred.dtype)
    return (error + F.softplus(-2 * error) - np.log(2.0)).mean(dim=-1)


mse = mean_squared_error
mae = mean_absolute_error

def __getattr__(name: str):
    raise missing_name("meddl.losses", name, __all__)
