"""DeLong's variance of the AUROC, its confidence interval, and the paired test.

DeLong, DeLong & Clarke-Pearson (1988), *Biometrics* 44:837-845, computed with
the fast mid-rank algorithm of Sun & Xu (2014), *IEEE Signal Processing
Letters* 21(11):1389-1393: O(n log n) instead of O(m n) comparisons.

For positives i and negatives j, the structural components are
``V10_i = P(score of a negative < s_i)`` (ties count one half) and
``V01_j = P(score of a positive > s_j)``; AUC = mean(V10), and
``Var(AUC) = var(V10) / m + var(V01) / n`` (sample variances). For two
scores on the same patients the covariance is built the same way, so the
variance of the difference accounts for their correlation. Confidence
intervals are normal (Wald) intervals, clipped to [0, 1] for one AUROC --
the same as R's ``pROC::ci.auc`` and ``pROC::roc.test``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri
from scipy.stats import norm, rankdata

from meddl.errors import DataError
from meddl.validation import as_float_array, binary_labels, check_fraction, check_same_length

__all__ = ["delong_covariance", "delong_auroc", "delong_test"]


def _checked(y_true: object, scores: list[tuple[str, object]]) -> tuple[np.ndarray, np.ndarray]:
    y = binary_labels(y_true)
    arrays = [as_float_array(s, name) for name, s in scores]
    check_same_length(("y_true", y), *zip([n for n, _ in scores], arrays))
    positives = int(y.sum())
    negatives = y.size - positives
    if positives < 2 or negatives < 2:
        raise DataError(
            f"y_true has {positives} positive and {negatives} negative cases; DeLong's AUROC variance "
            "needs at least 2 of each."
        )
    return y, np.vstack(arrays)


def delong_covariance(y_true: object, scores: object) -> tuple[np.ndarray, np.ndarray]:
    """AUROCs of k scores on the same cases and their DeLong covariance matrix.

    Args:
        y_true: 0/1 outcomes, shape (n,).
        scores: shape (k, n) (or (n,) for one score); any finite numbers, higher
            meaning more likely positive (the AUROC only uses their order).

    Returns:
        ``(aucs, cov)`` with shapes (k,) and (k, k).
    """
    matrix = np.atleast_2d(as_float_array(scores, "scores", ndim=(1, 2)))
    y, matrix = _checked(y_true, [(f"scores[{i}]", row) for i, row in enumerate(matrix)])
    order = np.argsort(-y, kind="mergesort")  # positives first
    m = int(y.sum())
    ordered = matrix[:, order]
    positives, negatives = ordered[:, :m], ordered[:, m:]
    n = negatives.shape[1]
    rank_all = rankdata(ordered, axis=1)        # mid-ranks among all cases
    rank_pos = rankdata(positives, axis=1)      # mid-ranks among positives
    rank_neg = rankdata(negatives, axis=1)      # mid-ranks among negatives
    v10 = (rank_all[:, :m] - rank_pos) / n      # share of negatives below each positive
    v01 = 1.0 - (rank_all[:, m:] - rank_neg) / m  # share of positives above each negative
    aucs = v10.mean(axis=1)
    cov = np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n
    return aucs, cov


def delong_auroc(y_true: object, y_score: object, *, confidence: float = 0.95) -> dict[str, object]:
    """AUROC with DeLong's standard error and a normal confidence interval.

    Returns:
        ``{"value": auc, "variance": var, "se": se, "ci95": [lo, hi]}`` (the key is
        ``ci95`` whatever ``confidence`` is, to match the metrics files).

    >>> out = delong_auroc([0, 0, 1, 1, 0, 1], [.1, .3, .35, .8, .5, .9])
    >>> round(out["value"], 4)
    0.8889
    """
    confidence = check_fraction(confidence, "confidence", "delong_auroc", open_interval=True)
    aucs, cov = delong_covariance(y_true, as_float_array(y_score, "y_score"))
    auc, variance = float(aucs[0]), float(cov[0, 0])
    half = float(ndtri(0.5 + confidence / 2)) * np.sqrt(variance)
    return {"value": auc, "variance": variance, "se": float(np.sqrt(variance)),
            "ci95": [float(max(0.0, auc - half)), float(min(1.0, auc + half))]}


def delong_test(y_true: object, score_a: object, score_b: object, *, confidence: float = 0.95) -> dict[str, float]:
    """Paired DeLong test of two correlated AUROCs (same cases, two scores).

    Returns:
        ``auroc_a``, ``auroc_b``, ``difference`` (a - b), ``se`` of the
        difference, its ``ci95``, the ``z`` statistic and the two-sided
        ``p_value``. Identical scores give z = 0 and p = 1.

    >>> y = [0, 0, 0, 1, 1, 1]
    >>> delong_test(y, [.1, .2, .3, .7, .8, .9], [.1, .2, .3, .7, .8, .9])["p_value"]
    1.0
    """
    confidence = check_fraction(confidence, "confidence", "delong_test", open_interval=True)
    y, matrix = _checked(y_true, [("score_a", score_a), ("score_b", score_b)])
    aucs, cov = delong_covariance(y, matrix)
    difference = float(aucs[0] - aucs[1])
    variance = max(float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]), 0.0)
    se = float(np.sqrt(variance))
    if se > 0:
        z = difference / se
        p_value = float(2 * norm.sf(abs(z)))
    else:  # the two scores rank every pair alike: no evidence of a difference
        z, p_value = 0.0, 1.0
    half = float(ndtri(0.5 + confidence / 2)) * se
    return {"auroc_a": float(aucs[0]), "auroc_b": float(aucs[1]), "difference": difference, "se": se,
            "ci95": [difference - half, difference + half], "z": float(z), "p_value": p_value}
