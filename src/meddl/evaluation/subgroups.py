"""Metrics with confidence intervals within each subgroup (sex, site, age band, ...).

A subgroup is flagged when the upper end of its AUROC 95% CI lies below the
AUROC of the whole split: the model is then worse there with reasonable
certainty, not just by chance in a small group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from meddl.errors import DataError
from meddl.validation import check_same_length
from meddl.evaluation.bootstrap import bootstrap_metrics

__all__ = ["subgroup_metrics", "flag_subgroup"]

#: Values shown as the subgroup "missing" (as pandas writes missing values when cast to str).
_MISSING = ("", "nan", "NaN", "None", "<NA>", "NaT")


def _labels(values: object, name: str, n: int) -> np.ndarray:
    array = np.asarray(values, dtype=object)
    if array.ndim != 1:
        raise DataError(f"subgroups[{name!r}] must be a 1-D array with one value per row; got shape {array.shape}.")
    check_same_length(("y_true", np.empty(n)), (f"subgroups[{name!r}]", array))

    def label(v: object) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)) or str(v) in _MISSING:
            return "missing"
        if isinstance(v, (float, np.floating)) and float(v).is_integer():
            return str(int(v))
        return str(v)

    return np.array([label(v) for v in array], dtype=object)


def flag_subgroup(subgroup_auroc: Mapping | None, overall_auroc: float | None) -> bool:
    """True when the subgroup's AUROC CI upper bound is below the overall AUROC point estimate.

    >>> flag_subgroup({"value": 0.6, "ci95": [0.5, 0.7]}, 0.8)
    True
    """
    if not subgroup_auroc or overall_auroc is None or subgroup_auroc.get("ci95") is None:
        return False
    return bool(subgroup_auroc["ci95"][1] < overall_auroc)


def subgroup_metrics(task: str, y_true: object, y_score: object, subgroups: Mapping[str, object], *,
                     threshold: float = 0.5, class_names: Sequence[str] | None = None, groups: object = None,
                     n_resamples: int = 1000, seed: int = 0, overall_auroc: float | None = None) -> dict:
    """Bootstrap metrics for each value of each subgroup column.

    Args:
        task, y_true, y_score, threshold, class_names, groups, n_resamples, seed:
            as for :func:`~meddl.evaluation.bootstrap_metrics`.
        subgroups: ``{column: values}``, one value per row (e.g. ``{"sex": [...]}``).
        overall_auroc: AUROC of the whole split, for the flag (binary / multiclass).

    Returns:
        ``{column: {value: {"n": int, "metrics": {...}, "flagged": bool}}}``.
    """
    y = np.asarray(y_true)
    scores = np.asarray(y_score)
    group_ids = None if groups is None else np.asarray(groups)
    out: dict[str, dict] = {}
    for column, values in subgroups.items():
        labels = _labels(values, str(column), len(y))
        out[str(column)] = {}
        for value in sorted(set(labels.tolist())):
            rows = labels == value
            metrics = bootstrap_metrics(
                task, y[rows], scores[rows], threshold=threshold, class_names=class_names,
                groups=None if group_ids is None else group_ids[rows], n_resamples=n_resamples, seed=seed,
            )
            out[str(column)][value] = {
                "n": int(rows.sum()),
                "metrics": metrics,
                "flagged": flag_subgroup(metrics.get("auroc"), overall_auroc),
            }
    return out
