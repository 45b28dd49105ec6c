"""The untuned trial 0 of a study shared by several processes is taken exactly once."""

import threading
import time

import optuna
import pytest

from meddl.studies.shared_study import enqueue_untuned, lock_path, remaining, run_waiting_trial


def _study(tmp_path):
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna.create_study(study_name="s", storage=storage, load_if_exists=True), lock_path(storage)


def test_lock_file_sits_beside_a_sqlite_study_only(tmp_path):
    assert lock_path(f"sqlite:///{tmp_path / 'study.db'}") == tmp_path / ".study.db.meddl-lock"
    assert lock_path("postgresql+psycopg://u@host/db") is None
    assert lock_path("sqlite:///:memory:") is None and lock_path(None) is None


def test_two_threads_take_the_waiting_trial_once(tmp_path):
    study, lock = _study(tmp_path)
    enqueue_untuned(study, {"x": 1.0}, {"untuned": True}, lock)
    enqueue_untuned(study, {"x": 1.0}, {"untuned": True}, lock)  # a second process: the study has a trial already
    assert len(study.trials) == 1

    def objective(trial):
        time.sleep(0.2)
        return trial.suggest_float("x", 0.0, 2.0)

    runs, errors = [], []

    def worker():
        try:
            other, _ = _study(tmp_path)
            runs.append(run_waiting_trial(other, objective, lock))
        except Exception as exc:  # noqa: BLE001 - the test reports any
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and sorted(runs) == [0, 0, 1]
    (trial,) = study.get_trials()
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.params == {"x": 1.0} and trial.value == 1.0


def test_waiting_trial_failures_are_told_as_optimize_tells_them(tmp_path):
    study, lock = _study(tmp_path)
    study.enqueue_trial({"x": 1.0})
    study.enqueue_trial({"x": 1.5})

    def pruned(trial):
        trial.suggest_float("x", 0.0, 2.0)
        raise optuna.TrialPruned()

    def broken(trial):
        trial.suggest_float("x", 0.0, 2.0)
        raise RuntimeError("boom")

    assert run_waiting_trial(study, pruned, lock) == 1
    with pytest.raises(RuntimeError, match="boom"):
        run_waiting_trial(study, broken, lock)
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.FAIL]
    assert run_waiting_trial(study, pruned, lock) == 0


def test_remaining_trials_and_time():
    started = time.monotonic() - 5.0
    left, timeout = remaining(3, 1, 60.0, started)
    assert left == 2 and 54.0 < timeout <= 55.0
    assert remaining(None, 1, None, started) == (None, None)
    assert remaining(1, 1, 2.0, started) == (0, 0.0)
