"""One Optuna study shared by several processes: the untuned trial 0 is taken by exactly one of them.

A new study starts with the config as written, enqueued as a *waiting* trial. Optuna's
database storage cannot lock a waiting trial on SQLite (optuna issue #4621): two processes
that start together (``--n-jobs 2``, or two ``meddl tune --storage sqlite:///...`` commands)
may both take it, and the second then fails with "Cannot tell a COMPLETE trial" (seen here in
about one of five test-suite runs). So enqueueing trial 0 and taking it happen under a file
lock beside the SQLite file, and the process that takes it runs it before its other trials.
Several machines share a study through PostgreSQL, whose row locks Optuna already uses: no
file lock is needed there, nor possible.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no flock; one process per SQLite study there
    fcntl = None

__all__ = ["lock_path", "study_lock", "enqueue_untuned", "run_waiting_trial", "remaining"]


def lock_path(storage_url: str | None) -> Path | None:
    """The lock file of a SQLite study (``.<file>.meddl-lock`` beside it); ``None`` for other storages."""
    if not storage_url or not storage_url.startswith("sqlite:///") or storage_url == "sqlite:///:memory:":
        return None
    database = Path(storage_url[len("sqlite:///"):])
    return database.parent / f".{database.name}.meddl-lock"


@contextlib.contextmanager
def study_lock(path: Path | None) -> Iterator[None]:
    """Hold the study's file lock (blocking); a no-op without a path or without ``fcntl``."""
    if path is None or fcntl is None:
        yield
        return
    # The file is never removed: a process waiting on it would then lock a file the next one no longer sees.
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def enqueue_untuned(study, params: dict, user_attrs: dict, lock: Path | None) -> None:
    """Enqueue trial 0 (the config as written) once, when the study has no trial yet."""
    with study_lock(lock):
        if not study.get_trials(deepcopy=False):
            study.enqueue_trial(params, user_attrs=user_attrs, skip_if_exists=True)


def run_waiting_trial(study, objective: Callable, lock: Path | None) -> int:
    """Take a waiting (enqueued) trial, if one is left, and run it to the end; the number run (0 or 1).

    Failures are told to the study as Optuna's ``optimize`` tells them: a pruned trial as PRUNED,
    an error as FAIL (and raised again).
    """
    import optuna

    with study_lock(lock):
        if not study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
            return 0
        trial = study.ask()
    try:
        value = objective(trial)
    except optuna.TrialPruned:
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    except BaseException:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    else:
        study.tell(trial, value)
    return 1


def remaining(trials: int | None, done: int, timeout: float | None, started: float) -> tuple[int | None, float | None]:
    """What is left of a trial count and a timeout (seconds since ``started``, ``time.monotonic``) after ``done``
    trials."""
    left_trials = None if trials is None else max(trials - done, 0)
    left_time = None if timeout is None else max(timeout - (time.monotonic() - started), 0.0)
    return left_trials, left_time
