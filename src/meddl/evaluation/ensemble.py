"""How an ensemble's members and the ensemble do, and whether the members' spread flags errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from meddl.evaluation.evaluate import evaluate_predictions
from meddl.sections import Section, fmt, paragraph, table

__all__ = ["ensemble_summary", "ensemble_section"]


def ensemble_summary(per_member_scores: list[np.ndarray], ensemble_scores: np.ndarray, y: np.ndarray,
                     spread: np.ndarray, problem: str) -> dict[str, Any]:
    """How the members and the ensemble do on one split, and whether the spread flags errors.

    ``per_member_scores``: each member's scores in the form ``evaluate_predictions`` takes;
    ``spread``: one uncertainty per case (the sd of the positive class, or mean sd over classes).
    """
    key = "auroc" if problem != "regression" else "mae"

    def value(scores, rows=slice(None)):
        metrics = evaluate_predictions(problem, y[rows], scores[rows], n_resamples=0)["metrics"]
        return metrics.get(key, {}).get("value")

    members = [value(s) for s in per_member_scores]
    order = np.argsort(spread, kind="stable")
    half = len(order) // 2
    summary = {"metric": key, "members": members, "ensemble": value(ensemble_scores),
               "mean_spread": float(np.mean(spread)),
               "most_certain_half": value(ensemble_scores, order[:half]) if half >= 2 else None,
               "least_certain_half": value(ensemble_scores, order[half:]) if half >= 2 else None}
    return summary


def ensemble_section(summary: dict[str, Any], n_members: int, split: str = "test") -> Section:
    """The report section: members versus the ensemble, and what the spread tells."""
    metric = {"auroc": "AUROC", "mae": "MAE"}.get(summary["metric"], summary["metric"])
    rows = [[f"member {i}", fmt(v)] for i, v in enumerate(summary["members"])]
    rows.append(["ensemble (mean probability)" if metric == "AUROC" else "ensemble (mean)", fmt(summary["ensemble"])])
    parts = [paragraph(f"{n_members} members trained with different seeds; predictions average the members' "
                       f"probabilities, and the spread across members (sd, and a 95% interval, in the prediction "
                       f"tables) is an estimate of the model's uncertainty. {metric} on the {split} split:"),
             table(["Model", metric], rows, numeric=[1])]
    if summary.get("most_certain_half") is not None:
        parts.append(paragraph(
            f"Mean spread (sd across members) {fmt(summary['mean_spread'])}. {metric} on the half of the {split} "
            f"cases where the members agree most: {fmt(summary['most_certain_half'])}; where they agree least: "
            f"{fmt(summary['least_certain_half'])}. Cases with a large spread deserve a second look."))
    return Section("Ensemble uncertainty", "".join(parts))
