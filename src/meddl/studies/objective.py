"""One tuning trial: a config drawn from the search space, trained and scored without the test split.

The test split is never part of a search: :func:`without_test` (a
:func:`~meddl.data.split_override.split_override` plan) hands the task pipeline
the run's own train and validation rows and puts the *validation* rows where
the test rows were, so test rows are never transformed, predicted or
scored (the data is read, as it is for every run, but the rows stop there).

On small data (:mod:`meddl.studies.search_folds`) a trial is K fits, one per
cross-validation fold of those training and validation rows, and its score is
the mean out-of-fold metric; the running mean goes to the pruner after each
fold. On larger data a trial is one fit, scored by the validation metric (the
same number ``meddl train`` on the chosen config reports for its validation
split), and each epoch's validation metric (``val_auc``, ``val_c_index``, else
``val_loss``) goes to the pruner through a callback that joins every training
loop of the trial (:mod:`meddl.training.hooks`). Either way the trial stops
when the search's time budget is spent.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from meddl.data.split_override import split_override
from meddl.errors import ConfigError, MeddlError
from meddl.runs import RunLog, get_task, load_config
from meddl.studies.search_folds import CrossValidatedRows, without_test
from meddl.studies.search_space import apply_values, search_space, suggest, untuned_config
from meddl.studies.selection import UNTUNED
from meddl.training.callbacks import Callback
from meddl.training.hooks import training_callbacks

__all__ = [
    "MAXIMIZE",
    "MINIMIZE",
    "TrialObjective",
    "TrialReporter",
    "default_metric",
    "fit_in_memory",
    "metric_direction",
    "objective_metric",
    "search_config",
    "without_test",
]

MAXIMIZE = ("auroc", "auprc", "accuracy", "balanced_accuracy", "f1", "r2", "c_index", "uno_c_index")
MINIMIZE = ("brier", "ece", "mse", "mae", "integrated_brier_score", "factual_rmse", "pehe_nn", "log_loss")
TREATMENT_SCORES = ("factual_rmse", "pehe_nn")  # a treatment run's per-split scores beside its metrics


def fit_in_memory(config):
    """Fit and evaluate ``config`` with its task plug-in, writing nothing; return the ``RunResult``."""
    return get_task(config.task).fit(config, log=RunLog(echo=False))


def default_metric(task: str) -> str:
    """The objective when ``tune.metric`` is not set.

    Diagnosis uses the Brier score, not AUROC: small validation splits often give AUROC 1.0 to most
    trials, and a tie cannot choose (measured on Wisconsin, 85 validation rows: an AUROC search picked
    a config with test AUROC 0.953 against the default's 0.993). The Brier score is a proper score
    that keeps ranking trials by discrimination and calibration together.

    Treatment uses ``pehe_nn`` (:func:`meddl.treatment.nearest_neighbour_pehe`: each patient's
    predicted effect against the outcome difference to the nearest patient of the other arm), not the
    factual RMSE: a network that predicts the observed arm's outcome better need not predict the
    difference between arms better. On fresh simulated IHDP draws (``bench/treatment_selection.py``,
    never the benchmark files) the rank correlation with the true √PEHE across candidates was
    0.93-0.98 for ``pehe_nn`` and 0.70-0.90 for the factual RMSE.
    """
    return {"diagnosis": "brier", "regression": "mse", "survival": "c_index", "treatment": "pehe_nn"}[task]


def metric_direction(metric: str) -> str:
    if metric in MAXIMIZE or metric.startswith("auroc@"):
        return "maximize"
    if metric in MINIMIZE or metric.startswith("calibration_error@"):
        return "minimize"
    raise ConfigError(f"tune.metric {metric!r}: meddl does not know whether higher is better; use one of "
                      f"{', '.join(MAXIMIZE + MINIMIZE)}.")


def objective_metric(result: dict, metric: str, split: str = "val") -> float | None:
    """The value of ``metric`` on ``split`` of a ``RunResult`` (``None`` when it is not defined)."""
    entry = result.metrics.get(split) or {}
    if metric in TREATMENT_SCORES:
        return entry.get(metric)
    found = (entry.get("metrics") or {}).get(metric)
    if found is None:
        known = sorted((entry.get("metrics") or {}).keys())
        raise ConfigError(f"tune.metric {metric!r} is not a {split} metric of this task; available: {known}.")
    return found.get("value")


def search_config(config: dict) -> dict:
    """A trial's config: no bootstrap CIs or conformal sets (the objective needs point values only)."""
    config = dict(config)
    evaluation = {**config.get("evaluation", {}), "n_resamples": 0}
    if "conformal_coverage" in evaluation:  # the tasks that make conformal sets
        evaluation["conformal_coverage"] = None
    config["evaluation"] = evaluation
    return config


class TrialReporter(Callback):
    """Report each epoch's validation metric to an Optuna trial; prune, or stop at the deadline.

    The step counts epochs across all networks the trial trains (ensemble members, one after another).
    With ``report_epochs=False`` (a cross-validated trial, whose steps are folds) it only counts epochs
    and watches the deadline.
    """

    def __init__(self, trial, *, direction: str, pruning: bool, deadline: float | None, report_epochs: bool = True):
        self.trial, self.direction, self.pruning, self.deadline = trial, direction, pruning, deadline
        self.report_epochs = report_epochs
        self.step = 0

    def _another_trial_completed(self) -> bool:
        """Past the deadline, a trial stops only if the study already has a result to fall back on."""
        import optuna

        return bool(self.trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))

    def _value(self, logs: dict) -> float | None:
        # A maximised objective (AUROC, C-index) is tracked by its per-epoch twin; a minimised one by the loss.
        keys = ((("val_auc", True), ("val_c_index", True)) if self.direction == "maximize" else ()) + \
            (("val_loss", False), ("loss", False))
        for key, higher_is_better in keys:
            value = logs.get(key)
            if value is not None and math.isfinite(value):
                same = higher_is_better == (self.direction == "maximize")
                return float(value if same else -value)
        return None

    def on_epoch_end(self, epoch, logs=None):
        import optuna

        self.step += 1
        self.trial.set_user_attr("epochs_trained", self.step)
        if self.deadline is not None and time.monotonic() > self.deadline and self._another_trial_completed():
            raise optuna.TrialPruned(f"the time budget ran out after {self.step} epochs")
        value = self._value(logs or {}) if self.report_epochs else None
        if value is None:
            return
        self.trial.report(value, self.step)
        if self.pruning and self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after {self.step} epochs (validation metric {value:.4f})")


