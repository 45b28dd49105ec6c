"""Split-conformal prediction sets for classifiers.

Calibrated on held-out (validation) probabilities, a prediction set contains
the true class with probability at least ``coverage`` for new exchangeable
cases (Vovk et al. 2005; Angelopoulos & Bates 2021, "A Gentle Introduction to
Conformal Prediction"). Two non-conformity scores:

* ``"lac"`` (least ambiguous set-valued classifier, Sadinle et al. 2019):
  ``1 - p(true class)``; the smallest sets on average.
* ``"aps"`` (adaptive prediction sets, Romano et al. 2020, non-randomised):
  the total probability of the classes ranked at or above the true class;
  sets grow for uncertain cases.

The threshold ``q_hat`` is the ``ceil((n + 1) * coverage) / n`` empirical
quantile of the n calibration scores, which gives the finite-sample guarantee.
"""

from __future__ import annotations

import math

import numpy as np

from meddl.errors import ConfigError, DataError, NotFittedError, unknown_name_error
from meddl.validation import check_fraction, check_same_length, encode_labels, multiclass_inputs

__all__ = ["ConformalClassifier", "coverage_chance_range", "set_coverage", "mean_set_size", "sets_to_lists"]

_METHODS = ("lac", "aps")


def _as_matrix(proba: object, y_true: object | None = None):
    """Accept (n, k) probabilities, or a 1-D positive-class probability for binary tasks."""
    array = np.asarray(proba, dtype=float)
    if array.ndim == 1:
        array = np.column_stack([1.0 - array, array])
    if y_true is None:
        labels = np.zeros(array.shape[0] if array.ndim else 0, dtype=int)
        return multiclass_inputs(labels, array, None)[1]
    return multiclass_inputs(y_true, array, None)


def _scores_all(proba: np.ndarray, method: str) -> np.ndarray:
    """Non-conformity score of every (case, class) pair, shape (n, k)."""
    if method == "lac":
        return 1.0 - proba
    order = np.argsort(-proba, axis=1, kind="mergesort")
    cumulative = np.cumsum(np.take_along_axis(proba, order, axis=1), axis=1)
    scores = np.empty_like(proba)
    np.put_along_axis(scores, order, cumulative, axis=1)
    return scores


