"""Survival figures for the report, as ``data:image/png;base64,...`` URIs, and their HTML sections.

* Kaplan–Meier curves by predicted-risk group (tertiles by default) with a log-rank test;
* calibration at each horizon (predicted vs Kaplan–Meier observed, per risk group);
* predicted survival curves of example patients.

Figures are drawn on bare Agg figures (no GUI backend, pyplot untouched) and
encoded by :func:`meddl.evaluation.plots.figure_to_data_uri`.
:func:`survival_report_sections` returns ``(title, html)`` pairs for
a run's report (each a :class:`meddl.sections.Section`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from meddl.sections import Section, figure, paragraph, table
from meddl.errors import DataError
from meddl.survival._checks import _as_vector, check_survival_target, check_times
from meddl.survival.calibration import risk_groups
from meddl.evaluation.plots import figure_to_data_uri

__all__ = ["plot_km_by_risk_group", "plot_calibration", "plot_survival_curves", "survival_report_sections"]


def _figure(width: float = 6.4, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _uri(fig: Figure) -> str:
    return figure_to_data_uri(fig)


def _group_names(n_groups: int) -> list[str]:
    if n_groups == 3:
        return ["low risk", "intermediate risk", "high risk"]
    if n_groups == 2:
        return ["low risk", "high risk"]
    return [f"risk group {g + 1} of {n_groups}" for g in range(n_groups)]


def plot_km_by_risk_group(duration, event, risk, *, n_groups: int = 3) -> tuple[str, dict]:
    """Kaplan–Meier curves of equal-sized groups by predicted risk, with a multivariate log-rank test.

    Returns:
        ``(data_uri, logrank)`` with ``logrank = {"test_statistic", "p_value", "degrees_of_freedom"}``
        (lifelines' ``multivariate_logrank_test``; ``p_value`` None when fewer than two groups have events).
    """
    from lifelines.statistics import multivariate_logrank_test
    from sksurv.nonparametric import kaplan_meier_estimator

    time, events = check_survival_target(duration, event)
    scores = _as_vector(risk, "risk").astype(np.float64)
    if scores.size != time.size:
        raise DataError(f"'risk' must have one value per sample ({time.size}); got {scores.size}.")
    groups = risk_groups(-scores, n_groups)  # risk_groups orders by decreasing survival = increasing risk
    names = _group_names(int(groups.max()) + 1)
    fig = _figure()
    ax = fig.add_subplot()
    for group, name in enumerate(names):
        rows = groups == group
        if events[rows].any():
            times, survival = kaplan_meier_estimator(events[rows], time[rows])
            ax.step(np.r_[0.0, times], np.r_[1.0, survival], where="post", label=f"{name} (n={int(rows.sum())})")
        else:
            ax.step([0.0, time[rows].max()], [1.0, 1.0], where="post", label=f"{name} (n={int(rows.sum())}, no events)")
    logrank = {"test_statistic": None, "p_value": None, "degrees_of_freedom": len(names) - 1}
    if len(names) > 1 and events.any():
        result = multivariate_logrank_test(time, groups, events)
        logrank = {"test_statistic": float(result.test_statistic), "p_value": float(result.p_value),
                   "degrees_of_freedom": int(result.degrees_of_freedom)}
        ax.set_title(f"Kaplan–Meier by predicted risk (log-rank p = {logrank['p_value']:.3g})")
    else:
        ax.set_title("Kaplan–Meier by predicted risk")
    ax.set_xlabel("time")
    ax.set_ylabel("survival probability")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return _uri(fig), logrank


def plot_calibration(tables: Sequence[dict]) -> str:
    """Predicted vs observed survival per risk group, one panel per horizon (tables from ``calibration_table``)."""
    tables = list(tables)
    if not tables:
        raise DataError("plot_calibration needs at least one calibration table (from calibration_table).")
    fig = _figure(4.0 * len(tables), 4.0)
    for index, table in enumerate(tables):
        ax = fig.add_subplot(1, len(tables), index + 1)
        predicted = np.array([b["predicted"] for b in table["bins"]])
        observed = np.array([b["observed"] for b in table["bins"]])
        lower = np.array([b["observed_ci95"][0] if b["observed_ci95"] else b["observed"] for b in table["bins"]])
        upper = np.array([b["observed_ci95"][1] if b["observed_ci95"] else b["observed"] for b in table["bins"]])
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
        ax.errorbar(predicted, observed, yerr=[np.clip(observed - lower, 0, None), np.clip(upper - observed, 0, None)],
                    fmt="o", capsize=3)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel(f"predicted S({table['horizon']:g})")
        ax.set_ylabel("observed (Kaplan–Meier)")
        ax.set_title(f"t = {table['horizon']:g}: error {table['calibration_error']:.3f}")
    return _uri(fig)


def plot_survival_curves(times, survival, labels: Sequence[str] | None = None) -> str:
    """Predicted survival curves S(t | x) of a few patients (rows of ``survival`` at ``times``)."""
    times = check_times(times)
    curves = np.atleast_2d(np.asarray(survival, dtype=np.float64))
    if curves.shape[1] != times.size:
        raise DataError(f"'survival' must have one column per time ({times.size}); got shape {curves.shape}.")
    labels = list(labels) if labels is not None else [f"patient {i + 1}" for i in range(curves.shape[0])]
    if len(labels) != curves.shape[0]:
        raise DataError(f"'labels' must name each curve ({curves.shape[0]}); got {len(labels)}.")
    fig = _figure()
    ax = fig.add_subplot()
    order = np.argsort(times)
    for curve, label in zip(curves, labels):
        ax.plot(times[order], curve[order], label=str(label))
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("time")
    ax.set_ylabel("predicted survival probability")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    return _uri(fig)


def survival_report_sections(duration, event, risk, *, calibration: Sequence[dict] | None = None,
                             example_times=None, example_survival=None,
                             example_labels: Sequence[str] | None = None, n_groups: int = 3) -> list[Section]:
    """Report sections: KM by risk group, calibration, example patients.

    Args:
        duration, event, risk: test data and predicted risk.
        calibration: tables from :func:`~meddl.survival.calibration_table` (one per horizon), or None.
        example_times, example_survival, example_labels: curves of a few patients, or None.

    Returns:
        :class:`~meddl.sections.Section` s, self-contained (``data:`` images only).
    """
    uri, logrank = plot_km_by_risk_group(duration, event, risk, n_groups=n_groups)
    if logrank["p_value"] is None:
        text = "No log-rank test: fewer than two groups or no events."
    else:
        text = (f"Patients split into {n_groups} equal groups by predicted risk. Log-rank test: "
                f"χ² = {logrank['test_statistic']:.2f} on {logrank['degrees_of_freedom']} df, "
                f"p = {logrank['p_value']:.3g}.")
    sections = [Section("Survival by risk group", paragraph(text) + figure(uri, "Kaplan–Meier by risk group"))]
    if calibration:
        rows = [[f"{t['horizon']:g}", f"{t['calibration_error']:.3f}"] for t in calibration]
        text = ("Mean predicted survival vs Kaplan–Meier observed survival (95% CI) in risk groups, "
                "at each horizon; points on the diagonal are well calibrated.")
        sections.append(Section("Survival calibration", paragraph(text)
                                + table(["horizon", "calibration error"], rows, numeric=[0, 1])
                                + figure(plot_calibration(calibration), "Survival calibration")))
    if example_survival is not None:
        if example_times is None:
            raise DataError("'example_times' is required with 'example_survival'.")
        sections.append(Section("Example survival curves",
                                figure(plot_survival_curves(example_times, example_survival, example_labels),
                                       "Predicted survival curves of example patients")))
    return sections
