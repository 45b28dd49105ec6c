"""Cross-validation: every row is tested once per repeat, on folds that never split a patient.

``meddl cv CONFIG --folds 5 [--repeats N] [--refit] --out DIR`` and
``meddl.cross_validate(config, folds=5, repeats=1, out=...)``. All rows are
pooled (a data set's own train/val/test split is ignored) and divided into
stratified, patient-grouped folds (:func:`meddl.data.kfold_splits`). For each
fold, a validation part (``val_size`` of the other folds' patients, default
``data.split.val_size``) is carved out for early stopping and the decision
threshold; the model trains on the rest and is tested on the held-out fold.

The output folder::

    folds.csv            row_id, (patient_id), repeat, fold: the fold that tested each row
    fold_metrics.csv     one row per fold: sizes, threshold, each test metric with its 95% CI
    summary.json         per metric mean, sd, min, max over folds; pooled out-of-fold metrics with CIs
    predictions_oof.csv  every row's out-of-fold prediction, per repeat
    config.yaml, cv.log
    refit/               with --refit: a normal run folder, trained on all rows (validation carved out)

Fold estimates share training rows, so the spread across folds understates the
uncertainty; the pooled out-of-fold bootstrap CI is the interval to quote.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from meddl.data import kfold_splits, train_val_test_split
from meddl.errors import ConfigError, DataError
from meddl.evaluation import evaluate_predictions
from meddl.io import atomic_directory, replaceable_if_it_holds, check_output_folder, json_safe
from meddl.runs import Run, RunFolder, RunLog, get_task, load_config, write_report
from meddl.runs.datasets import PreparedSplits
from meddl.runs.diagnosis import SupervisedTask
from meddl.runs.supervised import encode_classes, train_supervised

__all__ = ["cross_validate", "CrossValidationResult"]


@dataclass
class CrossValidationResult:
    """What ``cross_validate`` wrote: the folder, the per-fold table, the summary and the refitted run."""

    path: Path
    fold_metrics: pd.DataFrame
    summary: dict[str, Any]
    refit: Any = None

    def __repr__(self) -> str:
        return f"CrossValidationResult('{self.path}', folds={len(self.fold_metrics)})"


def supervised_task(config) -> SupervisedTask:
    """The config's task, if it trains a network on labelled data (what these studies repeat)."""
    task = get_task(config.task)
    if not isinstance(task, SupervisedTask):
        raise ConfigError(f"task {config.task!r}: cross-validation and learning curves are for tasks that train a "
                          "network on labelled rows ('diagnosis' and 'regression').")
    return task


def load_targets(config, log):
    """Load the config's data and encode its target as ``train_supervised`` does: ``(data, y, class_names)``."""
    task = supervised_task(config)
    data = task.load_data(config)
    for note in data.notes:
        log(note)
    log(f"Loaded {len(data)} rows from {data.source}.")
    if task.classification:
        y, class_names = encode_classes(data.target, class_names=data.class_names,
                                        positive_class=config.data.positive_class)
        return data, y, class_names
    y = pd.to_numeric(pd.Series(data.target), errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(y).all():
        raise DataError(f"The outcome column {config.data.label!r} must be numeric and finite for task 'regression'.")
    return data, y, None


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"The '{name}' parameter of cross_validate must be an integer >= {minimum}. "
                          f"Got {value!r} instead.")
    return int(value)


def _carve_validation(rows: np.ndarray, y: np.ndarray, groups, classification: bool, fraction: float, seed: int):
    inner = train_val_test_split(y[rows] if classification else len(rows), val_size=fraction, test_size=0.0,
                                 groups=None if groups is None else groups[rows], seed=seed)
    return rows[inner.train], rows[inner.val]


def _scores_of(frame: pd.DataFrame, problem: str, class_names) -> np.ndarray:
    if problem == "regression":
        return frame["predicted"].to_numpy(dtype=float)
    if problem == "binary":
        return frame[f"prob_{class_names[-1]}"].to_numpy(dtype=float)
    return frame[[f"prob_{c}" for c in class_names]].to_numpy(dtype=float)


