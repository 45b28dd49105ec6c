"""How a search scores and chooses: trial 0 is the config as written, small data is cross-validated
(the test split never reaches a trial), and the one-standard-error rule keeps the untuned config
unless a trial beats it by more than the noise."""

import numpy as np
import optuna
import pandas as pd
import pytest

import meddl
from meddl.runs import load_config
from meddl.runs.datasets import PreparedSplits
from meddl.studies import objective as objective_module
from meddl.studies.search_folds import (
    DEFAULT_FOLDS,
    CrossValidatedRows,
    development_sizes,
    search_folds,
)
from meddl.studies.selection import UNTUNED, select_trial, standard_error, untuned_trial
from meddl.studies.tuning import best_config, run_search
from tests.studies.conftest import small_config


def _record_fits(monkeypatch):
    """Record each trial fit's config and the rows its split plan handed the pipeline."""
    fits = []
    original_fit, original_call = objective_module.fit_in_memory, CrossValidatedRows.__call__

    def recording_call(self, data, splits):
        planned = original_call(self, data, splits)
        fits[-1]["splits"] = planned
        return planned

    def recording_fit(config):
        fits.append({"config": config})
        return original_fit(config)

    monkeypatch.setattr(objective_module, "fit_in_memory", recording_fit)
    monkeypatch.setattr(CrossValidatedRows, "__call__", recording_call)
    return fits


def test_trial_zero_trains_the_config_as_written(noisy_table, monkeypatch):
    config = small_config(noisy_table)
    config["tune"]["space"] = {"training.learning_rate": {"low": 0.02, "high": 0.05, "log": True}}  # excludes 1e-3
    fits = _record_fits(monkeypatch)
    study = run_search(config, trials=1)
    [trial] = study.trials
    assert trial.user_attrs[UNTUNED] is True and untuned_trial(study) is not None
    written = load_config(config)
    for fit in fits:
        assert fit["config"].model == written.model
        assert fit["config"].training.learning_rate == written.training.learning_rate  # not drawn from 0.02-0.05
    assert load_config(best_config(config, study)).model == written.model  # only trial 0: the config comes back


def test_small_data_is_cross_validated_and_the_test_rows_never_reach_a_trial(noisy_table, tmp_path, monkeypatch):
    config = small_config(noisy_table)
    reference = meddl.train(config, tmp_path / "reference")
    split = pd.read_csv(reference.path / "split.csv", dtype={"row_id": str})
    test_ids = set(split.loc[split["split"] == "test", "row_id"])
    development_ids = set(split.loc[split["split"].isin(["train", "val"]), "row_id"])
    fits = _record_fits(monkeypatch)
    study = run_search(config, trials=1)
    assert study.user_attrs["folds"] == DEFAULT_FOLDS and "cross-validation" in study.user_attrs["objective"]
    [trial] = study.trials
    assert len(trial.user_attrs["fold_scores"]) == DEFAULT_FOLDS
    assert trial.value == pytest.approx(np.mean(trial.user_attrs["fold_scores"]))
    ids = np.asarray(split["row_id"])
    scored = []
    for fit in fits:
        planned: PreparedSplits = fit["splits"]
        seen = {str(i) for part in (planned.train, planned.val, planned.test) for i in ids[part]}
        assert seen <= development_ids and not seen & test_ids
        scored.append(set(ids[planned.test]))
        assert not set(ids[planned.train]) & scored[-1] and not set(ids[planned.val]) & scored[-1]
    assert set().union(*scored) == development_ids and sum(map(len, scored)) == len(development_ids)  # a partition


def test_pruning_stops_a_cross_validated_trial_after_one_fold(noisy_table):
    config = small_config(noisy_table, metric="auroc")
    study = run_search(config, trials=1, pruner=optuna.pruners.ThresholdPruner(lower=1.5))
    [trial] = study.trials
    assert trial.state == optuna.trial.TrialState.PRUNED and len(trial.user_attrs["fold_scores"]) == 1


def test_large_data_is_scored_on_the_validation_split(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "large.csv"
    pd.DataFrame({"a": rng.normal(size=4000), "label": rng.integers(0, 2, 4000)}).to_csv(path, index=False)
    config = load_config({"task": "diagnosis", "data": {"source": "csv", "path": str(path), "label": "label"}})
    assert development_sizes(config) == (3400, 600)
    assert search_folds(config)[0] == 0
    forced = load_config({**config.to_dict(), "tune": {"cv_folds": 3}})
    assert search_folds(forced)[0] == 3


def _study(direction, trials):
    """An in-memory study holding finished trials ``(value, fold scores, untuned)``."""
    study = optuna.create_study(direction=direction)
    distribution = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}
    for number, (value, scores, untuned) in enumerate(trials):
        study.add_trial(optuna.trial.create_trial(
            value=value, params={"x": number / 10}, distributions=distribution,
            user_attrs={"fold_scores": scores, **({UNTUNED: True} if untuned else {})}))
    return study


def test_one_standard_error_rule_keeps_the_untuned_config_within_the_noise():
    untuned = (0.90, [0.88, 0.92, 0.90, 0.91, 0.89], True)
    # The best trial is 0.01 better; its fold scores vary: one standard error is ~0.022.
    noisy_better = (0.91, [0.87, 0.95, 0.88, 0.94, 0.91], False)
    selection = select_trial(_study("maximize", [untuned, noisy_better]))
    assert selection.is_untuned and selection.rule == "one_se"
    assert selection.standard_error == pytest.approx(standard_error(noisy_better[1]))
    assert "kept the untuned config" in selection.reason
    assert not select_trial(_study("maximize", [untuned, noisy_better]), rule="best").is_untuned


def test_one_standard_error_rule_takes_a_clearly_better_trial():
    untuned = (0.20, [0.19, 0.21, 0.20, 0.20, 0.20], True)
    clearly_better = (0.10, [0.09, 0.11, 0.10, 0.10, 0.10], False)  # a brier score: lower is better
    selection = select_trial(_study("minimize", [untuned, clearly_better]))
    assert not selection.is_untuned and selection.trial.value == 0.10


def test_without_fold_scores_the_best_trial_is_taken():
    selection = select_trial(_study("maximize", [(0.90, [], True), (0.91, [], False)]))
    assert not selection.is_untuned and selection.rule == "best"


def test_a_search_where_no_trial_completed_is_refused_with_the_counts(monkeypatch, noisy_table):
    from meddl import ConfigError
    from meddl.studies import tuning

    study = optuna.create_study()
    trial = study.ask()
    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    monkeypatch.setattr(tuning, "run_search", lambda config, **options: study)
    with pytest.raises(ConfigError, match=r"nothing finished \(\{'pruned': 1\}\)"):
        tuning.search_and_choose(load_config(small_config(noisy_table)),
                                 no_trial_completed="nothing finished ({counts})")
