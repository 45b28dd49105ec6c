"""Propensity scores and the overlap rule: no recommendation outside the data's support.

An effect estimate is an extrapolation where nearly everyone like the patient got
the same arm: the data hold almost no one to compare with. The overlap rule
withholds a recommendation when the estimated propensity P(t = 1 | x) lies
outside ``[lower, upper]`` (default ``[0.05, 0.95]``).
"""

from __future__ import annotations

import base64
import io
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from meddl.errors import ConfigError, ModelFileError
from meddl.treatment._checks import (
    check_features,
    check_fitted,
    check_probabilities,
    check_treatment,
)
from meddl.treatment.outcome_models import fit_clone

__all__ = ["PropensityModel", "LinearPropensity", "overlap_mask", "overlap_plot", "NO_SUPPORT", "DEFAULT_SUPPORT"]

DEFAULT_SUPPORT = (0.05, 0.95)
NO_SUPPORT = "no recommendation: outside the data's support"


class PropensityModel(ClassifierMixin, BaseEstimator):
    """P(t = 1 | x) from any probabilistic classifier; default: standardised logistic regression.

    Args:
        estimator: an unfitted classifier with ``predict_proba``; ``None`` uses
            ``StandardScaler`` + ``LogisticRegression(max_iter=1000)``.

    Example:
        >>> import numpy as np
        >>> from meddl.treatment import PropensityModel
        >>> x = np.random.default_rng(0).normal(size=(100, 2)); t = (x[:, 0] > 0).astype(int)
        >>> PropensityModel().fit(x, t).predict_propensity(x).shape
        (100,)
    """

    def __init__(self, estimator: Any = None):
        self.estimator = estimator

    def fit(self, x: Any, t: Any) -> "PropensityModel":
        """Fit P(t = 1 | x); ``t`` must be 0/1 with both arms present."""
        x = check_features(x)
        t = check_treatment(t, len(x))
        estimator = self.estimator
        if estimator is None:
            estimator = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        if not hasattr(estimator, "predict_proba"):
            raise ConfigError(f"The 'estimator' of PropensityModel must have predict_proba (a probabilistic "
                              f"classifier); got {type(estimator).__name__}.")
        self.model_ = fit_clone(estimator, x, t)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = x.shape[1]
        return self

    def predict_proba(self, x: Any) -> np.ndarray:
        """[P(t = 0 | x), P(t = 1 | x)], shape (N, 2)."""
        check_fitted(self)
        x = check_features(x, n_features=self.n_features_in_)
        proba = np.asarray(self.model_.predict_proba(x), dtype=np.float64)
        classes = list(getattr(self.model_, "classes_", [0, 1]))
        treated = proba[:, classes.index(1)]
        return np.column_stack([1.0 - treated, treated])

    def predict_propensity(self, x: Any) -> np.ndarray:
        """P(t = 1 | x), shape (N,)."""
        return self.predict_proba(x)[:, 1]

    def predict(self, x: Any) -> np.ndarray:
        """The more likely arm (0/1)."""
        return (self.predict_propensity(x) > 0.5).astype(np.int64)


class LinearPropensity:
    """Standardised logistic regression for P(treated | x), saved as JSON (never pickled)."""

    def fit(self, x: np.ndarray, t: np.ndarray) -> "LinearPropensity":
        model = PropensityModel().fit(x, t).model_
        scaler, logistic = model[0], model[-1]
        self.mean_, self.scale_ = scaler.mean_.astype(float), scaler.scale_.astype(float)
        self.coef_, self.intercept_ = logistic.coef_[0].astype(float), float(logistic.intercept_[0])
        return self

    def predict_propensity(self, x: np.ndarray) -> np.ndarray:
        z = ((np.asarray(x, dtype=np.float64) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict:
        return {"type": "LinearPropensity", "mean": self.mean_.tolist(), "scale": self.scale_.tolist(),
                "coef": self.coef_.tolist(), "intercept": self.intercept_}

    @classmethod
    def from_dict(cls, data: dict) -> "LinearPropensity":
        if not isinstance(data, dict) or data.get("type") != "LinearPropensity":
            raise ModelFileError(f"Not a saved propensity model: {str(data)[:200]}")
        obj = cls()
        obj.mean_, obj.scale_ = np.asarray(data["mean"]), np.asarray(data["scale"])
        obj.coef_, obj.intercept_ = np.asarray(data["coef"]), float(data["intercept"])
        return obj


def _check_support(lower: float, upper: float, owner: str) -> tuple[float, float]:
    for name, value in (("lower", lower), ("upper", upper)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 <= value <= 1:
            raise ConfigError(f"The '{name}' parameter of {owner} must be a float in the range [0, 1]. "
                              f"Got {value!r} instead.")
    if lower >= upper:
        raise ConfigError(f"{owner} needs lower < upper; got lower={lower!r} and upper={upper!r}.")
    return float(lower), float(upper)


def overlap_mask(propensity: Any, *, lower: float = DEFAULT_SUPPORT[0],
                 upper: float = DEFAULT_SUPPORT[1]) -> tuple[np.ndarray, int]:
    """Which patients are inside the data's support: ``lower <= propensity <= upper``.

    Returns:
        ``(inside, n_outside)``: a boolean mask (True = a recommendation may be given)
        and the number of patients withheld.

    Example:
        >>> from meddl.treatment import overlap_mask
        >>> overlap_mask([0.01, 0.05, 0.5, 0.95, 0.99])
        (array([False,  True,  True,  True, False]), 2)
    """
    lower, upper = _check_support(lower, upper, "overlap_mask")
    values = check_probabilities(propensity, "propensity")
    inside = (values >= lower) & (values <= upper)
    return inside, int((~inside).sum())


def overlap_plot(propensity: Any, t: Any, *, lower: float = DEFAULT_SUPPORT[0], upper: float = DEFAULT_SUPPORT[1],
                 bins: int = 20, title: str = "Propensity by arm") -> str:
    """Histograms of the propensity in each arm, the support bounds drawn, as a PNG data URI.

    The string (``"data:image/png;base64,..."``) can be put straight into an HTML ``<img src=...>``.
    """
    lower, upper = _check_support(lower, upper, "overlap_plot")
    values = check_probabilities(propensity, "propensity")
    treatment = check_treatment(t, len(values), x_name="propensity", require_both_arms=False)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ConfigError(f"The 'bins' parameter of overlap_plot must be an int in the range [1, inf). Got {bins!r} instead.")
    figure = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    for arm, label, colour in ((0, "control", "tab:blue"), (1, "treated", "tab:orange")):
        axes.hist(values[treatment == arm], bins=edges, alpha=0.6, label=f"{label} (n={int((treatment == arm).sum())})",
                  color=colour)
    for bound in (lower, upper):
        axes.axvline(bound, color="black", linestyle="--", linewidth=1)
    _, n_outside = overlap_mask(values, lower=lower, upper=upper)
    axes.set_xlabel(f"estimated propensity P(treated | x); {n_outside} outside [{lower:g}, {upper:g}]")
    axes.set_ylabel("patients")
    axes.set_title(title)
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
