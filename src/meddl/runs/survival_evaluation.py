"""A survival run's data and figures: its patients, predictions, metrics and report sections, and new patients'.

Shared by training (:mod:`meddl.runs.survival`) and the site update
(:mod:`meddl.runs.survival_site_update`), which recomputes a run's figures with its
updated curves.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from meddl.data import read_deepsurv_h5, validate_survival_target
from meddl.errors import ConfigError, DataError, UnlikeTrainingDataWarning
from meddl.runs.config import RunConfig
from meddl.runs.datasets import LoadedData, check_source_matches_path, read_frame, table_columns
from meddl.runs.registry import load_config, names_a_config
from meddl.survival import (calibration_table, evaluate_survival_model, survival_recalibration_test,
                            survival_report_sections)

__all__ = ["load_survival_data", "survival_prediction_frame", "evaluate_survival_splits", "survival_cases",
           "survival_recalibration", "check_training_events", "check_follow_up_reaches_horizons",
           "follow_up_summary", "FOLLOW_UP_RATIO"]

#: New patients whose median follow-up differs from the training patients' by more than this factor are
#: warned about: the durations are most likely in another unit (days against months: 30; months against years: 12).
FOLLOW_UP_RATIO = 5.0


def load_survival_data(config: RunConfig) -> tuple[LoadedData, np.ndarray, np.ndarray, str, str]:
    """Features, durations and events as the config describes; DeepSurv files keep their own split."""
    data = config.data
    check_source_matches_path(data)
    if data.source == "deepsurv_h5":
        splits = read_deepsurv_h5(data.path)
        names = {"train": "train", "valid": "val", "test": "test"}
        frames, labels = [], []
        for group, split in names.items():
            if group in splits:
                x, t, e = splits[group]
                frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
                frame["duration"], frame["event"] = t, e
                frames.append(frame)
                labels += [split] * len(frame)
        if "train" not in splits or "test" not in splits:
            raise DataError(f"'{data.path}' needs 'train' and 'test' groups; it has {sorted(splits)}.")
        frame = pd.concat(frames, ignore_index=True)
        split = np.asarray(labels, dtype=object)
        duration_column, event_column = "duration", "event"
        where = f"'{data.path}'"
    else:
        if data.source not in ("csv", "parquet", "builtin"):
            raise ConfigError(f"data.source '{data.source}' is not available for task 'survival'; "
                              "use csv, parquet, builtin or deepsurv_h5.")
        frame, defaults = read_frame(data)
        duration_column = data.duration or defaults.get("duration")
        event_column = data.event or defaults.get("event")
        if not duration_column or not event_column:
            raise ConfigError("data.duration and data.event: task 'survival' needs the columns holding the follow-up "
                              "time and the event indicator (1 = event, 0 = censored).")
        split = None
        where = f"built-in data set '{data.name}'" if data.source == "builtin" else f"'{data.path}'"
    reserved = [duration_column, event_column] + [c for c in (data.patient_id,) if c]
    columns = table_columns(frame, data, reserved, where)
    duration, event = validate_survival_target(frame[duration_column], frame[event_column],
                                               column_names=(duration_column, event_column))
    groups = frame[data.patient_id].to_numpy() if data.patient_id else None
    loaded = LoadedData(kind="table", features=frame[columns], target=None, frame=frame,
                        row_ids=np.asarray(frame.index.astype(str)), groups=groups, split=split, source=where)
    if split is not None and not (split == "val").any():
        # No validation group in the file: carve 15% of the training rows (stratified by event).
        train_rows = np.flatnonzero(split == "train")
        _, val_rows = train_test_split(train_rows, test_size=0.15, random_state=config.data.split.seed,
                                       stratify=event[train_rows])
        split = split.copy()
        split[val_rows] = "val"
        loaded.split = split
        loaded.notes.append(f"'{data.path}' has no 'valid' group: 15% of its training rows hold out for validation.")
    loaded.outcomes = {"duration": np.asarray(duration, dtype=np.float64), "event": np.asarray(event, dtype=np.int64)}
    loaded.columns = {"duration": duration_column, "event": event_column}
    return loaded, loaded.outcomes["duration"], loaded.outcomes["event"], duration_column, event_column


def check_training_events(event: np.ndarray, train_event: np.ndarray, column: str, key: str) -> None:
    """The training split has events, or a DataError naming the user's event column (the models call it 'event')."""
    if train_event.sum() > 0:
        return
    if event.sum() == 0:
        where = f"none of the {len(event)} patients has the event (all are coded 0, censored)"
    else:
        where = (f"the training split's {len(train_event)} patients are all censored (the data has only "
                 f"{int(event.sum())} event{'' if event.sum() == 1 else 's'})")
    raise DataError(f"Event column {column!r} ({key}) has no events: {where}. A survival model learns from the "
                    f"events (1 = event, 0 = censored); check that {key} names the event indicator.")