@dataclass
class TrialObjective:
    """``objective(trial) -> score`` for ``study.optimize`` (picklable for worker processes).

    ``rows`` chooses the trial's rows (default :func:`without_test`); with ``folds`` >= 2 the trial is
    cross-validated on those rows' training and validation part (:class:`CrossValidatedRows`): the
    score is the mean of the out-of-fold scores, which are kept as the trial's ``fold_scores``, and
    the running mean goes to the pruner after each fold. ``deadline`` is a ``time.monotonic()`` value
    after which a running trial stops. The trial marked :data:`UNTUNED` trains the config as written.
    """

    config: dict
    metric: str
    direction: str
    pruning: bool = True
    deadline: float | None = None
    rows: Any = without_test
    folds: int = 0
    fold_seed: int = 0
    val_size: float = 0.15

    def _trial_config(self, trial):
        base = load_config(self.config)
        dimensions = search_space(base)
        values = suggest(trial, dimensions, base.model.preset)
        plain = untuned_config(self.config, dimensions) if trial.user_attrs.get(UNTUNED) else \
            apply_values(self.config, values)
        trial_config = load_config(search_config(plain))
        if trial_config.model.preset == "auto":
            trial_config.model.preset = "default"
        if self.folds >= 2 and "calibration_rows" in type(trial_config.evaluation).model_fields:
            # A cross-validated trial fits each fold's calibration map on that fold's validation rows: all trials
            # alike, so the ranking stays fair, and no fold trains 5 more networks (meddl.runs.calibration_rows).
            # A one-fit trial keeps the config's setting: its score is the one `meddl train` reports.
            trial_config.evaluation.calibration_rows = "validation"
        return trial_config

    def _fit(self, trial_config, plan, reporter):
        with split_override(plan), training_callbacks(reporter):
            return fit_in_memory(trial_config)

    def __call__(self, trial) -> float:
        import optuna

        trial_config = self._trial_config(trial)
        reporter = TrialReporter(trial, direction=self.direction, pruning=self.pruning, deadline=self.deadline,
                                 report_epochs=self.folds < 2)
        started = time.perf_counter()
        scores: list[float] = []
        try:
            if self.folds < 2:
                value = objective_metric(self._fit(trial_config, self.rows, reporter), self.metric)
            else:
                for fold in range(self.folds):
                    plan = CrossValidatedRows(fold, self.folds, self.fold_seed, self.val_size, base=self.rows)
                    score = objective_metric(self._fit(trial_config, plan, reporter), self.metric, split="test")
                    if score is None or not math.isfinite(score):
                        raise optuna.TrialPruned(f"the {self.metric} of fold {fold + 1} is not defined")
                    scores.append(float(score))
                    trial.set_user_attr("fold_scores", scores)
                    value = float(np.mean(scores))
                    if self.pruning and fold < self.folds - 1:
                        trial.report(value, fold)
                        if trial.should_prune():
                            raise optuna.TrialPruned(f"pruned after {fold + 1} of {self.folds} folds "
                                                     f"(mean {self.metric} {value:.4f})")
        except ConfigError:  # the search space itself is wrong: stop the search and say why
            raise
        except MeddlError as exc:  # e.g. a learning rate that diverges: a lost trial, not a failed search
            trial.set_user_attr("error", str(exc)[:500])
            raise optuna.TrialPruned(f"the trial failed: {exc}") from None
        trial.set_user_attr("seconds", round(time.perf_counter() - started, 2))
        if value is None or not math.isfinite(value):
            raise optuna.TrialPruned(f"the validation {self.metric} is not defined for this trial")
        return float(value)
