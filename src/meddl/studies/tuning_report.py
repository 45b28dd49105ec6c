"""The tuning report: optimisation history, parameter importances, chosen values against the defaults.

Written as ``OUT/report.html`` and added as a section to the best run's report,
with each number labelled by the estimate it is (the best trial's validation
score is optimistic; the best run's test score is not).
"""

from __future__ import annotations

import html
import math
import warnings
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from meddl.evaluation.plots import figure_to_data_uri
from meddl.io import atomic_write_text
from meddl.runs import write_report
from meddl.sections import Section

__all__ = ["history_plot", "parameter_importances", "tuning_section", "write_tuning_report"]


def history_plot(study) -> str:
    """Each completed trial's value and the best so far, as a ``data:`` PNG."""
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    fig = Figure(figsize=(6.4, 3.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.add_subplot()
    numbers = [t.number for t in done]
    values = [t.value for t in done]
    best, running = [], None
    for value in values:
        better = running is None or (value > running if study.direction.name == "MAXIMIZE" else value < running)
        running = value if better else running
        best.append(running)
    pruned = [t.number for t in study.trials if t.state.name == "PRUNED"]
    axes.scatter(numbers, values, s=14, label="completed trial")
    axes.step(numbers, best, where="post", color="C3", label="best so far")
    for number in pruned:
        axes.axvline(number, color="0.85", lw=0.8, zorder=0)
    axes.set_xlabel("trial (grey lines: pruned)")
    axes.set_ylabel(f"validation {study.user_attrs.get('metric', 'metric')}")
    axes.legend(loc="best", fontsize=8)
    return figure_to_data_uri(fig)


def parameter_importances(study) -> dict[str, float]:
    """Optuna's fANOVA importances (empty when too few trials completed to estimate them)."""
    import optuna

    if sum(t.state.name == "COMPLETE" for t in study.trials) < 4:
        return {}
    try:
        with warnings.catch_warnings():  # "fewer than 2 trials in some regimes": the report says how many trials ran
            warnings.simplefilter("ignore", UserWarning)
            return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError):  # e.g. every completed trial has the same value
        return {}


def _shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return "—" if value is None else str(value)


def tuning_section(study, summary: dict, defaults: dict[str, Any]) -> str:
    """The HTML body of the 'Hyperparameter search' section."""
    counts = summary["trial_counts"]
    importances = parameter_importances(study)
    params = summary.get("best_params", study.best_trial.params)
    rows = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(_shown(defaults.get(name)))}</td>"
                   f"<td>{html.escape(_shown(params.get(name)))}</td>"
                   f"<td class=\"num\">{importances[name]:.2f}</td></tr>" if name in importances else
                   f"<tr><td>{html.escape(name)}</td><td>{html.escape(_shown(defaults.get(name)))}</td>"
                   f"<td>{html.escape(_shown(params.get(name)))}</td><td>—</td></tr>"
                   for name in sorted(set(defaults) | set(params)))
    budget = summary.get("time_budget_seconds")
    text = (f"<p>{sum(counts.values())} trials ({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}) in "
            f"{summary['search_seconds']:.0f} s" + (f" (budget {budget:.0f} s)" if budget else "") + ". "
            f"Chosen trial #{summary['best_trial']}"
            + (" (the untuned config)" if summary.get("chosen_is_untuned") else "")
            + f": {html.escape(summary['metric'])} {summary['best_value']:.4f}, "
            f"{html.escape(summary.get('best_value_estimate', 'validation score: optimistic'))}. "
            + (f"Scoring: {html.escape(summary['objective'])}. " if summary.get("objective") else "")
            + (f"Choice: {html.escape(summary['selection']['reason'])}. " if summary.get("selection") else "")
            + "The test split was never seen by the search; the test metrics of the run trained "
            "on the chosen config are the estimate to quote (or <code>meddl tune --nested K</code>).</p>")
    chart = f'<figure><img src="{history_plot(study)}" alt="optimisation history"></figure>'
    table = ("<table><thead><tr><th>parameter</th><th>default</th><th>chosen</th><th>importance</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>")
    return text + chart + table


def write_tuning_report(out: Path, study, summary: dict, *, defaults: dict[str, Any], best_run=None) -> Path:
    """Write ``out/report.html`` and add the section to the best run's report."""
    body = tuning_section(study, summary, defaults)
    page = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>meddl tune</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:2px 8px;"
            "border-bottom:1px solid #ddd}.num{text-align:right}img{max-width:100%}</style></head>"
            f"<body><h1>Hyperparameter search</h1>{body}"
            + ("<p>The best run: <a href=\"best/report.html\">best/report.html</a>.</p>" if best_run else "")
            + "</body></html>")
    path = atomic_write_text(Path(out) / "report.html", page)
    if best_run is not None:
        write_report(best_run.folder, extra_sections=[Section("Hyperparameter search", body)])
    return path