def _summary(fold_metrics: pd.DataFrame, names: list[str]) -> dict[str, Any]:
    summary = {}
    for name in names:
        values = fold_metrics[name].dropna().to_numpy(dtype=float) if name in fold_metrics else np.array([])
        if not len(values):
            summary[name] = {"mean": None, "sd": None, "min": None, "max": None, "n_folds": 0}
            continue
        summary[name] = {"mean": float(values.mean()), "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
                         "min": float(values.min()), "max": float(values.max()), "n_folds": int(len(values))}
    return summary


def cross_validate(config, folds: int = 5, repeats: int = 1, out: str | Path | None = None, *, refit: bool = False,
                   val_size: float | None = None, verbose: bool = False) -> CrossValidationResult:
    """(Repeated) k-fold cross-validation of the model a config describes; writes ``out`` (see the module docstring).

    Args:
        config: a YAML path, dict or ``RunConfig`` (task ``diagnosis`` or ``regression``).
        folds: number of folds (>= 2).
        repeats: repetitions with different fold assignments (seeds ``data.split.seed + r``).
        out: the output folder (default ``runs/cv-<task>-<timestamp>``), replaced atomically.
        refit: also train a final model on all rows and write it as a run folder ``out/refit``.
        val_size: share of the training folds' patients carved out for early stopping and the
            threshold (default ``data.split.val_size``).
        verbose: echo the log.

    Returns:
        :class:`CrossValidationResult` with the per-fold table and the summary.

    Example:
        >>> cv = meddl.cross_validate("config.yaml", folds=5, out="runs/cv")   # doctest: +SKIP
        >>> cv.summary["metrics"]["auroc"]["mean"]                             # doctest: +SKIP
    """
    config = load_config(config)
    folds, repeats = _check_int(folds, "folds", 2), _check_int(repeats, "repeats", 1)
    fraction = config.data.split.val_size if val_size is None else val_size
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ConfigError(f"The 'val_size' parameter of cross_validate must be a float in (0, 1): each fold needs a "
                          f"validation part for early stopping and the threshold. Got {fraction!r} instead.")
    out = Path(out) if out is not None else Path("runs") / f"cv-{config.task}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    check_output_folder(out, holds="summary.json")  # a file, an unwritable place or a user's folder: refused first
    log = RunLog(echo=verbose)
    log(f"meddl cv: {folds} folds x {repeats} repeat(s), task {config.task}, data source {config.data.source}.")
    data, y, class_names = load_targets(config, log)
    classification = class_names is not None
    problem = ("binary" if len(class_names) == 2 else "multiclass") if classification else "regression"
    if data.split is not None:
        log(f"The data's own train/val/test split is pooled: cross-validation uses all {len(data)} rows.")
    pairs = kfold_splits(y if classification else len(y), folds=folds, repeats=repeats, groups=data.groups,
                         seed=config.data.split.seed, stratify=None if classification else False)
    for note in pairs.notes:
        log(note)
    assignments, rows_out, predictions = [], [], []
    for index, (train_rows, test_rows) in enumerate(pairs):
        repeat, fold = divmod(index, folds)
        train, val = _carve_validation(train_rows, y, data.groups, classification, fraction,
                                       config.data.split.seed + 1000 + index)
        log(f"Fold {fold + 1}/{folds}, repeat {repeat + 1}: {len(train)} training, {len(val)} validation, "
            f"{len(test_rows)} test rows.")
        result = train_supervised(config, log=log, classification=classification, data=data,
                                  splits=PreparedSplits(train, val, test_rows, notes=[]))
        test = result.metrics["test"]
        row = {"repeat": repeat, "fold": fold, "n_train": len(train), "n_val": len(val), "n_test": len(test_rows),
               "threshold": result.metrics.get("threshold"),
               "epochs_trained": result.info.model["epochs_trained"]}
        for name, entry in test["metrics"].items():
            row[name] = entry.get("value")
            ci = entry.get("ci95") or (None, None)
            row[f"{name}_low"], row[f"{name}_high"] = ci
        rows_out.append(row)
        frame = result.predictions["test"].copy()
        frame.insert(1, "repeat", repeat)
        frame.insert(2, "fold", fold)
        frame["_position"] = test_rows
        predictions.append(frame)
        assignments.append(pd.DataFrame({"row_id": data.row_ids[test_rows], "repeat": repeat, "fold": fold,
                                         **({"patient_id": data.groups[test_rows]} if data.groups is not None else {})}))
    fold_metrics = pd.DataFrame(rows_out)
    metric_names = [k for k in rows_out[0] if k not in ("repeat", "fold", "n_train", "n_val", "n_test", "threshold",
                                                          "epochs_trained") and not k.endswith(("_low", "_high"))]
    oof = pd.concat(predictions, ignore_index=True)
    pooled = {}
    thresholds = [t for t in fold_metrics["threshold"] if t is not None and not pd.isna(t)]
    pooled_threshold = float(np.median(thresholds)) if thresholds else None
    for repeat in range(repeats):
        part = oof[oof["repeat"] == repeat]
        positions = part["_position"].to_numpy()
        pooled[str(repeat)] = evaluate_predictions(
            problem, y[positions], _scores_of(part, problem, class_names), threshold=pooled_threshold,
            class_names=class_names, groups=None if data.groups is None else data.groups[positions],
            n_resamples=config.evaluation.n_resamples, seed=config.training.seed)
    summary = {"folds": folds, "repeats": repeats, "n_rows": int(len(data)), "problem": problem,
               "class_names": class_names, "stratified": bool(pairs.stratified), "grouped": bool(pairs.grouped),
               "val_size": float(fraction), "metrics": _summary(fold_metrics, metric_names),
               "out_of_fold": pooled, "out_of_fold_threshold": pooled_threshold,
               "notes": ["Fold estimates share training rows, so the sd across folds understates the uncertainty; "
                         "quote the pooled out-of-fold CI.",
                         "Pooled threshold-dependent metrics use the median of the folds' thresholds."]}
    for name in ("auroc", "r2", "mae"):
        if name in summary["metrics"] and summary["metrics"][name]["mean"] is not None:
            entry, pooled_entry = summary["metrics"][name], pooled["0"]["metrics"].get(name, {})
            ci = pooled_entry.get("ci95")
            log(f"Cross-validated {name}: {entry['mean']:.4f} ± {entry['sd'] or 0:.4f} (sd over "
                f"{entry['n_folds']} folds); pooled out-of-fold {pooled_entry.get('value', float('nan')):.4f}"
                + (f" [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "") + ".")
    refit_run = None
    with atomic_directory(out, replaceable=replaceable_if_it_holds("summary.json")) as tmp:
        (tmp / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
        pd.concat(assignments, ignore_index=True).to_csv(tmp / "folds.csv", index=False)
        fold_metrics.to_csv(tmp / "fold_metrics.csv", index=False)
        oof.drop(columns="_position").to_csv(tmp / "predictions_oof.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(json_safe(summary), indent=2, allow_nan=False) + "\n",
                                          encoding="utf-8")
        if refit:
            refit_log = RunLog(echo=verbose)
            refit_log(f"Refit on all {len(data)} rows after {folds}-fold cross-validation ('{out}').")
            train, val = _carve_validation(np.arange(len(data)), y, data.groups, classification, fraction,
                                           config.data.split.seed)
            refit_log(f"{len(train)} training and {len(val)} validation rows (early stopping and threshold); no test "
                      f"split: the cross-validation is the performance estimate.")
            result = train_supervised(config, log=refit_log, classification=classification, data=data,
                                      splits=PreparedSplits(train, val, np.array([], dtype=np.int64), notes=[]))
            RunFolder(tmp / "refit").write(result, refit_log.text(), finish=write_report)
            log(f"Refitted on all rows: {out / 'refit'}.")
        (tmp / "cv.log").write_text(log.text(), encoding="utf-8")
    if refit:
        refit_run = Run(out / "refit")
    return CrossValidationResult(out, fold_metrics, json.loads((out / "summary.json").read_text()), refit_run)
