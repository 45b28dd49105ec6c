"""Learning curve: would more data help? Validation performance against training-set size.

``meddl learning-curve CONFIG --fractions 0.1,0.25,0.5,1.0 --out DIR`` and
``meddl.learning_curve(config, fractions=..., out=...)`` train the configured
model on nested, stratified (and patient-grouped) subsets of the training split
(each subset contains the smaller ones) and score each on the same validation
and test splits: AUROC for diagnosis, R² for regression, with 95% CIs.

The reading compares the gain over the last doubling of the training set with
the uncertainty of the largest run's estimate: with ``slope`` the change in the
validation metric per doubling between the two largest sizes and ``h`` the
half-width of that metric's 95% CI at the largest size, ``slope > h`` reads
"still improving at full size: more data likely helps", otherwise "flat: more
data is unlikely to help much". (Without a CI, ``h`` is 0.01.)

Output: ``learning_curve.csv``, ``learning_curve.json`` (points and reading),
``learning_curve.png``, ``config.yaml``, ``learning_curve.log``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from meddl.errors import ConfigError
from meddl.io import atomic_directory, replaceable_if_it_holds, check_output_folder, json_safe
from meddl.runs import RunLog, load_config
from meddl.runs.datasets import PreparedSplits, split_rows
from meddl.runs.supervised import train_supervised
from meddl.studies.cross_validation import load_targets

__all__ = ["learning_curve", "LearningCurveResult", "nested_subsets", "read_learning_curve"]

_FALLBACK_HALF_WIDTH = 0.01


@dataclass
class LearningCurveResult:
    """The folder written, one row per training-set size, and the one-line reading."""

    path: Path
    points: pd.DataFrame
    reading: dict[str, Any]

    def __repr__(self) -> str:
        return f"LearningCurveResult('{self.path}', sizes={self.points['n_train'].tolist()})"


def _check_fractions(fractions) -> list[float]:
    if isinstance(fractions, str):
        try:
            fractions = [float(part) for part in fractions.split(",") if part.strip()]
        except ValueError:
            raise ConfigError(f"The 'fractions' parameter of learning_curve must be comma-separated numbers, e.g. "
                              f"0.1,0.25,0.5,1.0. Got {fractions!r} instead.") from None
    values = list(fractions) if isinstance(fractions, (list, tuple, np.ndarray)) else None
    if not values or any(isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0 < v <= 1
                         for v in values):
        raise ConfigError(f"The 'fractions' parameter of learning_curve must be a non-empty list of floats in (0, 1]. "
                          f"Got {fractions!r} instead.")
    if len(set(values)) != len(values):
        raise ConfigError(f"The 'fractions' parameter of learning_curve must not repeat a value. Got {fractions!r}.")
    return sorted(float(v) for v in values)


def nested_subsets(y: np.ndarray | None, n: int, fractions: list[float], *, groups=None,
                   seed: int = 0) -> list[np.ndarray]:
    """Nested row subsets of ``n`` rows, one per fraction: stratified by ``y`` and whole patients by ``groups``.

    Patients (or rows) are put in a seeded random order within each class (a
    patient's class is that of its first row); a fraction ``f`` keeps the first
    ``max(1, round(f * size))`` of each class, so smaller subsets lie inside larger ones.
    """
    units = np.arange(n) if groups is None else pd.factorize(np.asarray(groups))[0]
    first_row = pd.Series(np.arange(n)).groupby(units).first()
    strata = np.zeros(len(first_row), dtype=int) if y is None else np.asarray(y)[first_row.to_numpy()]
    rng = np.random.default_rng(seed)
    orders = {label: rng.permutation(first_row.index.to_numpy()[strata == label]) for label in np.unique(strata)}
    subsets = []
    for fraction in fractions:
        kept = np.concatenate([order[:max(1, int(round(fraction * len(order))))] for order in orders.values()])
        subsets.append(np.flatnonzero(np.isin(units, kept)))
    return subsets


def read_learning_curve(n_train: list[int], values: list[float | None], ci_at_largest: list[float] | None,
                        metric: str) -> dict[str, Any]:
    """The one-line reading of a learning curve (rule in the module docstring)."""
    points = [(n, v) for n, v in zip(n_train, values) if v is not None and not math.isnan(v)]
    rule = ("still improving if the validation metric's gain per doubling of the training set, between the two "
            "largest sizes, exceeds the half-width of its 95% CI at the largest size")
    if len(points) < 2 or points[-1][0] <= points[-2][0]:
        return {"verdict": "undetermined", "text": "Undetermined: the curve needs at least two training-set sizes "
                "with a defined validation metric.", "rule": rule, "slope_per_doubling": None, "half_width": None}
    (n1, v1), (n2, v2) = points[-2], points[-1]
    slope = (v2 - v1) / math.log2(n2 / n1)
    half_width = (ci_at_largest[1] - ci_at_largest[0]) / 2 if ci_at_largest else _FALLBACK_HALF_WIDTH
    source = "the ±{:.3f} uncertainty (95% CI half-width) of the full-size estimate".format(half_width) \
        if ci_at_largest else f"{_FALLBACK_HALF_WIDTH} (no CI available)"
    if slope > half_width:
        verdict, text = "improving", (f"Still improving at full size: {metric} rose {slope:+.3f} per doubling of the "
                                      f"training set (from {n1} to {n2} rows), more than {source}: more data likely "
                                      "helps.")
    else:
        verdict, text = "flat", (f"Flat: {metric} changed {slope:+.3f} per doubling of the training set (from {n1} to "
                                 f"{n2} rows), within {source}: more data is unlikely to help much.")
    return {"verdict": verdict, "text": text, "rule": rule, "slope_per_doubling": float(slope),
            "half_width": float(half_width)}


def _plot(points: pd.DataFrame, metric: str, reading: dict) -> bytes:
    fig = Figure(figsize=(6.4, 4.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for split, style in (("val", "o-"), ("test", "s--")):
        values = points[f"{split}_{metric}"].astype(float)
        if values.isna().all():
            continue
        low, high = points[f"{split}_{metric}_low"].astype(float), points[f"{split}_{metric}_high"].astype(float)
        ax.plot(points["n_train"], values, style, label=f"{'validation' if split == 'val' else 'test'} {metric}")
        if not low.isna().all():
            ax.fill_between(points["n_train"], low, high, alpha=0.2)
    ax.set_xscale("log", base=2)
    ax.set_xticks(points["n_train"], [str(n) for n in points["n_train"]])
    ax.set(xlabel="training rows (log scale)", ylabel=metric, title="Learning curve (95% CIs)")
    ax.legend(loc="lower right")
    fig.text(0.01, 0.005, reading["verdict"], fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def learning_curve(config, fractions=(0.1, 0.25, 0.5, 1.0), out: str | Path | None = None, *,
                   verbose: bool = False) -> LearningCurveResult:
    """Train on growing, nested subsets of the training split; score on the same validation and test splits.

    Args:
        config: a YAML path, dict or ``RunConfig`` (task ``diagnosis`` or ``regression``).
        fractions: shares of the training split, in (0, 1] (a list, or ``"0.1,0.25,1"``).
        out: the output folder (default ``runs/learning-curve-<timestamp>``), replaced atomically.
        verbose: echo the log.

    Returns:
        :class:`LearningCurveResult`: ``points`` (one row per size) and ``reading`` (``verdict``, ``text``).

    Example:
        >>> curve = meddl.learning_curve("config.yaml", fractions=[0.25, 0.5, 1.0], out="runs/lc")  # doctest: +SKIP
        >>> print(curve.reading["text"])                                                         # doctest: +SKIP
    """
    config = load_config(config)
    fractions = _check_fractions(fractions)
    out = Path(out) if out is not None else Path("runs") / f"learning-curve-{dt.datetime.now():%Y%m%d-%H%M%S}"
    check_output_folder(out, holds="learning_curve.json")  # a file, an unwritable place or a user's folder: refused first
    log = RunLog(echo=verbose)
    log(f"meddl learning-curve: fractions {fractions}, task {config.task}, data source {config.data.source}.")
    data, y, class_names = load_targets(config, log)
    classification = class_names is not None
    metric = "auroc" if classification else "r2"
    splits = split_rows(data, y, config.data.split, stratify=None if classification else False)
    for note in splits.notes:
        log(note)
    train = splits.train
    subsets = nested_subsets(y[train] if classification else None, len(train), fractions,
                             groups=None if data.groups is None else data.groups[train], seed=config.data.split.seed)
    rows = []
    for fraction, subset in zip(fractions, subsets):
        log(f"Learning curve: {fraction:.0%} of the training split = {len(subset)} rows.")
        result = train_supervised(config, log=log, classification=classification, data=data,
                                  splits=PreparedSplits(train[subset], splits.val, splits.test, notes=[]))
        row = {"fraction": fraction, "n_train": int(len(subset)),
               "epochs_trained": result.info.model["epochs_trained"]}
        for split in ("val", "test"):
            entry = result.metrics[split]["metrics"].get(metric, {})
            ci = entry.get("ci95") or (None, None)
            if ci[0] is None and split == "val" and classification:
                delong = result.metrics[split].get("auroc_delong") or {}
                ci = delong.get("ci95") or (None, None)
            row[f"{split}_{metric}"] = entry.get("value")
            row[f"{split}_{metric}_low"], row[f"{split}_{metric}_high"] = ci
        rows.append(row)
        log(f"  -> validation {metric} {row[f'val_{metric}'] if row[f'val_{metric}'] is not None else float('nan'):.4f}.")
    points = pd.DataFrame(rows)
    last = rows[-1]
    ci = ([last[f"val_{metric}_low"], last[f"val_{metric}_high"]]
          if last[f"val_{metric}_low"] is not None else None)
    reading = read_learning_curve(points["n_train"].tolist(), [r[f"val_{metric}"] for r in rows], ci,
                                  "AUROC" if metric == "auroc" else "R²")
    log(reading["text"])
    png = _plot(points, metric, reading)
    document = {"metric": metric, "fractions": fractions, "points": rows, "reading": reading,
                "split_sizes": {"train": int(len(train)), "val": int(len(splits.val)), "test": int(len(splits.test))}}
    with atomic_directory(out, replaceable=replaceable_if_it_holds("learning_curve.json")) as tmp:
        (tmp / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
        points.to_csv(tmp / "learning_curve.csv", index=False)
        (tmp / "learning_curve.json").write_text(json.dumps(json_safe(document), indent=2, allow_nan=False) + "\n",
                                                 encoding="utf-8")
        (tmp / "learning_curve.png").write_bytes(png)
        (tmp / "learning_curve.log").write_text(log.text(), encoding="utf-8")
    return LearningCurveResult(out, points, reading)
