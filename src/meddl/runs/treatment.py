"""Treatment optimisation end to end: effect estimates, safe recommendations, population value.

``task: treatment`` with covariates, ``data.treatment`` (0/1) and either
``data.outcome`` (continuous or binary) or ``data.duration``/``data.event``
(time to event). Sources: CSV/Parquet, ``ihdp`` (the semi-synthetic benchmark
layout; its true potential outcomes give √PEHE and the ATE error) and
``deepsurv_h5`` with ``data.treatment_column`` (the treatment's column in ``x``).

Models (``model:``): ``tarnet``, ``cfrnet`` (default), ``dragonnet``, and for
time-to-event outcomes the DeepSurv-style ``survival_recommender``. (The
S-/T-/X-learner baselines wrap scikit-learn models, which cannot be saved
without pickle; use them from ``meddl.treatment`` in Python.) Neural
estimators are ensembles (``training.ensemble``, default 5) so every effect
has an interval; each member trains on the training split and early-stops on the
validation split. A propensity model decides where the data supports a
recommendation (``evaluation.support``, default [0.05, 0.95]).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationInfo, field_validator

from meddl.data import TabularPreprocessor, read_deepsurv_h5, read_ihdp_csv, validate_survival_target
from meddl.errors import ConfigError, DataError, unknown_name_error
from meddl.runs.config import (DataConfig, EvaluationConfig, ModelConfig, RunConfig, check_options,
                               require_seed_ensembles)
from meddl.runs.datasets import LoadedData, check_source_matches_path, read_frame, split_rows, table_columns
from meddl.runs.explain_outcomes import explain_outcome_run
from meddl.runs.folder import RunFolder
from meddl.runs.log import RunLog
from meddl.runs.registry import Task, register_task
from meddl.runs.survival_evaluation import check_training_events
from meddl.runs.result import RunResult
from meddl.runs.table_result import table_run_result
from meddl.sections import Section, figure, paragraph, table
from meddl.survival import DeepSurv
from meddl.treatment import (CFRNet, Dragonnet, EffectEnsemble, LinearPropensity, SurvivalRecommender, TARNet,
                             aipw_ate, effect_metrics, load, nearest_neighbour_pehe, overlap_plot, policy_values,
                             recommend, recommendation_survival, resolve_outcome_type)

__all__ = ["train_treatment", "TREATMENT_MODELS", "TreatmentConfig", "TreatmentDataConfig", "TreatmentModelConfig",
           "TreatmentEvaluationConfig", "TreatmentTask"]

NEURAL = {"tarnet": TARNet, "cfrnet": CFRNet, "dragonnet": Dragonnet}
# Meta-learners (meddl.treatment.SLearner/TLearner/XLearner) wrap scikit-learn models, which cannot be saved
# without pickle, so run folders hold the neural estimators; the meta-learners serve as baselines in Python and bench/.
TREATMENT_MODELS = {**NEURAL, "survival_recommender": DeepSurv}
#: set by the run's seed, not by model.options
_RUN_PARAMETERS = ("random_state", "seed", "device", "verbose")
#: Folds of the cross-fitted AIPW effect and policy value on the validation and test splits: each arm of a split
#: needs two patients per fold.
_CROSS_FIT_FOLDS = 5


class TreatmentDataConfig(DataConfig):
    """Covariates, the treatment arm (0/1) and the outcome (a value, or a follow-up time and an event)."""

    source: Literal["csv", "parquet", "ihdp", "deepsurv_h5"]

    treatment: str | None = None
    treatment_column: int | None = None
    outcome: str | None = None
    duration: str | None = None
    event: str | None = None


class TreatmentModelConfig(ModelConfig):
    """``preset``: cfrnet (default), tarnet, dragonnet, or survival_recommender for time-to-event outcomes."""

    preset: str = "default"

    @field_validator("preset")
    @classmethod
    def _known(cls, value):
        if value != "default" and value not in TREATMENT_MODELS:
            raise ValueError(unknown_name_error("treatment model", value, TREATMENT_MODELS).args[0])
        return value

    @field_validator("options")
    @classmethod
    def _typed_options(cls, value, info: ValidationInfo):
        preset = info.data.get("preset", "default")
        if preset not in TREATMENT_MODELS:  # default: the model depends on the outcome, checked when it is built
            return value
        return check_options(value, TREATMENT_MODELS[preset], preset, exclude=_RUN_PARAMETERS)


class TreatmentEvaluationConfig(EvaluationConfig):
    support: tuple[float, float] = (0.05, 0.95)  # recommend only where the propensity lies inside
    higher_is_better: bool = True  # whether a larger outcome is better (False for risks, hazards)

    @field_validator("support")
    @classmethod
    def _check_support(cls, value):
        if not 0 <= value[0] < value[1] <= 1:
            raise ValueError(f"must be [lower, upper] with 0 <= lower < upper <= 1 (got {list(value)})")
        return value


class TreatmentConfig(RunConfig):
    task: Literal["treatment"]
    data: TreatmentDataConfig
    model: TreatmentModelConfig = TreatmentModelConfig()
    evaluation: TreatmentEvaluationConfig = TreatmentEvaluationConfig()

    DEFAULT_ENSEMBLE: ClassVar[int] = 5

    @field_validator("training")
    @classmethod
    def _seed_ensembles_only(cls, value):
        return require_seed_ensembles(value, "treatment")

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, value):
        return {"preset": value} if isinstance(value, str) else value


def _load(config: RunConfig) -> tuple[LoadedData, np.ndarray, dict[str, np.ndarray], np.ndarray | None]:
    """Covariates, treatment, the outcome(s) and (IHDP) the true effect."""
    data = config.data
    check_source_matches_path(data)
    truth = None
    if data.source == "ihdp":
        frame = read_ihdp_csv(data.path)
        treatment_column, outcome_column = "treatment", "y_factual"
        truth = (frame["mu1"] - frame["mu0"]).to_numpy(dtype=np.float64)
        reserved = ["treatment", "y_factual", "y_cfactual", "mu0", "mu1"]
        where = f"'{data.path}'"
    elif data.source == "deepsurv_h5":
        if data.treatment_column is None:
            raise ConfigError("data.treatment_column: source 'deepsurv_h5' needs the index of the treatment in x "
                              "(e.g. -1 for the last column, 0 for the GBSG hormonal treatment).")
        splits = read_deepsurv_h5(data.path)
        frames = []
        for group in ("train", "valid", "test"):
            if group in splits:
                x, t, e = splits[group]
                frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
                frame["duration"], frame["event"] = t, e
                frames.append(frame)
        frame = pd.concat(frames, ignore_index=True)
        n_columns = splits["train"][0].shape[1]
        index = data.treatment_column % n_columns
        treatment_column, outcome_column = f"x{index}", None
        reserved = [treatment_column, "duration", "event"]
        where = f"'{data.path}'"
    else:
        frame, _ = read_frame(data)
        treatment_column, outcome_column = data.treatment, data.outcome
        where = f"'{data.path}'"
        if not treatment_column:
            raise ConfigError("data.treatment: task 'treatment' needs the column holding the treatment (0/1).")
        if not outcome_column and not (data.duration and data.event):
            raise ConfigError("data.outcome (or data.duration and data.event): task 'treatment' needs the outcome.")
        reserved = [treatment_column] + [c for c in (outcome_column, data.duration, data.event, data.patient_id) if c]
    columns = table_columns(frame, data, reserved, where)
    t = _binary_treatment(frame[treatment_column], treatment_column)
    outcome: dict[str, np.ndarray] = {}
    if outcome_column:
        y = pd.to_numeric(frame[outcome_column], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            raise DataError(f"Outcome column {outcome_column!r} must be numeric and finite; rows {bad[:5].tolist()} "
                            f"hold {frame[outcome_column].iloc[bad[:5]].tolist()}"
                            + (f" ({len(bad)} rows in all)" if len(bad) > 5 else "")
                            + ". Fill in or drop missing outcomes; code a binary outcome as 1 (the outcome "
                              "happened, e.g. 'yes') and 0 (it did not).")
        outcome["y"] = y
    else:
        duration_column = data.duration or "duration"
        event_column = data.event or "event"
        duration, event = validate_survival_target(frame[duration_column], frame[event_column],
                                                   column_names=(duration_column, event_column))
        outcome["duration"], outcome["event"] = np.asarray(duration, float), np.asarray(event, np.int64)
    loaded = LoadedData(kind="table", features=frame[columns], target=None, frame=frame,
                        row_ids=np.asarray(frame.index.astype(str)),
                        groups=frame[data.patient_id].to_numpy() if data.patient_id else None, source=where)
    loaded.label = outcome_column
    loaded.outcomes = {"treatment": t, **outcome, **({"effect": truth} if truth is not None else {})}
    loaded.treatment_name = treatment_column  # named on the model card
    return loaded, t, outcome, truth


def _binary_treatment(column: pd.Series, name: str) -> np.ndarray:
    values = pd.to_numeric(column, errors="coerce")
    bad = ~values.isin([0, 1])
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())[:5].tolist()
        raise DataError(f"Treatment column {name!r} must hold 0 (control) and 1 (treated); rows {rows} hold "
                        f"{column.iloc[rows].tolist()}. {_treatment_fix(column, values, bad)}")
    t = values.to_numpy(dtype=np.int64)
    if t.min() == t.max():
        arm = "treated (1)" if t[0] == 1 else "control (0)"
        raise DataError(f"Treatment column {name!r} holds only arm {t[0]}: all {len(t)} patients are {arm}; "
                        f"effects need patients in both arms (a single-arm study cannot estimate them).")
    return t


def _treatment_fix(column: pd.Series, values: pd.Series, bad: pd.Series) -> str:
    """How to recode a treatment column that is not 0/1: its distinct values (with counts) and what to do."""
    counts = column.value_counts(dropna=False)
    shown = ", ".join(f"{value!r} ({n})" for value, n in counts.head(6).items())
    more = f" and {len(counts) - 6} more" if len(counts) > 6 else ""
    if column[bad].isna().all():
        return f"Fill in the missing arms or drop those rows (the column holds {shown}{more})."
    if len(counts) == 2:
        return (f"The column holds {shown}: recode it as 1 for the treated arm (e.g. 'drug', 'yes') and 0 for the "
                f"control arm (e.g. 'placebo', 'no').")
    return (f"The column holds {len(counts)} values, {shown}{more}; a treatment run compares two arms: keep the "
            f"rows of the two arms to compare and code them 0 (control) and 1 (treated).")


def _treatment_key(data: DataConfig) -> str:
    """The config key that names the treatment column, for error messages."""
    return {"deepsurv_h5": "data.treatment_column", "ihdp": "the IHDP file's treatment column"}.get(
        data.source, "data.treatment")


def _check_arms_per_split(treatment: dict[str, np.ndarray], column: str, key: str, time_to_event: bool) -> None:
    """Each split has enough patients of each arm for what the run does with it, or a DataError naming the column.

    The estimators and the AIPW functions check this too, but name their own argument ('t') or function
    (cross_fit_nuisances); a run names the user's treatment column and the split.
    """
    needed = {"train": (1, "to fit the effect model")} if time_to_event else {
        "train": (2, "to fit the effect model"),
        "val": (2 * _CROSS_FIT_FOLDS, f"for the AIPW effect and policy value, cross-fitted over {_CROSS_FIT_FOLDS} "
                                      f"folds"),
        "test": (2 * _CROSS_FIT_FOLDS, f"for the AIPW effect and policy value, cross-fitted over {_CROSS_FIT_FOLDS} "
                                       f"folds")}
    names = {"train": "training", "val": "validation", "test": "test"}
    for split, (minimum, purpose) in needed.items():
        control, treated = (int(n) for n in np.bincount(treatment[split], minlength=2)[:2])
        if min(control, treated) >= minimum:
            continue
        short = " and ".join(arm for arm, n in (("treated", treated), ("control", control)) if n < minimum)
        fix = "add patients of that arm" + ("" if split == "train" else
                                           f", or give the split more rows (data.split.{split}_size)")
        raise DataError(f"Treatment column {column!r} ({key}) has too few {short} patients in the {names[split]} "
                        f"split: {treated} treated and {control} control; a treatment run needs at least {minimum} "
                        f"of each arm there {purpose}. {fix[0].upper()}{fix[1:]}.")


def _estimator(config: RunConfig, time_to_event: bool):
    name = config.model.preset
    if name == "default":
        name = "survival_recommender" if time_to_event else "cfrnet"
    if name not in TREATMENT_MODELS:
        raise unknown_name_error("treatment model (model.preset)", name, TREATMENT_MODELS, error_class=ConfigError)
    if time_to_event != (name == "survival_recommender"):
        raise ConfigError(f"model '{name}' is for {'continuous or binary outcomes' if time_to_event else 'time-to-event outcomes'}; "
                          f"use {'survival_recommender' if time_to_event else 'cfrnet, tarnet or dragonnet'}.")
    options = dict(config.model.options)
    if config.model.preset == "default":  # checked at load for a named model; here once the outcome chose it
        try:
            options = check_options(options, TREATMENT_MODELS[name], name, exclude=_RUN_PARAMETERS)
        except ValueError as exc:
            raise ConfigError(f"model.options: {exc}") from None
    members = config.ensemble_members
    if name == "survival_recommender":
        return name, SurvivalRecommender(DeepSurv(seed=config.training.seed, **options)), 1
    cls = NEURAL[name]
    if config.training.epochs:
        options.setdefault("max_epochs", config.training.epochs)
    try:
        base = cls(random_state=config.training.seed, **options)
    except TypeError as exc:
        raise ConfigError(f"model.options: {exc}.") from None
    if members > 1:
        return name, EffectEnsemble(base, n_members=members, random_state=config.training.seed), members
    return name, base, 1


def train_treatment(config: RunConfig, *, log: RunLog) -> RunResult:
    """Fit the effect estimator and the propensity model, recommend, evaluate; return the run's contents."""
    if config.model.preset not in (*TREATMENT_MODELS, "default"):  # before reading any data
        raise unknown_name_error("treatment model (model.preset)", config.model.preset, TREATMENT_MODELS,
                                 error_class=ConfigError)
    data, t, outcome, truth = _load(config)
    time_to_event = "duration" in outcome
    log(f"Loaded {len(data)} patients ({int(t.sum())} treated, {int((t == 0).sum())} control) from {data.source}.")
    splits = split_rows(data, None, config.data.split, stratify=t)
    for note in splits.notes:
        log(note)
    parts = {"train": splits.train, "val": splits.val, "test": splits.test}
    preprocessor = TabularPreprocessor(numeric=config.data.numeric, categorical=config.data.categorical)
    preprocessor.fit(data.features.iloc[splits.train])
    x = {k: preprocessor.transform(data.features.iloc[rows]) for k, rows in parts.items()}
    tt = {k: t[rows] for k, rows in parts.items()}
    _check_arms_per_split(tt, data.treatment_name, _treatment_key(config.data), time_to_event)
    name, estimator, members = _estimator(config, time_to_event)
    log(f"Model '{name}'" + (f", an ensemble of {members} members" if members > 1 else "") + ".")
    # every other column is a covariate: say which, so an outcome recorded after treatment is seen and excluded
    log(f"Covariates ({len(data.features.columns)}): {', '.join(map(str, data.features.columns))} "
        f"(data.exclude or data.features to change them).")
    if time_to_event:
        check_training_events(outcome["event"], outcome["event"][splits.train], config.data.event or "event",
                              "data.event" if config.data.event else "the DeepSurv file's 'e'")
        estimator.fit(x["train"], tt["train"], outcome["duration"][splits.train], outcome["event"][splits.train])
    else:
        # The validation rows early-stop every member (as in a diagnosis run), so no patient is left out of
        # both training and early stopping: see NeuralEffectEstimator.fit.
        log(f"Early stopping on the {len(splits.val)} validation patients.")
        estimator.fit(x["train"], tt["train"], outcome["y"][splits.train],
                      validation_data=(x["val"], tt["val"], outcome["y"][splits.val]))
    log(f"Trained in {log.elapsed:.1f}s.")
    # 'binary' or 'continuous' as the effect networks read it (their 'outcome' option, 'auto' by default),
    # once the estimator has checked an explicit one
    outcome_kind = "time_to_event" if time_to_event else resolve_outcome_type(
        config.model.options.get("outcome", "auto"), outcome["y"][splits.train], name)
    propensity = LinearPropensity().fit(x["train"], tt["train"])
    lower, upper = config.evaluation.support
    higher_is_better = False if time_to_event else config.evaluation.higher_is_better
    metrics: dict[str, Any] = {}
    predictions: dict[str, pd.DataFrame] = {}
    resamples, seed = config.evaluation.n_resamples, config.training.seed
    for split in ("val", "test"):
        rows = parts[split]
        table = recommend(estimator, x[split], propensity=propensity.predict_propensity(x[split]),
                          higher_is_better=higher_is_better, lower=lower, upper=upper,
                          index=pd.Index(data.row_ids[rows], name="row_id"))
        predictions[split] = table.reset_index()
        entry: dict[str, Any] = {"n": int(len(rows)), "n_without_recommendation": int((~table["in_support"]).sum())}
        recommended = table["recommended_arm"].map({"treated": 1.0, "control": 0.0}).to_numpy(dtype=float)
        if time_to_event:
            entry["recommendation_survival"] = recommendation_survival(
                outcome["duration"][rows], outcome["event"][rows], tt[split], recommended)
        else:
            y = outcome["y"][rows]
            entry["ate_aipw"] = aipw_ate(x[split], tt[split], y, n_folds=_CROSS_FIT_FOLDS, random_state=seed)
            entry["policy_value"] = policy_values(x[split], tt[split], y, recommended, n_folds=_CROSS_FIT_FOLDS,
                                                  random_state=seed)
            # The observed arm's predicted outcome against the outcome: what model selection can use without the truth.
            factual = np.where(tt[split] == 1, table["outcome_if_treated"], table["outcome_if_control"])
            entry["factual_rmse"] = float(np.sqrt(np.mean((factual - y) ** 2)))
            # Each patient's effect against the nearest patient of the other arm: what a search minimises.
            entry["pehe_nn"] = nearest_neighbour_pehe(x[split], tt[split], y, table["effect"].to_numpy())
        if truth is not None:
            entry["effect_metrics"] = effect_metrics(truth[rows], table["effect"].to_numpy(), n_resamples=resamples,
                                                     seed=seed)
        metrics[split] = entry
    if truth is not None:  # Shalit et al.'s within-sample figure: train + validation patients
        within = np.concatenate([splits.train, splits.val])
        metrics["within_sample"] = {"effect_metrics": effect_metrics(
            truth[within], estimator.predict_effect(preprocessor.transform(data.features.iloc[within])),
            n_resamples=resamples, seed=seed)}
    withheld = metrics["test"]["n_without_recommendation"]
    log(f"Test: {withheld} of {metrics['test']['n']} patients get no recommendation (propensity outside "
        f"[{lower}, {upper}]).")
    all_x = np.concatenate([x["train"], x["val"], x["test"]])
    all_t = np.concatenate([tt["train"], tt["val"], tt["test"]])
    sections = [Section("Propensity overlap", paragraph(
        f"Estimated P(treated | x) by arm; recommendations are given only inside [{lower}, {upper}].")
        + figure(overlap_plot(propensity.predict_propensity(all_x), all_t, lower=lower, upper=upper),
                 "propensity overlap"))]
    sections.append(Section("Treatment effect summary", _summary_html(metrics)))
    return table_run_result(config, data, splits, preprocessor, problem="treatment", model=estimator, model_name=name,
                            members=members, metrics=metrics, predictions=predictions, sections=sections,
                            counts={"treated": tt}, seed=seed, label=data.label,
                            details={"treatment": data.treatment_name,
                                     "outcome": outcome_kind,
                                     "higher_is_better": higher_is_better, "support": [lower, upper],
                                     "propensity": propensity.to_dict()})


