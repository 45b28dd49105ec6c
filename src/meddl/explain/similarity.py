"""How alike are two explanations? Rank correlation of absolute values and structural similarity (SSIM).

Adebayo et al. (2018, "Sanity checks for saliency maps") compare the
explanation of a trained model with that of a randomised one by the Spearman
rank correlation of the absolute attributions *and* by SSIM. The two fail
differently: Spearman has no value when a map is constant (Grad-CAM of a
random network is often all zero after its ReLU, so on a real image set the
rank correlation was undefined on 9 of 9 images); SSIM is defined for any pair
of maps (its constants keep the ratio finite), and a flat map compared with a
structured one scores near 0 -- exactly the "nothing of the explanation
survived" answer the check is after.

Maps are compared as ``|map| / max|map|`` (0 to 1, an all-zero map stays zero),
so the scale of a method's output does not matter.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.stats import rankdata

from meddl.errors import DataError

__all__ = ["rank_correlation", "structural_similarity", "constant_rows"]

#: SSIM's stabilising constants for maps scaled to [0, 1] (Wang et al. 2004: K1 = 0.01, K2 = 0.03).
_C1, _C2 = 0.01 ** 2, 0.03 ** 2
#: The SSIM window side for 2-D maps (Wang et al. use 7 or 11 pixels; small maps use their smaller side).
SSIM_WINDOW = 7


def _pair(a: Any, b: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    first, second = (np.abs(np.asarray(v, dtype=np.float64)) for v in (a, b))
    if first.shape != second.shape or first.ndim < 1:
        raise DataError(f"{owner} needs two attribution arrays of the same shape; got {first.shape} and "
                        f"{second.shape}.")
    if first.ndim == 1:
        first, second = first[None], second[None]
    return first, second


def constant_rows(maps: Any) -> np.ndarray:
    """Which rows of ``maps`` are constant (no ranking, nothing to compare): a boolean array ``(n,)``.

    Example:
        >>> constant_rows([[0.0, 0.0], [1.0, 2.0]]).tolist()
        [True, False]
    """
    values = np.asarray(maps, dtype=np.float64)
    values = values.reshape(len(values), -1) if values.ndim > 1 else values[None]
    return np.ptp(np.abs(values), axis=1) == 0


def rank_correlation(a: Any, b: Any) -> np.ndarray:
    """Per-row Spearman correlation of ``|a|`` and ``|b|`` (rows flattened); NaN for a constant row.

    Example:
        >>> rank_correlation([[1.0, -2.0, 3.0]], [[0.1, 0.2, -0.3]]).tolist()
        [1.0]
    """
    first, second = _pair(a, b, "rank_correlation")
    first, second = first.reshape(len(first), -1), second.reshape(len(second), -1)
    ranks = [rankdata(v, axis=1) for v in (first, second)]
    centred = [r - r.mean(axis=1, keepdims=True) for r in ranks]
    numerator = (centred[0] * centred[1]).sum(axis=1)
    denominator = np.sqrt((centred[0] ** 2).sum(axis=1) * (centred[1] ** 2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1.0), np.nan)


def _unit_scale(values: np.ndarray) -> np.ndarray:
    top = values.reshape(len(values), -1).max(axis=1)
    shape = (len(values),) + (1,) * (values.ndim - 1)
    return values / np.where(top > 0, top, 1.0).reshape(shape)


def structural_similarity(a: Any, b: Any) -> np.ndarray:
    """Per-row SSIM of ``|a|`` and ``|b|``, each scaled to [0, 1] by its maximum; defined for every row.

    Heat maps ``(n, H, W)`` use the mean SSIM over 7 x 7 windows (Wang et al.
    2004; smaller maps use a window of their smaller side); other shapes, e.g.
    a table's ``(n, d)`` attributions, use one window over the whole row. 1 means
    the same map; values near 0 mean no shared structure.

    Example:
        >>> import numpy as np
        >>> bump = np.zeros((1, 9, 9)); bump[0, 3:6, 3:6] = 1.0
        >>> float(structural_similarity(bump, 2 * bump)[0]), bool(structural_similarity(bump, np.zeros((1, 9, 9)))[0] < 0.2)
        (1.0, True)
    """
    first, second = (_unit_scale(v) for v in _pair(a, b, "structural_similarity"))
    if first.ndim == 3 and min(first.shape[1:]) >= 3:
        window = min(SSIM_WINDOW, *first.shape[1:])
        size = (1, window, window)

        def local_mean(v):
            return uniform_filter(v, size=size, mode="reflect")
    else:
        first, second = first.reshape(len(first), -1), second.reshape(len(second), -1)

        def local_mean(v):
            return np.broadcast_to(v.mean(axis=1, keepdims=True), v.shape)
    mean_a, mean_b = local_mean(first), local_mean(second)
    var_a = local_mean(first * first) - mean_a ** 2
    var_b = local_mean(second * second) - mean_b ** 2
    cov = local_mean(first * second) - mean_a * mean_b
    index = ((2 * mean_a * mean_b + _C1) * (2 * cov + _C2)) / ((mean_a ** 2 + mean_b ** 2 + _C1) * (var_a + var_b + _C2))
    return index.reshape(len(index), -1).mean(axis=1)
