"""Prognosis as time-to-event: survival models end to end, from a config to a run folder.

``task: survival`` with ``data.duration`` and ``data.event`` columns (CSV,
Parquet), a scikit-survival data set by name (``source: builtin``), or a
DeepSurv HDF5 file (``source: deepsurv_h5``, its own train/valid/test split).
Models (``model:``): ``deepsurv`` (default), ``logistic_hazard`` (free of the
proportional-hazards assumption) and ``linear_cox`` (the baseline), as an
ensemble (``training.ensemble``, default 5 members) whose spread gives
every prediction an uncertainty interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationInfo, field_validator
from sklearn.model_selection import train_test_split

from meddl.data import TabularPreprocessor, read_deepsurv_h5, validate_survival_target
from meddl.errors import ConfigError, DataError, unknown_name_error
from meddl.runs.config import (DataConfig, EvaluationConfig, ModelConfig, RunConfig, check_options,
                               require_seed_ensembles)
from meddl.runs.datasets import LoadedData, read_frame, split_rows, table_columns
from meddl.runs.explain_outcomes import explain_outcome_run
from meddl.runs.folder import RunFolder
from meddl.runs.log import RunLog
from meddl.runs.registry import Task, load_config, register_task
from meddl.runs.result import RunResult
from meddl.runs.survival_calibration import calibrate_survival_model
from meddl.runs.table_result import table_run_result
from meddl.survival import (DeepSurv, LinearCox, LogisticHazard, SurvivalEnsemble, calibration_table, default_horizons,
                            evaluate_survival_model, load_survival_model, survival_recalibration_test,
                            survival_report_sections)

__all__ = ["train_survival", "load_survival_data", "SURVIVAL_MODELS", "survival_prediction_frame", "survival_cases",
           "survival_recalibration", "SurvivalConfig",
           "SurvivalDataConfig", "SurvivalModelConfig", "SurvivalEvaluationConfig", "SurvivalTask"]

SURVIVAL_MODELS = {"deepsurv": DeepSurv, "logistic_hazard": LogisticHazard, "linear_cox": LinearCox}
#: set by the run's seed and training section, not by model.options
_RUN_PARAMETERS = ("seed", "device", "verbose")


class SurvivalDataConfig(DataConfig):
    """Covariates with a follow-up time and an event indicator (1 = event, 0 = censored)."""

    source: Literal["csv", "parquet", "builtin", "deepsurv_h5"]

    duration: str | None = None
    event: str | None = None


class SurvivalModelConfig(ModelConfig):
    """``preset``: deepsurv (default), logistic_hazard or linear_cox; ``options``: that model's parameters."""

    preset: str = "default"

    @field_validator("preset")
    @classmethod
    def _known(cls, value):
        if value != "default" and value not in SURVIVAL_MODELS:
            raise ValueError(unknown_name_error("survival model", value, SURVIVAL_MODELS).args[0])
        return value

    @field_validator("options")
    @classmethod
    def _typed_options(cls, value, info: ValidationInfo):
        preset = info.data.get("preset", "default")
        name = "deepsurv" if preset == "default" else preset
        return check_options(value, SURVIVAL_MODELS[name], name, exclude=_RUN_PARAMETERS) if name in SURVIVAL_MODELS else value


class SurvivalEvaluationConfig(EvaluationConfig):
    horizons: list[float] | None = None
    # auto: rescale the model (rescale_risk) by its calibration slope over follow-up on held-out rows when a
    # likelihood-ratio test rejects 1 at 5%; slope: always; none: never (meddl.runs.survival_calibration)
    calibration: Literal["auto", "none", "slope"] = "auto"
    # the held-out rows: auto = cross_fitted (5-fold out-of-fold curves over the training and validation rows)
    # when the validation split has fewer than 300 rows, else validation
    calibration_rows: Literal["auto", "validation", "cross_fitted"] = "auto"

    @field_validator("horizons")
    @classmethod
    def _positive(cls, value):
        if value is not None and (not value or min(value) <= 0):
            raise ValueError(f"must be a non-empty list of positive times (got {value})")
        return value


class SurvivalConfig(RunConfig):
    task: Literal["survival"]
    data: SurvivalDataConfig
    model: SurvivalModelConfig = SurvivalModelConfig()
    evaluation: SurvivalEvaluationConfig = SurvivalEvaluationConfig()

    DEFAULT_ENSEMBLE: ClassVar[int] = 5

    @field_validator("training")
    @classmethod
    def _seed_ensembles_only(cls, value):
        return require_seed_ensembles(value, "survival")

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, value):
        return {"preset": value} if isinstance(value, str) else value