@register_task
class TreatmentTask(Task):
    """Treatment effects per patient, recommended only where the data supports it."""

    name = "treatment"
    config_class = TreatmentConfig
    predicts = "the outcome under each arm, the effect with its interval and the recommended arm"
    explained_outcome = ("predict_effect", "estimated treatment effect (treated − control)")
    keeps_history = False

    def load_data(self, config: RunConfig) -> LoadedData:
        return _load(config)[0]

    def fit(self, config: RunConfig, *, log: RunLog) -> RunResult:
        return train_treatment(config, log=log)

    def load_model(self, folder: RunFolder, info: dict[str, Any]) -> Any:
        return load(folder.model_dir)

    def recommend(self, run: Any, data: Any) -> pd.DataFrame:
        """Per patient: outcome under each arm, effect with interval, recommended arm and benefit.

        Patients whose propensity lies outside the run's support get "no recommendation:
        outside the data's support" instead of a guess.
        """
        x, ids, _ = run.features(data)
        propensity = LinearPropensity.from_dict(run.info["propensity"]).predict_propensity(x)
        lower, upper = run.info["support"]
        table = recommend(run.model, x, propensity=propensity, higher_is_better=run.info["higher_is_better"],
                          lower=lower, upper=upper, index=pd.Index(ids, name="row_id"))
        return table.reset_index()

    def explain(self, run: Any, data: Any = None, **options: Any):
        return explain_outcome_run(run, data, **options)


