"""Nested cross-validation of the whole search: an honest estimate of the *tuned* model.

``meddl tune CONFIG --nested K``: all rows are pooled (a data set's own split is
ignored) and cut into K outer folds. For each fold, the search runs on the
other folds only (their own train/validation rows, the outer fold never seen),
the best config is retrained on those rows and scored once on the outer fold.
The K outer scores, their mean and a t-interval over folds are the nested
estimate; the outer folds share training rows, so that interval understates
the uncertainty somewhat (as for plain cross-validation).

Written to ``OUT/nested/``: ``outer_folds.csv`` (fold, sizes, outer score, the
inner best validation score, chosen values) and ``summary.json``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, KFold, ShuffleSplit

from meddl.data.split_override import split_override
from meddl.errors import ConfigError
from meddl.io import atomic_write_json, atomic_write_text
from meddl.runs import load_config
from meddl.runs.datasets import PreparedSplits
from meddl.studies.objective import default_metric, fit_in_memory, objective_metric
from meddl.studies.tuning import best_config, chosen_trial, run_search

__all__ = ["NestedResult", "OuterFold", "nested_tune"]


@dataclass
class OuterFold:
    """Rows for outer fold ``fold`` of ``n_folds``: the search's (``search=True``) or the final fit's.

    The outer fold's rows are the test rows of the final fit and are absent from the search's rows;
    the rest is divided into training and validation rows (``val_size`` of them, grouped by patient).
    """

    fold: int
    n_folds: int
    seed: int = 0
    val_size: float = 0.15
    search: bool = True

    def __call__(self, data, splits: PreparedSplits) -> PreparedSplits:
        n = len(data)
        rows = np.arange(n)
        groups = data.groups
        if self.n_folds > (len(set(groups)) if groups is not None else n):
            raise ConfigError(f"--nested {self.n_folds}: more outer folds than patients/rows ({n}).")
        folds = (GroupKFold(self.n_folds).split(rows, groups=groups) if groups is not None
                 else KFold(self.n_folds, shuffle=True, random_state=self.seed).split(rows))
        development, outer = list(folds)[self.fold]
        inner = (GroupShuffleSplit(1, test_size=self.val_size, random_state=self.seed).split(
                    development, groups=groups[development]) if groups is not None
                 else ShuffleSplit(1, test_size=self.val_size, random_state=self.seed).split(development))
        train_part, val_part = next(inner)
        train, val = development[train_part], development[val_part]
        note = f"Nested cross-validation, outer fold {self.fold + 1}/{self.n_folds}"
        if self.search:
            return PreparedSplits(train, val, val, notes=[note + ": search rows (the outer fold is left out)."])
        return PreparedSplits(train, val, outer, notes=[note + ": final fit, scored on the outer fold."])


@dataclass
class NestedResult:
    """The outer scores of a nested search and where they were written."""

    path: Path
    metric: str
    outer_scores: list[float]
    mean: float
    ci95: tuple[float, float] | None
    folds: pd.DataFrame = field(default_factory=pd.DataFrame)

    def __repr__(self) -> str:
        return f"NestedResult('{self.path}', {self.metric}={self.mean:.4f}, folds={len(self.outer_scores)})"


def _t_interval(values: list[float]) -> tuple[float, float] | None:
    if len(values) < 2:
        return None
    mean, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.975, len(values) - 1)) * sd / math.sqrt(len(values))
    return (mean - half, mean + half)


def nested_tune(config, out: str | Path, *, folds: int = 5, trials: int | None = None,
                time_budget: float | None = None, seed: int = 0) -> NestedResult:
    """Run the search inside each of ``folds`` outer folds; return the outer scores (see the module docstring).

    ``time_budget`` (seconds) is for the whole nested run, shared equally by the folds.
    """
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        raise ConfigError(f"The 'folds' parameter of nested_tune must be an integer >= 2. Got {folds!r} instead.")
    config = load_config(config)
    metric = config.tune.metric or default_metric(config.task)
    budget = time_budget if time_budget is not None else config.tune.time_budget
    per_fold = budget / folds if budget else None
    out = Path(out) / "nested"
    out.mkdir(parents=True, exist_ok=True)
    val_size = config.data.split.val_size or 0.15
    rows: list[dict[str, Any]] = []
    for fold in range(folds):
        started = time.perf_counter()
        study = run_search(config, trials=trials, time_budget=per_fold, study_name=f"nested-fold-{fold}",
                           rows=OuterFold(fold, folds, seed, val_size, search=True))
        selection = chosen_trial(config, study)
        chosen = load_config(best_config(config, study, selection))
        chosen.evaluation.n_resamples = 0
        with split_override(OuterFold(fold, folds, seed, val_size, search=False)):
            result = fit_in_memory(chosen)
        score = objective_metric(result, metric, split="test")
        sizes = result.info.data_summary["split_sizes"]
        rows.append({"fold": fold, "n_train": sizes["train"], "n_val": sizes["val"], "n_outer": sizes["test"],
                     f"outer_{metric}": score, f"inner_best_val_{metric}": selection.trial.value,
                     "trials": len(study.trials), "seconds": round(time.perf_counter() - started, 1),
                     "chosen_untuned": selection.is_untuned,
                     **{f"chosen:{k}": v for k, v in selection.trial.params.items()}})
    table = pd.DataFrame(rows)
    scores = [float(v) for v in table[f"outer_{metric}"] if v is not None and np.isfinite(v)]
    if not scores:
        raise ConfigError(f"No outer fold gave a {metric}; use fewer folds or a metric every fold can compute.")
    mean, interval = float(np.mean(scores)), _t_interval(scores)
    atomic_write_text(out / "outer_folds.csv", table.to_csv(index=False))
    atomic_write_json(out / "summary.json", {
        "metric": metric, "outer_scores": scores, "mean": mean, "ci95": list(interval) if interval else None,
        "estimate": (f"nested cross-validation ({folds} outer folds): each outer score is the tuned model on rows the "
                     "search never saw; the CI is a t-interval over folds (it understates the uncertainty a little, "
                     "as folds share training rows)."),
        "inner_estimate": "inner_best_val_* are the searches' best validation scores: optimistic, not to be quoted.",
    })
    return NestedResult(out, metric, scores, mean, interval, table)