class ConformalClassifier:
    """Turn class probabilities into prediction sets with guaranteed coverage.

    Args:
        coverage: the target probability that a set holds the true class (e.g. 0.9).
        method: "lac" or "aps".

    Example:
        >>> rng = np.random.default_rng(0)
        >>> proba = rng.dirichlet([1, 1, 1], size=200)
        >>> y = np.array([rng.choice(3, p=p) for p in proba])
        >>> conformal = ConformalClassifier(coverage=0.9).fit(proba, y)
        >>> sets = conformal.predict_sets(proba)      # boolean (n, 3)
        >>> bool(set_coverage(sets, y) >= 0.85)
        True
    """

    def __init__(self, coverage: float = 0.9, *, method: str = "lac"):
        self.coverage = coverage
        self.method = method

    def fit(self, proba: object, y_true: object) -> "ConformalClassifier":
        """Compute ``q_hat_`` from calibration probabilities (n, k) (or 1-D for binary) and labels."""
        coverage = check_fraction(self.coverage, "coverage", "ConformalClassifier", open_interval=True)
        if self.method not in _METHODS:
            raise unknown_name_error("conformal method", self.method, _METHODS, error_class=ConfigError)
        y, matrix = _as_matrix(proba, encode_labels(y_true, None))
        n = y.size
        # The epsilon keeps float error from rounding e.g. 10 * 0.9 = 9.000000000000002 up to 10.
        rank = math.ceil((n + 1) * coverage - 1e-9)
        if rank > n:
            raise DataError(
                f"Coverage {coverage:g} needs at least {math.ceil(coverage / (1 - coverage) - 1e-9)} calibration "
                f"cases (so that ceil((n + 1) * coverage) <= n); got {n}."
            )
        scores = _scores_all(matrix, self.method)[np.arange(n), y]
        self.q_hat_ = float(np.sort(scores)[rank - 1])
        self.n_classes_ = matrix.shape[1]
        self.n_calibration_ = n
        return self

    def predict_sets(self, proba: object) -> np.ndarray:
        """Boolean matrix (n, k): True where the class is in the case's prediction set."""
        if not hasattr(self, "q_hat_"):
            raise NotFittedError(
                "This ConformalClassifier instance is not fitted yet. Call 'fit' with appropriate "
                "arguments before using this estimator."
            )
        matrix = _as_matrix(proba)
        if matrix.shape[1] != self.n_classes_:
            raise DataError(f"proba has {matrix.shape[1]} columns, but ConformalClassifier was fitted on "
                            f"{self.n_classes_}.")
        # A tiny tolerance keeps the calibration case that defines q_hat inside its own set.
        return _scores_all(matrix, self.method) <= self.q_hat_ + 1e-12

    def summary(self, proba: object, y_true: object) -> dict[str, float | int | str]:
        """Coverage and mean set size on labelled data, for ``metrics.json`` (key ``"conformal"``)."""
        sets = self.predict_sets(proba)
        return {"method": self.method, "target_coverage": float(self.coverage), "q_hat": self.q_hat_,
                "coverage": set_coverage(sets, y_true), "mean_set_size": mean_set_size(sets),
                "n_calibration": self.n_calibration_}

    def to_dict(self) -> dict:
        """A JSON-able dict; :meth:`from_dict` restores the fitted object."""
        if not hasattr(self, "q_hat_"):
            raise NotFittedError("This ConformalClassifier instance is not fitted yet. Call 'fit' first.")
        return {"type": "ConformalClassifier", "coverage": float(self.coverage), "method": self.method,
                "q_hat": self.q_hat_, "n_classes": self.n_classes_, "n_calibration": self.n_calibration_}

    @classmethod
    def from_dict(cls, data: dict) -> "ConformalClassifier":
        """Rebuild a fitted object from :meth:`to_dict` output."""
        keys = ("coverage", "method", "q_hat", "n_classes", "n_calibration")
        if not isinstance(data, dict) or data.get("type") != cls.__name__ or any(k not in data for k in keys):
            raise DataError(f"ConformalClassifier.from_dict expects the output of to_dict(); got {data!r:.200}.")
        obj = cls(coverage=data["coverage"], method=data["method"])
        obj.q_hat_, obj.n_classes_, obj.n_calibration_ = float(data["q_hat"]), int(data["n_classes"]), int(
            data["n_calibration"])
        return obj


def set_coverage(sets: np.ndarray, y_true: object) -> float:
    """Fraction of cases whose prediction set contains the true class."""
    sets = np.asarray(sets, dtype=bool)
    y = encode_labels(y_true, None)
    check_same_length(("sets", sets), ("y_true", y))
    if y.min() < 0 or y.max() >= sets.shape[1]:
        raise DataError(f"y_true must hold class indices in [0, {sets.shape[1] - 1}]; got {y.min()} to {y.max()}.")
    return float(sets[np.arange(y.size), y].mean())


def coverage_chance_range(target: float, n_calibration: int, n_test: int) -> tuple[float, float]:
    """The coverage that split-conformal sets fitted for ``target`` on ``n_calibration`` cases show on ``n_test``
    new cases exchangeable with them, 95% of the time (normal approximation, both samples' variation counted).

    A coverage outside it says the new cases differ from the calibration cases: the sets (and anything else
    fitted on those cases, such as a calibration map) need not carry over to them.

    Example:
        >>> low, high = coverage_chance_range(0.9, 524, 624)
        >>> round(low, 3), round(high, 3)
        (0.865, 0.935)
    """
    if not 0 < target < 1 or n_calibration < 1 or n_test < 1:
        raise ValueError(f"coverage_chance_range expects 0 < target < 1 and positive case counts; got target "
                         f"{target!r}, n_calibration {n_calibration!r}, n_test {n_test!r}.")
    spread = 1.96 * math.sqrt(target * (1 - target) * (1 / n_test + 1 / (n_calibration + 2)))
    return max(target - spread, 0.0), min(target + spread, 1.0)


def mean_set_size(sets: np.ndarray) -> float:
    """Average number of classes per prediction set."""
    return float(np.asarray(sets, dtype=bool).sum(axis=1).mean())


def sets_to_lists(sets: np.ndarray, class_names: list[str] | None = None) -> list[list]:
    """Prediction sets as lists of class names (or indices)."""
    sets = np.asarray(sets, dtype=bool)
    names = list(range(sets.shape[1])) if class_names is None else list(class_names)
    return [[names[j] for j in np.flatnonzero(row)] for row in sets]
