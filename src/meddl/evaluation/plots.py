"""Figures of the report, returned as ``data:image/png;base64,...`` URIs.

Figures are drawn on a bare :class:`matplotlib.figure.Figure` with the Agg
canvas, so no GUI backend is needed and pyplot's global state is untouched.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

__all__ = [
    "figure_to_data_uri",
    "plot_training_curves",
    "plot_roc_pr",
    "plot_confusion_matrix",
    "plot_reliability",
    "plot_decision_curve",
    "plot_predicted_vs_observed",
]


def _figure(width: float = 6.4, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_to_data_uri(fig: Figure) -> str:
    """Encode a figure as an inline PNG data URI (no metadata, so nothing points outside)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_training_curves(epochs: Sequence[float], series: dict[str, Sequence[float]]) -> str:
    """Loss curves (left) and any other per-epoch metrics (right)."""
    losses = {k: v for k, v in series.items() if "loss" in k}
    others = {k: v for k, v in series.items() if "loss" not in k}
    fig = _figure(9.6 if others else 6.4, 3.6)
    axes = fig.subplots(1, 2 if others else 1, squeeze=False)[0]
    for name, values in losses.items():
        axes[0].plot(epochs, values, marker=".", label=name)
    axes[0].set(xlabel="epoch", ylabel="loss", title="Loss")
    axes[0].legend()
    if others:
        for name, values in others.items():
            axes[1].plot(epochs, values, marker=".", label=name)
        axes[1].set(xlabel="epoch", title="Metrics")
        axes[1].legend()
    return figure_to_data_uri(fig)


def plot_roc_pr(y: np.ndarray, proba: np.ndarray, class_names: Sequence[str]) -> str:
    """ROC and precision-recall curves: the positive class (binary) or one-vs-rest per class."""
    fig = _figure(9.6, 4.2)
    roc_ax, pr_ax = fig.subplots(1, 2)
    classes = [1] if proba.shape[1] == 2 else range(proba.shape[1])
    for c in classes:
        truth = (y == c).astype(int)
        if truth.min() == truth.max():
            continue
        label = str(class_names[c]) if proba.shape[1] > 2 else None
        fpr, tpr, _ = roc_curve(truth, proba[:, c])
        precision, recall, _ = precision_recall_curve(truth, proba[:, c])
        roc_ax.plot(fpr, tpr, label=label)
        pr_ax.step(recall, precision, where="post", label=label)
        if proba.shape[1] == 2:
            pr_ax.axhline(truth.mean(), color="grey", linestyle=":", label="prevalence")
    roc_ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="chance")
    roc_ax.set(xlabel="1 - specificity (false positive rate)", ylabel="sensitivity", title="ROC curve",
               xlim=(0, 1), ylim=(0, 1.01))
    pr_ax.set(xlabel="recall (sensitivity)", ylabel="precision (PPV)", title="Precision-recall curve",
              xlim=(0, 1), ylim=(0, 1.01))
    roc_ax.legend(loc="lower right", fontsize="small")
    pr_ax.legend(loc="lower left", fontsize="small")
    return figure_to_data_uri(fig)


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], class_names: Sequence[str]) -> str:
    """Counts with row percentages (share of each true class)."""
    counts = np.asarray(matrix, dtype=float)
    size = 3.2 + 0.5 * len(class_names)
    fig = _figure(size, size * 0.85)
    ax = fig.subplots()
    row_share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    ax.imshow(row_share, cmap="Blues", vmin=0, vmax=1)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            ax.text(j, i, f"{int(counts[i, j])}\n{row_share[i, j]:.0%}", ha="center", va="center",
                    color="white" if row_share[i, j] > 0.6 else "black", fontsize="small")
    ax.set_xticks(range(len(class_names)), [str(c) for c in class_names], rotation=30, ha="right")
    ax.set_yticks(range(len(class_names)), [str(c) for c in class_names])
    ax.set(xlabel="predicted", ylabel="true")
    return figure_to_data_uri(fig)


def plot_reliability(curve: dict, *, xlabel: str = "predicted probability") -> str:
    """Reliability diagram with the bin counts underneath."""
    fig = _figure(5.2, 5.0)
    top, bottom = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    top.plot(curve["mean_predicted"], curve["observed_fraction"], marker="o", label="model")
    top.set(ylabel="observed fraction", xlim=(0, 1), ylim=(0, 1), title="Reliability diagram")
    top.legend(loc="upper left", fontsize="small")
    edges = np.asarray(curve["bin_edges"])
    bottom.bar(curve["mean_predicted"], curve["count"], width=float(np.min(np.diff(edges))) * 0.8, color="grey")
    bottom.set(xlabel=xlabel, ylabel="count")
    return figure_to_data_uri(fig)


def plot_decision_curve(curve: dict) -> str:
    """Net benefit of the model against treat-all and treat-none."""
    fig = _figure(6.4, 4.0)
    ax = fig.subplots()
    model = np.asarray(curve["model"])
    ax.plot(curve["threshold"], model, label="model")
    ax.plot(curve["threshold"], curve["treat_all"], color="grey", label="treat all")
    ax.plot(curve["threshold"], curve["treat_none"], color="black", linestyle=":", label="treat none")
    top = max(float(np.max(model)), float(np.max(curve["treat_all"])), 0.01)
    ax.set(xlabel="threshold probability", ylabel="net benefit", ylim=(-0.1 * top - 0.01, top * 1.15),
           xlim=(0, 1), title="Decision curve")
    ax.legend(fontsize="small")
    return figure_to_data_uri(fig)


def plot_predicted_vs_observed(y: np.ndarray, predicted: np.ndarray) -> str:
    """Scatter of predictions against outcomes, and residuals."""
    fig = _figure(9.6, 4.0)
    left, right = fig.subplots(1, 2)
    left.scatter(y, predicted, s=8, alpha=0.5)
    low, high = float(min(y.min(), predicted.min())), float(max(y.max(), predicted.max()))
    left.plot([low, high], [low, high], color="grey", linestyle=":")
    left.set(xlabel="observed", ylabel="predicted", title="Predicted versus observed")
    right.scatter(predicted, y - predicted, s=8, alpha=0.5)
    right.axhline(0, color="grey", linestyle=":")
    right.set(xlabel="predicted", ylabel="observed - predicted", title="Residuals")
    return figure_to_data_uri(fig)
