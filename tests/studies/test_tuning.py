"""meddl tune: the search never reads the test split, pruning, parallel trials, storage, re-training."""

import json
import os
import subprocess
import sys

import optuna
import pandas as pd
import pytest
import yaml

import meddl
from meddl.data import TabularPreprocessor
from meddl.errors import ConfigError
from meddl.studies import TuneResult, tune
from meddl.studies.tuning import run_search
from tests.studies.conftest import small_config


def _test_ids(config, tmp_path) -> set[str]:
    run = meddl.train(config, tmp_path / "reference")
    split = pd.read_csv(run.path / "split.csv", dtype={"row_id": str})
    return set(split.loc[split["split"] == "test", "row_id"])


def test_search_never_sees_the_test_split(noisy_table, tmp_path, monkeypatch):
    config = small_config(noisy_table)
    test_ids = _test_ids(config, tmp_path)
    seen: list[set[str]] = []
    original = TabularPreprocessor.transform

    def spy(self, frame, *args, **kwargs):
        seen.append(set(frame.index.astype(str)))
        return original(self, frame, *args, **kwargs)

    monkeypatch.setattr(TabularPreprocessor, "transform", spy)
    study = run_search(config, trials=2)
    assert len(study.trials) == 2 and seen
    assert all(not (rows & test_ids) for rows in seen), "a trial transformed test rows"
    assert set().union(*seen) and len(set().union(*seen)) == 200 - len(test_ids)


def test_pruned_trial_stops_early(noisy_table):
    config = small_config(noisy_table, metric="auroc", cv_folds=0)  # one validation split: epochs are the steps
    # A threshold no validation AUROC reaches: every trial is pruned at its first report.
    study = run_search(config, trials=2, pruner=optuna.pruners.ThresholdPruner(lower=1.5))
    states = {t.state for t in study.trials}
    assert states == {optuna.trial.TrialState.PRUNED}
    assert config["training"]["epochs"] == 6
    assert all(t.user_attrs["epochs_trained"] == 1 for t in study.trials)  # stopped after 1 of 6 epochs


def test_tune_writes_the_folder_and_the_best_config_retrains_to_the_same_score(noisy_table, tmp_path):
    config = small_config(noisy_table, metric="brier", cv_folds=0)  # scored on the validation split
    result = tune(config, tmp_path / "tuned", trials=3)
    assert isinstance(result, TuneResult) and result.direction == "minimize"
    folder = tmp_path / "tuned"
    for name in ("best_config.yaml", "trials.csv", "summary.json", "report.html", "best/report.html", "study.db"):
        assert (folder / name).exists(), name
    assert len(pd.read_csv(folder / "trials.csv")) == 3
    assert "Hyperparameter search" in (folder / "best" / "report.html").read_text()
    retrained = meddl.train(str(folder / "best_config.yaml"), tmp_path / "again")
    assert retrained.metrics["val"]["metrics"]["brier"]["value"] == pytest.approx(result.best_value, abs=1e-6)
    chosen = yaml.safe_load((folder / "best_config.yaml").read_text())
    expected = 128 if result.summary["chosen_is_untuned"] else result.best_params["model.width"]  # as written: 128
    assert chosen["model"]["options"]["units"] == [expected]


def test_two_jobs_run_the_requested_number_of_trials(noisy_table, tmp_path):
    study = run_search(small_config(noisy_table, cv_folds=0), trials=3, n_jobs=2, out=tmp_path)  # one fit a trial
    assert len(study.trials) == 3
    assert {t.state for t in study.trials} <= {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}


def test_two_processes_share_one_sqlite_study(noisy_table, tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    script = ("import sys, json; from meddl.studies.tuning import run_search; "
              "run_search(json.loads(sys.argv[1]), trials=2, storage=sys.argv[2])")
    command = [sys.executable, "-c", script, json.dumps(small_config(noisy_table, cv_folds=0)), storage]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy())
                 for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    study = optuna.load_study(study_name="meddl-tune", storage=storage)
    assert len(study.trials) == 4


def test_postgres_storage(noisy_table, postgres_url):
    url = postgres_url.replace("postgresql://", "postgresql+psycopg://", 1)  # psycopg 3, what meddl[postgres] installs
    study = run_search(small_config(noisy_table, cv_folds=0), trials=2, storage=url, study_name="pg")
    assert len(optuna.load_study(study_name="pg", storage=url).trials) == len(study.trials) == 2


def test_unreachable_storage_is_a_config_error(noisy_table):
    with pytest.raises(ConfigError, match="--storage"):
        run_search(small_config(noisy_table), trials=1, storage="postgresql+psycopg://nobody@/x?host=/nonexistent")


def test_storage_errors_hide_the_password_and_an_unwritable_sqlite_file_is_a_config_error(noisy_table, tmp_path):
    with pytest.raises(ConfigError, match=r"--storage 'postgresql\+psycopg://nobody:\*\*\*@/x") as error:
        run_search(small_config(noisy_table), trials=1,
                   storage="postgresql+psycopg://nobody:secret@/x?host=/nonexistent")
    assert "secret" not in str(error.value)
    missing = tmp_path / "no-such-folder" / "study.db"
    with pytest.raises(ConfigError, match=r"--storage 'sqlite:///.*no-such-folder/study.db': cannot open the "
                                          r"Optuna storage .*folder exists"):
        run_search(small_config(noisy_table), trials=1, storage=f"sqlite:///{missing}")


def test_wrong_search_key_names_the_key(noisy_table):
    config = small_config(noisy_table)
    config["tune"]["space"]["learning_rate"] = {"low": 0.001, "high": 0.01}
    with pytest.raises(ConfigError, match="'learning_rate' is not a config key"):
        run_search(config, trials=1)


def test_bad_n_jobs_is_refused(noisy_table):
    with pytest.raises(ConfigError, match="'n_jobs'"):
        run_search(small_config(noisy_table), trials=1, n_jobs=0)