def survival_prediction_frame(model, x: np.ndarray, row_ids, horizons) -> pd.DataFrame:
    """Risk, median survival and survival at each horizon per patient, with 95% intervals for ensembles."""
    columns: dict[str, Any] = {"row_id": row_ids}
    horizons = np.asarray(horizons, dtype=np.float64)
    if hasattr(model, "predict_interval"):
        summary = model.predict_interval(x, horizons)
        for key in ("risk", "median"):
            columns[key] = summary[key]["mean"]
            columns[f"{key}_lower"] = summary[key]["lower"]
            columns[f"{key}_upper"] = summary[key]["upper"]
        columns["median_survival"] = columns.pop("median")
        columns["median_survival_lower"] = columns.pop("median_lower")
        columns["median_survival_upper"] = columns.pop("median_upper")
        for j, horizon in enumerate(horizons):
            label = f"{horizon:g}"
            columns[f"survival@{label}"] = summary["survival"]["mean"][:, j]
            columns[f"survival@{label}_lower"] = summary["survival"]["lower"][:, j]
            columns[f"survival@{label}_upper"] = summary["survival"]["upper"][:, j]
    else:
        columns["risk"] = model.predict_risk(x)
        columns["median_survival"] = model.predict_median(x)
        survival = model.predict_survival(x, horizons)
        for j, horizon in enumerate(horizons):
            columns[f"survival@{horizon:g}"] = survival[:, j]
    return pd.DataFrame(columns)


