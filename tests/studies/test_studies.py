"""Nested tuning, model.preset auto, MLflow tracking, the search space and its config."""

import json

import optuna
import pytest

import meddl
from meddl.errors import ConfigError
from meddl.runs.tuning_config import parse_duration
from meddl.studies import log_to_mlflow, nested_tune
from meddl.studies.search_space import (
    apply_values,
    default_values,
    search_space,
    suggest,
)
from tests.studies.conftest import small_config


def test_nested_returns_one_outer_score_per_fold(noisy_table, tmp_path):
    result = nested_tune(small_config(noisy_table), tmp_path, folds=3, trials=2)
    assert len(result.outer_scores) == 3 and len(result.folds) == 3
    assert result.ci95[0] <= result.mean <= result.ci95[1]
    assert set(result.folds["n_outer"]) <= {66, 67}  # each outer fold is a third of the 200 rows
    summary = json.loads((tmp_path / "nested" / "summary.json").read_text())
    assert "nested cross-validation" in summary["estimate"] and len(summary["outer_scores"]) == 3


def test_nested_needs_two_folds(noisy_table, tmp_path):
    with pytest.raises(ConfigError, match="'folds'"):
        nested_tune(small_config(noisy_table), tmp_path, folds=1)


def test_preset_auto_searches_then_trains(noisy_table, tmp_path):
    config = small_config(noisy_table, trials=2)
    config["model"] = {"preset": "auto"}
    config["training"]["time_budget"] = "2m"
    run = meddl.train(config, tmp_path / "auto")
    assert run.config.model.preset == "default" and run.config.training.time_budget is None
    summary = json.loads((run.path / "tuning" / "summary.json").read_text())
    assert sum(summary["trial_counts"].values()) == 2
    assert "Hyperparameter search" in (run.path / "report.html").read_text()


def test_mlflow_file_store_holds_the_logged_run(noisy_table, tmp_path):
    from mlflow.tracking import MlflowClient

    store = tmp_path / "mlruns"
    config = small_config(noisy_table)
    config["tracking"] = {"mlflow": f"file:{store}", "experiment": "tests"}
    run = meddl.train(config, tmp_path / "tracked")
    client = MlflowClient(tracking_uri=store.as_uri())
    experiment = client.get_experiment_by_name("tests")
    [logged] = client.search_runs([experiment.experiment_id])
    assert logged.data.tags["meddl.kind"] == "train"
    assert logged.data.params["task"] == "diagnosis"
    test_auroc = run.metrics["test"]["metrics"]["auroc"]
    assert logged.data.metrics["test.metrics.auroc"] == pytest.approx(test_auroc["value"])
    assert logged.data.metrics["test.metrics.auroc.ci_low"] == pytest.approx(test_auroc["ci95"][0])
    artifacts = {a.path for a in client.list_artifacts(logged.info.run_id)}
    assert {"report.html", "folder"} <= artifacts
    assert "folder/metrics.json" in {a.path for a in client.list_artifacts(logged.info.run_id, "folder")}


def test_log_to_mlflow_returns_the_run_id(tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "notes.txt").write_text("x")
    run_id = log_to_mlflow(f"file:{tmp_path / 'store'}", folder, kind="tune", config={"a": {"b": 1}},
                           metrics={"val": {"auroc": {"value": 0.8, "ci95": [0.7, 0.9]}}})
    assert isinstance(run_id, str) and len(run_id) > 8


def test_space_overrides_replace_fix_and_drop(noisy_table):
    config = meddl.load_config(small_config(noisy_table))
    names = {d.name: d for d in search_space(config)}
    assert "model.depth" in names and names["model.depth"].range.choices == [1]
    assert names["model.width"].range.high == 32
    config.tune.space["model.options.dropout"] = None
    assert "model.options.dropout" not in {d.name for d in search_space(config)}


@pytest.mark.parametrize("task, data, preset_choices", [
    ("survival", {"source": "builtin", "name": "gbsg2"}, {"deepsurv", "logistic_hazard", "linear_cox"}),
    ("treatment", {"source": "ihdp", "path": "x.csv"}, {"tarnet", "cfrnet", "dragonnet"}),
])
def test_default_spaces_for_survival_and_treatment(task, data, preset_choices):
    config = meddl.load_config({"task": task, "data": data})
    names = {d.name: d for d in search_space(config)}
    assert set(names["model.preset"].range.choices) == preset_choices
    trial = optuna.trial.FixedTrial({"model.preset": "linear_cox", "model.options.l2": 0.01,
                                     "training.ensemble": 1}) if task == "survival" else None
    if trial is not None:  # a linear Cox model draws no network options
        assert suggest(trial, search_space(config), "default") == {
            "model.preset": "linear_cox", "model.options.l2": 0.01, "training.ensemble": 1}


def test_width_and_depth_become_layer_sizes():
    table = apply_values({"task": "diagnosis", "model": {}}, {"model.width": 64, "model.depth": 3})
    assert table["model"]["options"]["units"] == [64, 32, 16]
    treatment = apply_values({"task": "treatment", "model": {"preset": "tarnet"}}, {"model.width": 50})
    assert treatment["model"]["options"]["representation_units"] == [50]  # the default depth: one layer
    deeper = apply_values({"task": "treatment", "model": {"preset": "tarnet"}}, {"model.width": 50, "model.depth": 2})
    assert deeper["model"]["options"]["representation_units"] == [50, 50]


def test_default_values_are_the_untuned_settings(noisy_table):
    defaults = default_values(meddl.load_config(small_config(noisy_table)))
    assert defaults["training.batch_size"] == 32 and defaults["training.optimizer"] == "adam"


def test_durations_and_their_errors():
    assert parse_duration("90s") == 90 and parse_duration("1.5h") == 5400
    with pytest.raises(ValueError, match="duration"):
        parse_duration("soon")
    with pytest.raises(ConfigError, match="training.time_budget"):
        meddl.load_config({"task": "diagnosis", "data": {"source": "builtin", "name": "x"},
                           "training": {"time_budget": "-3m"}})


def test_tune_config_range_errors():
    with pytest.raises(ConfigError, match="low must be below high"):
        meddl.load_config({"task": "diagnosis", "data": {"source": "builtin", "name": "x"},
                           "tune": {"space": {"training.learning_rate": {"low": 1, "high": 0.1}}}})


def test_the_first_trial_is_the_untuned_config(noisy_table):
    from meddl.studies.search_space import default_point

    config = meddl.load_config({"task": "diagnosis", "data": {"source": "csv", "path": str(noisy_table),
                                                               "label": "label"}})
    point = default_point(search_space(config), config.model.preset)
    assert point == {"model.width": 128, "model.depth": 2, "model.options.dropout": 0.3,
                     "training.learning_rate": 1e-3, "training.optimizer": "adam", "training.batch_size": 32,
                     "training.early_stopping.patience": 15}
    untuned = meddl.load_config(apply_values(config.to_dict(), point))
    assert untuned.model.options.units == [128, 64]
    survival = meddl.load_config({"task": "survival", "data": {"source": "builtin", "name": "gbsg2"}})
    assert default_point(search_space(survival), "default")["model.preset"] == "deepsurv"