def _model_class(name: str):
    if name == "default":
        name = "deepsurv"
    if name not in SURVIVAL_MODELS:
        raise unknown_name_error("survival model (model.preset)", name, SURVIVAL_MODELS, error_class=ConfigError)
    return name, SURVIVAL_MODELS[name]


def load_survival_data(config: RunConfig) -> tuple[LoadedData, np.ndarray, np.ndarray, str, str]:
    """Features, durations and events as the config describes; DeepSurv files keep their own split."""
    data = config.data
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


def _build_model(config: RunConfig):
    name, cls = _model_class(config.model.preset)
    options = dict(config.model.options)
    members = config.ensemble_members
    training = config.training
    settings: dict[str, Any] = {"seed": training.seed, **options}
    if training.epochs:
        settings.setdefault("epochs", training.epochs)
    if training.learning_rate:
        settings.setdefault("learning_rate", training.learning_rate)
    if name != "linear_cox" and training.early_stopping is not None:
        settings.setdefault("early_stopping_patience", training.early_stopping.patience)
    try:
        base = cls(**settings)
    except TypeError as exc:
        raise ConfigError(f"model.options: {exc} (options for '{name}': {sorted(cls().get_params())}).") from None
    if members > 1:
        return name, SurvivalEnsemble(base, n_members=members), members
    return name, base, 1


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


