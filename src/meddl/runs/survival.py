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

from meddl.data import TabularPreprocessor
from meddl.errors import ConfigError, DataError, unknown_name_error
from meddl.runs.config import (DataConfig, EvaluationConfig, ModelConfig, RunConfig, check_options,
                               require_seed_ensembles)
from meddl.runs.datasets import LoadedData, split_rows
from meddl.runs.explain_outcomes import explain_outcome_run
from meddl.runs.folder import RunFolder
from meddl.runs.log import RunLog
from meddl.runs.registry import Task, register_task
from meddl.runs.result import RunResult
from meddl.runs.site_records import SiteRecalibration
from meddl.runs.survival_calibration import calibrate_survival_model
from meddl.runs.survival_evaluation import (check_training_events, evaluate_survival_splits, follow_up_summary,
                                            load_survival_data, survival_cases, survival_prediction_frame,
                                            survival_recalibration)
from meddl.runs.survival_site_update import recalibrate_survival_run
from meddl.runs.table_result import table_run_result
from meddl.survival import (DeepSurv, LinearCox, LogisticHazard, SurvivalEnsemble, default_horizons,
                            evaluate_survival_model, load_survival_model)
from meddl.survival.site_update import apply_site_updates

__all__ = ["train_survival", "load_survival_data", "SURVIVAL_MODELS", "survival_prediction_frame", "SurvivalConfig",
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
        """Finite, positive and distinct times, in increasing order (the order of the output columns)."""
        if value is None:
            return value
        if not value or not all(np.isfinite(h) and h > 0 for h in value):
            raise ValueError("must be a non-empty list of positive, finite times")
        repeated = sorted({h for h in value if value.count(h) > 1})
        if repeated:
            raise ValueError(f"each horizon must be given once; {', '.join(f'{h:g}' for h in repeated)} "
                             f"is repeated")
        return sorted(value)


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


def _check_horizons_within_follow_up(horizons: list[float] | None, train_duration: np.ndarray, column: str) -> None:
    """Past the longest training follow-up a curve is flat by construction: its survival there would be a guess."""
    longest = float(np.max(train_duration))
    beyond = [h for h in horizons or () if h > longest]
    if beyond:
        raise ConfigError(f"evaluation.horizons: {', '.join(f'{h:g}' for h in beyond)} lie(s) beyond the longest "
                          f"follow-up of the training rows ({longest:g} in column {column!r}); a model cannot say "
                          f"anything about survival there. Give horizons within the follow-up, in the units of "
                          f"{column!r} (days? months?).")


def _event_key(data) -> str:
    """Where the event column comes from, for error messages (the config key, or the file's own column)."""
    if data.source == "deepsurv_h5":
        return "the DeepSurv file's 'e'"
    return "data.event" if data.event else "the built-in data set's event column"


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

    _check_horizons_within_follow_up(config.evaluation.horizons, duration[splits.train], duration_column)
    preprocessor = preprocessor_on(splits.train)
    x = {name: preprocessor.transform(data.features.iloc[rows])
         for name, rows in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
    t = {name: duration[rows] for name, rows in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
    e = {name: event[rows] for name, rows in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
    check_training_events(event, e["train"], event_column, _event_key(config.data))
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
    row_ids = {"val": data.row_ids[splits.val], "test": data.row_ids[splits.test]}
    metrics, predictions, sections = evaluate_survival_splits(model, x, t, e, row_ids, horizons,
                                                              n_resamples=config.evaluation.n_resamples,
                                                              seed=config.training.seed)
    return table_run_result(config, data, splits, preprocessor, problem="survival", model=model, model_name=name,
                            members=members, metrics=metrics, predictions=predictions, sections=sections,
                            counts={"events": e}, seed=config.training.seed,
                            details={"duration": duration_column, "event": event_column,
                                     "horizons": [float(h) for h in horizons], "recalibration": recalibration,
                                     "follow_up": follow_up_summary(t["train"])})


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
        # a run updated for another site (meddl recalibrate) wraps its model in each saved update, oldest first
        return apply_site_updates(load_survival_model(folder.model_dir),
                                  (info.get("site_recalibration") or {}).get("updates"))

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

    def recalibrate(self, run: Any, data: Any, out: str | Path, *, label: str | None = None, update: str = "auto",
                    alpha: float = 0.05) -> SiteRecalibration:
        """The run's curves updated on a site's patients, as a new run (:func:`recalibrate_survival_run`)."""
        if label is not None:
            raise ConfigError(f"'label' does not apply to a survival run: it reads the follow-up columns "
                              f"{run.info['duration']!r} and {run.info['event']!r}. Got label={label!r}.")
        return recalibrate_survival_run(run, data, out, update=update, alpha=alpha)

    def explain(self, run: Any, data: Any = None, **options: Any):
        return explain_outcome_run(run, data, **options)