def evaluate_survival_splits(model, x: dict, t: dict, e: dict, row_ids: dict, horizons: np.ndarray, *,
                             n_resamples: int, seed: int) -> tuple[dict, dict, list]:
    """A run's validation and test figures: ``(metrics, prediction tables, report sections)``.

    ``x``, ``t``, ``e``: features, durations and events by split (``train``, ``val``, ``test``; the training
    rows give the censoring weights); ``row_ids``: the validation and test rows' identifiers.
    """
    metrics: dict[str, Any] = {}
    for split in ("val", "test"):
        if not e[split].any():
            metrics[split] = {"n": int(len(t[split])), "metrics": {}, "reason": f"the {split} split has no events"}
            continue
        metrics[split] = {"n": int(len(t[split])), "n_events": int(e[split].sum()),
                          "metrics": evaluate_survival_model(model, x[split], t[split], e[split],
                                                             train=(t["train"], e["train"]), horizons=horizons,
                                                             n_resamples=n_resamples, seed=seed),
                          "bootstrap": {"n_resamples": n_resamples, "seed": seed, "resampled": "patients"}}
    predictions = {split: survival_prediction_frame(model, x[split], row_ids[split], horizons).assign(
                       duration=t[split], event=e[split]) for split in ("val", "test")}
    sections: list = []
    if e["test"].any():
        survival_test = model.predict_survival(x["test"], horizons)
        calibration = [calibration_table(t["test"], e["test"], survival_test[:, j], h) for j, h in enumerate(horizons)
                       if h <= t["test"].max()]
        grid = np.linspace(0, float(np.quantile(t["train"], 0.95)), 60)
        examples = np.argsort(model.predict_risk(x["test"]))[[0, len(t["test"]) // 2, -1]]
        sections = survival_report_sections(
            t["test"], e["test"], model.predict_risk(x["test"]), calibration=calibration, example_times=grid,
            example_survival=model.predict_survival(x["test"][examples], grid),
            example_labels=["lowest predicted risk", "median predicted risk", "highest predicted risk"])
    return metrics, predictions, sections


def survival_cases(run: Any, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(features, durations, events)`` of new patients with follow-up: a table (path or DataFrame) holding
    the run's duration and event columns, or a config (YAML path or dict) naming survival data (every row).
    Their follow-up must reach the run's first horizon, and is warned about when unlike the training one's."""
    if names_a_config(data):
        loaded, duration, event, duration_column, _ = load_survival_data(load_config(data))
        x = run.preprocessor.transform(loaded.features)
    else:
        x, _, frame = run.features(data)
        columns = (run.info["duration"], run.info["event"])
        missing = [column for column in columns if column not in frame.columns]
        if missing:
            raise DataError(f"The evaluation data needs the run's follow-up columns {list(columns)}; it has no "
                            f"{missing} (columns: {list(map(str, frame.columns))[:20]}).")
        duration, event = validate_survival_target(frame[columns[0]], frame[columns[1]], column_names=columns)
        duration_column = columns[0]
    duration = np.asarray(duration, dtype=np.float64)
    check_follow_up_reaches_horizons(duration, run.info["horizons"], duration_column, run.info["duration"])
    _warn_if_follow_up_unlike_training(duration, run.info.get("follow_up"), duration_column, run.info["duration"])
    return x, duration, np.asarray(event, dtype=np.int64)


def follow_up_summary(duration: np.ndarray) -> dict:
    """The training patients' follow-up, kept in ``run.json`` to check the units of new patients' durations."""
    duration = np.asarray(duration, dtype=np.float64)
    return {"median": float(np.median(duration)), "longest": float(np.max(duration)), "n": int(duration.size)}


def _warn_if_follow_up_unlike_training(duration: np.ndarray, training: dict | None, column: str,
                                       run_column: str) -> None:
    """An :class:`UnlikeTrainingDataWarning` when the median follow-up is over ``FOLLOW_UP_RATIO`` times the
    training patients' (or under 1/``FOLLOW_UP_RATIO``): every figure at the horizons would be taken at the wrong
    times without a word. Runs trained before ``follow_up`` was recorded are not checked."""
    if not training or not training.get("median"):
        return
    median, trained = float(np.median(duration)), float(training["median"])
    ratio = median / trained
    if 1 / FOLLOW_UP_RATIO <= ratio <= FOLLOW_UP_RATIO:
        return
    warnings.warn(f"Duration column {column!r}: the median follow-up of these {len(duration)} patients is "
                  f"{median:g}, {ratio:.3g} times the training patients' ({trained:g}, column {run_column!r}). "
                  f"Are the durations in the training units (days? months?)? The horizons and every figure at them "
                  f"are in the training units.", UnlikeTrainingDataWarning, stacklevel=3)


def check_follow_up_reaches_horizons(duration: np.ndarray, horizons, column: str, run_column: str) -> None:
    """New patients' follow-up reaches at least the run's first horizon, or a DataError naming the column.

    When every horizon lies past the longest follow-up, no figure can be taken at a horizon (the metrics would
    all be clipped to the last follow-up time, the recalibration test would expect no events): most often the
    durations are in another unit than the training data's (months against days).
    """
    longest = float(np.max(duration))
    if longest >= min(horizons):
        return
    raise DataError(f"Duration column {column!r}: the longest follow-up of these {len(duration)} patients is "
                    f"{longest:g}, shorter than every horizon of the run ({', '.join(f'{h:g}' for h in horizons)}, "
                    f"in the units of the training column {run_column!r}). Give the durations in the training "
                    f"units (days? months?); patients followed for less than the first horizon cannot be scored at it.")


def _survival_at_own_times(model, x: np.ndarray, times: np.ndarray, end: float,
                           chunk: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """``(S(times[i] | x[i]), S(end | x[i]))`` per patient, from one prediction of each patient's curve on the
    distinct times and ``end`` (chunked: a patients x distinct-times table)."""
    grid, where = np.unique(np.append(times, end), return_inverse=True)
    at_end = where[-1]
    own, last = np.empty(len(times)), np.empty(len(times))
    for start in range(0, len(times), chunk):
        rows = slice(start, start + chunk)
        curves = model.predict_survival(x[rows], grid)
        own[rows], last[rows] = curves[np.arange(curves.shape[0]), where[:-1][rows]], curves[:, at_end]
    return own, last


def survival_recalibration(model, x: np.ndarray, duration: np.ndarray, event: np.ndarray, end: float,
                           alpha: float = 0.05) -> dict:
    """:func:`~meddl.survival.survival_recalibration_test` of ``model``'s curves on these patients, to ``end``."""
    at_follow_up, at_end = _survival_at_own_times(model, x, np.minimum(duration, end), end)
    return survival_recalibration_test(duration, event, at_follow_up, at_end, end=end, alpha=alpha)