def train_survival(config: RunConfig, *, log: RunLog) -> RunResult:
    """Train and evaluate a survival model; return what the run folder needs."""
    data, duration, event, duration_column, event_column = load_survival_data(config)
    for note in data.notes:
        log(note)
    log(f"Loaded {len(data)} patients ({int(event.sum())} events, {int((event == 0).sum())} censored) from {data.source}.")
    splits = split_rows(data, None, config.data.split, stratify=event)
    for note in splits.notes:
        log(note)

    def preprocessor_on(rows):
        return TabularPreprocessor(numeric=config.data.numeric, categorical=config.data.categorical).fit(
            data.features.iloc[rows])

    preprocessor = preprocessor_on(splits.train)
    x = {name: preprocessor.transform(data.features.iloc[rows])
         for name, rows in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
    t = {name: duration[rows] for name, rows in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
    e = {name: event[rows] for name, rows in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
    name, model, members = _build_model(config)
    log(f"Model '{name}'" + (f", an ensemble of {members} members (seeds differ)" if members > 1 else "")
        + f"; {x['train'].shape[1]} features.")
    model.fit(x["train"], t["train"], e["train"], validation=(x["val"], t["val"], e["val"]))
    log(f"Trained in {log.elapsed:.1f}s.")
    horizons = (np.asarray(config.evaluation.horizons, dtype=np.float64) if config.evaluation.horizons
                else default_horizons(t["train"], e["train"]))
    log("Horizons: " + ", ".join(f"{h:g}" for h in horizons)
        + ("" if config.evaluation.horizons else " (quartiles of the training event times; set evaluation.horizons)."))

    def fold_features(train_rows, held_out_rows):
        fold_preprocessor = preprocessor_on(train_rows)
        return (fold_preprocessor.transform(data.features.iloc[train_rows]),
                fold_preprocessor.transform(data.features.iloc[held_out_rows]))

    recalibration = calibrate_survival_model(config, model=model, splits=splits, duration=duration, event=event,
                                           groups=data.groups, x_train=x["train"], x_val=x["val"],
                                           end=float(horizons.max()), fold_features=fold_features, log=log)
    metrics: dict[str, Any] = {}
    for split in ("val", "test"):
        if not e[split].any():
            metrics[split] = {"n": int(len(t[split])), "metrics": {}, "reason": f"the {split} split has no events"}
            continue
        metrics[split] = {"n": int(len(t[split])), "n_events": int(e[split].sum()),
                          "metrics": evaluate_survival_model(model, x[split], t[split], e[split],
                                                             train=(t["train"], e["train"]), horizons=horizons,
                                                             n_resamples=config.evaluation.n_resamples,
                                                             seed=config.training.seed),
                          "bootstrap": {"n_resamples": config.evaluation.n_resamples, "seed": config.training.seed,
                                        "resampled": "patients"}}
    predictions = {split: survival_prediction_frame(model, x[split], data.row_ids[rows], horizons).assign(
                       duration=t[split], event=e[split])
                   for split, rows in (("val", splits.val), ("test", splits.test))}
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
    return table_run_result(config, data, splits, preprocessor, problem="survival", model=model, model_name=name,
                            members=members, metrics=metrics, predictions=predictions, sections=sections,
                            counts={"events": e}, seed=config.training.seed,
                            details={"duration": duration_column, "event": event_column,
                                     "horizons": [float(h) for h in horizons], "recalibration": recalibration})


def survival_cases(run: Any, data: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(features, durations, events)`` of new patients with follow-up: a table (path or DataFrame) holding
    the run's duration and event columns, or a config (YAML path or dict) naming survival data (every row)."""
    if isinstance(data, dict) or (isinstance(data, (str, Path)) and str(data).endswith((".yaml", ".yml"))):
        loaded, duration, event, _, _ = load_survival_data(load_config(data))
        return run.preprocessor.transform(loaded.features), duration, event
    x, _, frame = run.features(data)
    columns = (run.info["duration"], run.info["event"])
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise DataError(f"The evaluation data needs the run's follow-up columns {list(columns)}; it has no "
                        f"{missing} (columns: {list(map(str, frame.columns))[:20]}).")
    duration, event = validate_survival_target(frame[columns[0]], frame[columns[1]], column_names=columns)
    return x, np.asarray(duration, dtype=np.float64), np.asarray(event, dtype=np.int64)


def _survival_at_own_times(model, x: np.ndarray, times: np.ndarray, chunk: int = 1000) -> np.ndarray:
    """``S(times[i] | x[i])`` per patient (chunked: the model predicts a patients x distinct-times table)."""
    grid, where = np.unique(times, return_inverse=True)
    out = np.empty(len(times))
    for start in range(0, len(times), chunk):
        rows = slice(start, start + chunk)
        curves = model.predict_survival(x[rows], grid)
        out[rows] = curves[np.arange(curves.shape[0]), where[rows]]
    return out


def survival_recalibration(model, x: np.ndarray, duration: np.ndarray, event: np.ndarray, end: float,
                           alpha: float = 0.05) -> dict:
    """:func:`~meddl.survival.survival_recalibration_test` of ``model``'s curves on these patients, to ``end``."""
    follow_up = np.minimum(duration, end)
    return survival_recalibration_test(duration, event, _survival_at_own_times(model, x, follow_up),
                                       model.predict_survival(x, np.array([end]))[:, 0], end=end, alpha=alpha)


@register_task
class SurvivalTask(Task):
    """Time to event: risk, median survival and survival at each horizon, with ensemble intervals."""

    name = "survival"
    config_class = SurvivalConfig
    predicts = "risk, median survival and survival at each horizon, with 95% intervals from the ensemble"
    explained_outcome = ("predict_risk", "risk score (higher = earlier event)")
    keeps_history = False

    def load_data(self, config: RunConfig) -> LoadedData:
        return load_survival_data(config)[0]

    def fit(self, config: RunConfig, *, log: RunLog) -> RunResult:
        return train_survival(config, log=log)

    def load_model(self, folder: RunFolder, info: dict[str, Any]) -> Any:
        return load_survival_model(folder.model_dir)

    def predict(self, run: Any, data: Any, **options: Any) -> pd.DataFrame:
        x, ids, _ = run.features(data)
        return survival_prediction_frame(run.model, x, ids, run.info["horizons"])

    def evaluate(self, run: Any, data: Any, *, label: str | None = None, n_resamples: int = 1000,
                 seed: int = 0) -> dict:
        """C-indices, AUROC, calibration at the run's horizons and the integrated Brier score, with 95% CIs, on
        new patients with follow-up (:func:`survival_cases`); the censoring weights come from these patients.
        ``recalibration``: which update, if any, the curves need on them (:func:`survival_recalibration`)."""
        if label is not None:
            raise ConfigError(f"'label' does not apply to a survival run: it reads the follow-up columns "
                              f"{run.info['duration']!r} and {run.info['event']!r}. Got label={label!r}.")
        x, duration, event = survival_cases(run, data)
        horizons = np.asarray(run.info["horizons"], dtype=np.float64)
        result: dict[str, Any] = {
            "task": "survival", "n": int(len(duration)), "n_events": int(event.sum()),
            "metrics": evaluate_survival_model(run.model, x, duration, event, horizons=horizons,
                                               n_resamples=n_resamples, seed=seed),
            "bootstrap": {"n_resamples": n_resamples, "seed": seed, "resampled": "patients"},
            "censoring": "Kaplan-Meier of these patients' censoring times (the IPCW weights)"}
        try:
            result["recalibration"] = survival_recalibration(run.model, x, duration, event, float(horizons.max()))
        except DataError as exc:
            result["recalibration"] = {"recommended": None, "reason": f"not tested: {exc}"}
        return result

    def explain(self, run: Any, data: Any = None, **options: Any):
        return explain_outcome_run(run, data, **options)
