"""What the models page shows of each served model: task, intended use, data, headline metrics, model card."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meddl.errors import MeddlError
from meddl.report.model_card import ModelCard, model_card

__all__ = ["ModelOverview", "headline_metrics", "model_overview"]

TASK_WORDS = {"diagnosis": "Diagnosis", "regression": "Regression (a measured value)",
              "survival": "Prognosis (time to an event)", "treatment": "Treatment (effect and recommendation)"}

#: per task, (path in the test metrics, plain name) of the figures shown first
HEADLINE = {
    "diagnosis": [(("metrics", "auroc"), "AUROC"), (("metrics", "sensitivity"), "Sensitivity"),
                  (("metrics", "specificity"), "Specificity"), (("metrics", "accuracy"), "Accuracy"),
                  (("metrics", "macro_auroc"), "AUROC (macro)")],
    "regression": [(("metrics", "mae"), "Mean absolute error"), (("metrics", "r2"), "R²"),
                   (("metrics", "rmse"), "Root mean squared error")],
    "survival": [(("metrics", "c_index"), "C-index"), (("metrics", "uno_c_index"), "Uno's C-index"),
                 (("metrics", "integrated_brier_score"), "Integrated Brier score")],
    "treatment": [(("ate_aipw",), "Average treatment effect (AIPW)"),
                  (("policy_value", "as_recommended"), "Mean outcome if treated as recommended"),
                  (("policy_value", "as_recommended_minus_treat_all"), "Recommended minus treat all")],
}


@dataclass(frozen=True)
class ModelOverview:
    """One served model as the models page shows it."""

    name: str
    task: str
    task_words: str
    input_kind: str
    card: ModelCard
    data_rows: list[tuple[str, str]]
    metrics: list[tuple[str, str]]      # (metric, "value [low, high]")
    test_size: str


def _value_ci(entry: dict | None, digits: int = 3) -> str | None:
    if not isinstance(entry, dict) or entry.get("value") is None:
        return None
    text = f"{entry['value']:.{digits}f}"
    if entry.get("ci95"):
        low, high = entry["ci95"]
        text += f" (95% CI {low:.{digits}f} to {high:.{digits}f})"
    return text


def headline_metrics(task: str, metrics: dict) -> list[tuple[str, str]]:
    """The task's headline test metrics with their 95% CIs, as (name, text) pairs."""
    test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
    pairs = []
    for path, label in HEADLINE.get(task, []):
        entry: Any = test
        for key in path:
            entry = entry.get(key) if isinstance(entry, dict) else None
        pairs.append((label, entry))
    return [(label, text) for label, entry in pairs if (text := _value_ci(entry)) is not None][:3]


def model_overview(name: str, run: Any, metrics: dict | None = None) -> ModelOverview:
    """Build the overview of one served model from its run (``run.info``) and its test metrics.

    ``metrics``: the ones the served model read when its run was verified (``ServedModel.metrics``);
    without them, ``run.metrics`` is read from the folder now.
    """
    info = run.info
    try:
        metrics = run.metrics if metrics is None else metrics
    except MeddlError:  # a run without a readable metrics.json still gets a page
        metrics = {}
    task = str(info.get("task") or "unknown")
    summary = info.get("data_summary") or {}
    data_rows = [("Source", str(summary.get("source") or "not recorded").strip("'")),
                 ("Patients or images", f"{summary['n_rows']:,}" if summary.get("n_rows") is not None
                  else "not recorded"),
                 ("Dates of the data", str(summary.get("dates") or "not recorded in the run")),
                 ("Model trained", str(info.get("created") or "not recorded"))]
    test = metrics.get("test") if isinstance(metrics.get("test"), dict) else {}
    return ModelOverview(name=name, task=task, task_words=TASK_WORDS.get(task, task.capitalize()),
                         input_kind=str((info.get("input") or {}).get("kind", "table")),
                         card=model_card(info, metrics), data_rows=data_rows,
                         metrics=headline_metrics(task, metrics),
                         test_size=f"{test['n']:,}" if isinstance(test.get("n"), int) else "not recorded")
