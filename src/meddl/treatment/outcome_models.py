"""Fitting and querying any scikit-learn-style outcome model (used by the meta-learners and the propensity model)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from sklearn.base import clone, is_classifier

__all__ = ["fit_clone", "predict_response", "is_classifier_model"]


def fit_clone(estimator: Any, x: np.ndarray, y: np.ndarray) -> Any:
    """Fit a fresh copy of ``estimator`` (``sklearn.clone``, or a deep copy for non-scikit-learn objects)."""
    model = clone(estimator) if hasattr(estimator, "get_params") else copy.deepcopy(estimator)
    model.fit(x, y)
    return model


def is_classifier_model(model: Any) -> bool:
    """scikit-learn's ``is_classifier``, False for objects that are not scikit-learn estimators."""
    try:
        return bool(is_classifier(model))
    except (AttributeError, TypeError):
        return False


def predict_response(model: Any, x: np.ndarray) -> np.ndarray:
    """A fitted model's prediction as a 1-D float vector: P(y = 1) for a classifier, else ``predict``."""
    if is_classifier_model(model) and hasattr(model, "predict_proba"):
        return np.asarray(model.predict_proba(x), dtype=np.float64)[:, 1]
    return np.asarray(model.predict(x), dtype=np.float64).reshape(len(x), -1)[:, 0]
