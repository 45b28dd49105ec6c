"""Decision curve analysis (Vickers & Elkin 2006, *Med Decis Making* 26:565-574).

At a threshold probability ``pt`` a clinician treats a patient whose predicted
risk is at least ``pt``. The net benefit weighs true positives against false
positives by the odds of the threshold:

    NB(model)      = TP / n - FP / n * pt / (1 - pt)
    NB(treat all)  = prevalence - (1 - prevalence) * pt / (1 - pt)
    NB(treat none) = 0

A model is useful at ``pt`` where its curve lies above both reference lines.
"""

from __future__ import annotations

import numpy as np

from meddl.errors import DataError
from meddl.validation import as_float_array, binary_labels, binary_scores, check_same_length

__all__ = ["decision_curve", "net_benefit"]


def _thresholds(thresholds: object) -> np.ndarray:
    pt = as_float_array(thresholds, "thresholds")
    bad = (pt <= 0) | (pt >= 1)
    if bad.any():
        raise DataError(
            f"thresholds must lie strictly between 0 and 1 (the odds pt / (1 - pt) must be finite); "
            f"got {pt[bad][0]:g} at index {int(np.argmax(bad))}."
        )
    return pt


def net_benefit(y_true: object, y_prob: object, thresholds: object) -> np.ndarray:
    """Net benefit of treating when ``y_prob >= pt``, for each threshold ``pt``.

    >>> net_benefit([1, 0, 1, 0], [0.9, 0.6, 0.4, 0.1], [0.5]).tolist()
    [0.0]
    """
    y = binary_labels(y_true)
    prob = binary_scores(y_prob, "y_prob")
    check_same_length(("y_true", y), ("y_prob", prob))
    pt = _thresholds(thresholds)
    order = np.argsort(prob, kind="mergesort")
    sorted_prob = prob[order]
    # Cases with prob >= pt form a suffix of the ascending order.
    cum_pos = np.concatenate([[0], np.cumsum(y[order])])
    start = np.searchsorted(sorted_prob, pt, side="left")
    n = y.size
    treated = n - start
    true_pos = cum_pos[-1] - cum_pos[start]
    false_pos = treated - true_pos
    return true_pos / n - false_pos / n * pt / (1 - pt)


def decision_curve(y_true: object, y_prob: object, thresholds: object | None = None) -> dict[str, list[float]]:
    """Net benefit of the model, of treating everyone and of treating no one.

    Args:
        y_true: 0/1 outcomes.
        y_prob: predicted risk (probability of the positive class).
        thresholds: threshold probabilities in (0, 1); default 0.01, 0.02, ..., 0.99.

    Returns:
        ``{"threshold": [...], "model": [...], "treat_all": [...], "treat_none": [...]}``.
    """
    pt = np.round(np.arange(1, 100) / 100, 2) if thresholds is None else _thresholds(thresholds)
    model = net_benefit(y_true, y_prob, pt)
    prevalence = float(np.mean(binary_labels(y_true)))
    treat_all = prevalence - (1 - prevalence) * pt / (1 - pt)
    return {"threshold": pt.tolist(), "model": model.tolist(), "treat_all": treat_all.tolist(),
            "treat_none": [0.0] * pt.size}