def _fmt(entry: dict | None) -> str:
    if not entry or entry.get("value") is None:
        return "n/a"
    ci = entry.get("ci95")
    return f"{entry['value']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _summary_html(metrics: dict) -> str:
    rows = []
    test = metrics["test"]
    if "ate_aipw" in test:
        rows.append(("Average treatment effect (AIPW), test", _fmt(test["ate_aipw"])))
        policy = test["policy_value"]
        for key, label in (("as_recommended", "Mean outcome, treated as recommended"),
                           ("treat_all", "Mean outcome, treat all"), ("treat_none", "Mean outcome, treat none"),
                           ("as_recommended_minus_treat_all", "Recommended − treat all"),
                           ("as_recommended_minus_treat_none", "Recommended − treat none")):
            rows.append((label, _fmt(policy.get(key))))
    if "recommendation_survival" in test:
        for key, value in test["recommendation_survival"].items():
            rows.append((key.replace("_", " "), f"{value:.4g}" if isinstance(value, float) else str(value)))
    for scope, entry in (("test", test.get("effect_metrics")), ("within sample", metrics.get("within_sample", {}).get("effect_metrics"))):
        if entry:
            rows.append((f"√PEHE ({scope})", _fmt(entry["sqrt_pehe"])))
            rows.append((f"|ATE error| ({scope})", _fmt(entry["ate_error"])))
    rows.append(("Patients without a recommendation (test)", f"{test['n_without_recommendation']} of {test['n']}"))
    return table(["Quantity", "Value [95% CI]"], rows)
