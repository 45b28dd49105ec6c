"""Deep ensembles: several members trained with different seeds, probabilities averaged, spread as uncertainty.

``training.ensemble: 5`` trains members with seeds ``seed, seed + 1, ...``.
Classification members are combined by averaging their probabilities; the
combined output is handed on as ``log(mean probability)``, whose softmax is the
mean probability, so calibration, thresholds and conformal sets work unchanged
and an ensemble of identical members gives exactly that member's predictions.
Regression members are averaged. The members' spread is the uncertainty:
``prob_<class>_sd`` (standard deviation across members) and
``prob_<class>_low``/``_high`` (2.5th and 97.5th percentiles across members, a
95% interval; with few members it is close to their range). Spreads are of the
members' uncalibrated probabilities.

A run folder holds member 0 in ``model/`` (so single-model tools keep working)
and the others in ``model_1/``, ``model_2/``, ...; ``run.json`` records
``ensemble: {"members": k}``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from meddl.errors import ModelFileError

__all__ = ["member_outputs", "combine_outputs", "spread_columns", "member_folder", "load_members",
           "ensemble_summary", "ensemble_section"]

_LOW, _HIGH = 2.5, 97.5


def member_outputs(models, x: np.ndarray) -> np.ndarray:
    """Each member's raw outputs (logits for classification), shape ``(members, N, outputs)``, float64."""
    outputs = []
    for model in models:
        tensor = model.predict_tensor(model._to_device(x), logits=True)
        outputs.append(tensor.cpu().numpy().astype(np.float64))
    return np.stack(outputs)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    proba = np.exp(shifted)
    return proba / proba.sum(axis=-1, keepdims=True)


def combine_outputs(outputs: np.ndarray, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(combined, per_member)`` from ``member_outputs``.

    Classification: ``combined`` is ``log`` of the members' mean probabilities
    (use it as logits), ``per_member`` the members' probabilities ``(members, N, classes)``.
    Regression: ``combined`` is the members' mean output, ``per_member`` the outputs.
    """
    if not classification:
        return outputs.mean(axis=0), outputs
    proba = _softmax(outputs)
    if len(proba) == 1:
        return outputs[0], proba
    mean = proba.mean(axis=0)
    return np.log(np.clip(mean, np.finfo(np.float64).tiny, None)), proba


def spread_columns(per_member: np.ndarray, class_names: list[str] | None,
                   target_scaling: dict | None = None) -> dict[str, np.ndarray]:
    """Uncertainty columns for the prediction table: ``prob_<class>_sd/_low/_high`` (or ``predicted_*``)."""
    if class_names is None:
        values = per_member[..., 0]
        if target_scaling:
            values = values * target_scaling["std"] + target_scaling["mean"]
        return {"predicted_sd": values.std(axis=0, ddof=1 if len(values) > 1 else 0),
                "predicted_low": np.percentile(values, _LOW, axis=0),
                "predicted_high": np.percentile(values, _HIGH, axis=0)}
    columns = {}
    ddof = 1 if len(per_member) > 1 else 0
    for k, name in enumerate(class_names):
        columns[f"prob_{name}_sd"] = per_member[:, :, k].std(axis=0, ddof=ddof)
        columns[f"prob_{name}_low"] = np.percentile(per_member[:, :, k], _LOW, axis=0)
        columns[f"prob_{name}_high"] = np.percentile(per_member[:, :, k], _HIGH, axis=0)
    return columns


def member_folder(run_path: str | Path, index: int) -> Path:
    """Where member ``index`` lives in a run folder: ``model/`` for 0, ``model_<index>/`` otherwise."""
    return Path(run_path) / ("model" if index == 0 else f"model_{index}")


def load_members(run_path: str | Path, n_members: int, first=None) -> list:
    """Load an ensemble's members (``first``: member 0, when already loaded)."""
    from meddl.models import load_model

    members = [first if first is not None else load_model(member_folder(run_path, 0), device="cpu")]
    for index in range(1, n_members):
        folder = member_folder(run_path, index)
        if not folder.is_dir():
            raise ModelFileError(f"The run is an ensemble of {n_members} members but '{folder}' is missing.")
        members.append(load_model(folder, device="cpu"))
    return members


def ensemble_summary(per_member_scores: list[np.ndarray], ensemble_scores: np.ndarray, y: np.ndarray,
                     spread: np.ndarray, problem: str) -> dict[str, Any]:
    """How the members and the ensemble do on one split, and whether the spread flags errors.

    ``per_member_scores``: each member's scores in the form ``evaluate_predictions`` takes;
    ``spread``: one uncertainty per case (the sd of the positive class, or mean sd over classes).
    """
    from meddl.evaluation import evaluate_predictions

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


def ensemble_section(summary: dict[str, Any], n_members: int, split: str = "test") -> tuple[str, str]:
    """``(title, html)`` for report.html: members versus the ensemble, and what the spread tells."""
    from meddl.evaluation._html import fmt, paragraph, table

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
    return "Ensemble uncertainty", "".join(parts)
