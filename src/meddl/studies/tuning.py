"""``meddl tune``: search a config's hyperparameters with Optuna, within a trial count and a time budget.

TPE sampling (seeded) with median pruning on each epoch's validation metric; the
objective sees the training and validation rows only (:mod:`meddl.studies.objective`).
Trials run in this process, or in ``n_jobs`` worker processes sharing one Optuna
RDB storage: a SQLite file in the output folder by default, or any URL Optuna
accepts (``postgresql+psycopg://...`` to spread a study over machines; every
process that runs ``meddl tune --storage URL`` with the same study name adds
its trials to the same study).

The output folder::

    best_config.yaml   the config with the best trial's values, ready for ``meddl train``
    trials.csv         every trial: number, state, value, parameters, epochs, seconds
    summary.json       metric, direction, best value, trial counts by state, which estimate each number is
    report.html        optimisation history, parameter importances, chosen values against the defaults
    best/              the run trained on best_config.yaml (its test metrics are the honest estimate)
    study.db           the Optuna study (SQLite, when no --storage is given)
    .study.db.meddl-lock   the lock under which one process takes the untuned trial 0 (:mod:`meddl.studies.shared_study`)
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meddl.errors import ConfigError
from meddl.io import atomic_write_json, atomic_write_text
from meddl.runs import Run, load_config, train
from meddl.runs.tuning_config import parse_duration
from meddl.studies.objective import TrialObjective, default_metric, metric_direction
from meddl.studies.search_folds import search_folds, without_test
from meddl.studies.search_space import (
    apply_values,
    default_point,
    default_values,
    search_space,
    untuned_config,
)
from meddl.studies.selection import UNTUNED, Selection, select_trial
from meddl.studies.shared_study import enqueue_untuned, lock_path, remaining, run_waiting_trial
from meddl.studies.tuning_report import write_tuning_report

__all__ = ["DEFAULT_TRIALS", "TuneResult", "SearchOutcome", "best_config", "chosen_trial", "run_search",
           "search_and_choose", "search_summary", "trial_counts", "tune"]

DEFAULT_TRIALS = 20  # without a time budget or --trials


@dataclass
class TuneResult:
    """What ``tune`` wrote and found."""

    path: Path
    metric: str
    direction: str
    best_value: float
    best_params: dict[str, Any]
    best_config: dict[str, Any]
    trial_counts: dict[str, int]
    best_run: Run | None = None
    summary: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (f"TuneResult('{self.path}', {self.metric}={self.best_value:.4f}, "
                f"trials={sum(self.trial_counts.values())})")


def _storage(url: str | None, out: Path | None):
    import optuna

    if url is None:
        if out is None:
            return None  # in memory
        url = f"sqlite:///{(out / 'study.db').resolve()}"
    if url.startswith("sqlite"):
        # Several processes write to one SQLite file: wait for its lock rather than fail; processes that
        # start together race to create its tables, and the loser retries once they exist.
        for attempt in range(5):
            try:
                return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 120}})
            except Exception as exc:  # noqa: BLE001 - SQLAlchemy's many connection errors
                if attempt == 4:
                    raise _storage_error(url, exc, "the URL, and that the file's folder exists and can be "
                                                   "written to") from None
                time.sleep(0.5 * (attempt + 1))
    try:
        return optuna.storages.RDBStorage(url)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's many connection errors
        raise _storage_error(url, exc, "the URL, the server and the driver "
                                       "(PostgreSQL: postgresql+psycopg://user@host/db)") from None


def _storage_error(url: str, exc: BaseException, check: str) -> ConfigError:
    """--storage could not be opened: the URL (its password hidden), SQLAlchemy's reason and what to check."""
    from sqlalchemy.engine import make_url  # optional, with Optuna (meddl[tune])

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: it has no password to hide either
        shown = url
    return ConfigError(f"--storage {shown!r}: cannot open the Optuna storage ({type(exc).__name__}: "
                       f"{str(exc).splitlines()[0][:200]}). Check {check}.")


def _sampler_and_pruner(seed: int, pruning: bool, folds: int = 0):
    """TPE, and median pruning: on each epoch's validation metric after 5 epochs, or on the running mean of the
    fold scores from the second fold on (``folds`` >= 2: the steps are folds)."""
    import optuna

    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=5, multivariate=True)
    warmup = 1 if folds >= 2 else 5
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=warmup) if pruning
              else optuna.pruners.NopPruner())
    return sampler, pruner


def _worker(config: dict, storage_url: str, study_name: str, n_trials: int | None, timeout: float | None,
            metric: str, direction: str, pruning: bool, seed: int, deadline_in: float | None, folds: int = 0,
            fold_seed: int = 0, val_size: float = 0.15) -> None:
    """One worker process of ``n_jobs``: load the shared study and run its share of trials."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler, pruner = _sampler_and_pruner(seed, pruning, folds)
    study = optuna.load_study(study_name=study_name, storage=_storage(storage_url, None), sampler=sampler,
                              pruner=pruner)
    started = time.monotonic()
    deadline = started + deadline_in if deadline_in is not None else None
    objective = TrialObjective(config, metric, direction, pruning, deadline, folds=folds, fold_seed=fold_seed,
                               val_size=val_size)
    _optimize(study, objective, n_trials, timeout, lock_path(storage_url), started)


def _optimize(study, objective, n_trials: int | None, timeout: float | None, lock, started: float) -> None:
    """Run the waiting untuned trial if no other process has taken it, then the rest of this share."""
    done = run_waiting_trial(study, objective, lock)
    n_trials, timeout = remaining(n_trials, done, timeout, started)
    if n_trials != 0:
        study.optimize(objective, n_trials=n_trials, timeout=timeout)


def _create_or_load(optuna, name, storage, sampler, pruner, direction):
    """Create the study, or load it when another process created it first (they may race to create it)."""
    try:
        return optuna.create_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner,
                                   direction=direction, load_if_exists=True)
    except Exception:
        if storage is None:
            raise
        time.sleep(1.0)
        return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)


def run_search(config, *, trials: int | None = None, time_budget: float | None = None, n_jobs: int = 1,
               storage: str | None = None, study_name: str = "meddl-tune", out: Path | None = None,
               rows=without_test, pruner=None):
    """Run (or add to) an Optuna study for ``config``; return the study.

    ``trials`` is the number of trials *this call* runs (split over ``n_jobs`` processes);
    ``time_budget`` (seconds) stops starting new trials and stops a running trial once spent, except
    while no trial has completed (the first trial, the untuned config, always finishes). On small data
    each trial is cross-validated (:func:`meddl.studies.search_folds.search_folds`); the study's user
    attributes ``objective`` and ``folds`` say how trials were scored.
    """
    try:
        import optuna
    except ImportError:
        raise ConfigError("Tuning needs Optuna: pip install 'meddl[tune]' (or pip install optuna).") from None

    config = load_config(config)
    tune_settings = config.tune
    trials = trials if trials is not None else tune_settings.trials
    time_budget = time_budget if time_budget is not None else tune_settings.time_budget
    if trials is None and time_budget is None:
        trials = DEFAULT_TRIALS
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise ConfigError(f"The 'n_jobs' parameter of tune must be an integer >= 1. Got {n_jobs!r} instead.")
    metric = tune_settings.metric or default_metric(config.task)
    direction = metric_direction(metric)
    search_space(config)  # a wrong tune.space fails here, before any trial
    plain = config.to_dict()
    folds, why = search_folds(config, rows)
    val_size = config.data.split.val_size or 0.15
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler, default_pruner = _sampler_and_pruner(tune_settings.seed, tune_settings.pruning, folds)
    storage_object = _storage(storage, out)
    study = _create_or_load(optuna, study_name, storage_object, sampler, pruner or default_pruner, direction)
    study.set_user_attr("metric", metric)
    study.set_user_attr("folds", folds)
    study.set_user_attr("objective", why)
    url = str(storage_object.url) if hasattr(storage_object, "url") else storage
    # trial 0 of a new study is the config as written: a search can only improve on it
    enqueue_untuned(study, default_point(search_space(config), config.model.preset), {UNTUNED: True},
                    lock_path(url))
    if n_jobs == 1 or storage_object is None:
        started = time.monotonic()
        deadline = started + time_budget if time_budget else None
        objective = TrialObjective(plain, metric, direction, tune_settings.pruning, deadline, rows, folds,
                                   tune_settings.seed, val_size)
        _optimize(study, objective, trials, time_budget, lock_path(url), started)
        return study
    if rows is not without_test:
        raise ConfigError("n_jobs > 1 runs trials in worker processes, which use the run's own split; "
                          "nested tuning runs with n_jobs=1.")
    shares = [None] * n_jobs if trials is None else [trials // n_jobs + (i < trials % n_jobs) for i in range(n_jobs)]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch threads
    workers = [context.Process(target=_worker, args=(plain, url, study_name, share, time_budget, metric, direction,
                                                     tune_settings.pruning, tune_settings.seed + index, time_budget,
                                                     folds, tune_settings.seed, val_size))
               for index, share in enumerate(shares) if share != 0]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    failed = [w.exitcode for w in workers if w.exitcode != 0]
    if failed:
        raise ConfigError(f"{len(failed)} of {len(workers)} tuning worker processes failed (exit codes {failed}); "
                          "run with --n-jobs 1 to see the error.")
    return study


def chosen_trial(config, study) -> Selection:
    """The trial a search hands back under ``tune.selection`` (:func:`meddl.studies.selection.select_trial`)."""
    return select_trial(study, load_config(config).tune.selection)


def best_config(config, study, selection: Selection | None = None) -> dict:
    """The user's config with the chosen trial's values (``model.preset: auto`` resolved), ready to train.

    When the chosen trial is the untuned one, this is the config as written (with ``tune.space``'s fixed
    values): exactly what the search started from.
    """
    config = load_config(config)
    plain = config.to_dict()
    selection = selection or chosen_trial(config, study)
    chosen = (untuned_config(plain, search_space(config)) if selection.is_untuned
              else apply_values(plain, selection.trial.params))
    if chosen["model"].get("preset") == "auto":
        chosen["model"]["preset"] = "default"
    chosen["training"]["time_budget"] = None
    return load_config(chosen).to_dict()


@dataclass
class SearchOutcome:
    """A finished search: the study, the trial the selection rule chose, its config, and the seconds it took."""

    study: Any
    selection: Selection
    config: dict
    seconds: float


def search_and_choose(config, *, no_trial_completed: str, **search_options) -> SearchOutcome:
    """Run the search (:func:`run_search` with ``search_options``), then choose a trial and build its config.

    Raises ``ConfigError("<no_trial_completed>")`` (with the trial counts) when no trial completed.
    """
    started = time.perf_counter()
    study = run_search(config, **search_options)
    seconds = time.perf_counter() - started
    counts = trial_counts(study)
    if not counts.get("complete"):
        raise ConfigError(no_trial_completed.format(counts=counts))
    selection = chosen_trial(config, study)
    return SearchOutcome(study, selection, best_config(config, study, selection), seconds)


def trial_counts(study) -> dict[str, int]:
    """Trials by state: ``{'complete': 12, 'pruned': 7}``."""
    counts: dict[str, int] = {}
    for trial in study.trials:
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    return counts


def tune(config, out: str | Path, *, trials: int | None = None, time_budget: float | str | None = None,
         n_jobs: int = 1, storage: str | None = None, study_name: str = "meddl-tune", train_best: bool = True,
         verbose: bool = False, pruner=None) -> TuneResult:
    """Search hyperparameters on validation rows, write the best config, train it, report.

    Args:
        config: a YAML path, dict or ``RunConfig``; its ``tune:`` section sets defaults for the arguments.
        out: the output folder (see the module docstring).
        trials: trials to run; with neither ``trials`` nor a budget, 20.
        time_budget: seconds or ``"30m"``: no trial starts, and a running one stops, once spent.
        n_jobs: worker processes (they share the study through ``storage``).
        storage: an Optuna RDB URL; default a SQLite file ``OUT/study.db``.
        train_best: train the best config into ``OUT/best``.
        pruner: an Optuna pruner in place of the default median pruner.

    Example:
        >>> result = meddl.studies.tune("config.yaml", "tuned", trials=30, time_budget="10m")   # doctest: +SKIP
        >>> result.best_run.metrics["test"]                                                   # doctest: +SKIP
    """
    try:
        budget = parse_duration(time_budget, name="time_budget")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    config = load_config(config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    outcome = search_and_choose(
        config, trials=trials, time_budget=budget, n_jobs=n_jobs, storage=storage, study_name=study_name, out=out,
        pruner=pruner, no_trial_completed="No tuning trial completed ({counts}); give the search more time "
        "(--time-budget) or trials, or look at trials.csv for why they stopped.")
    study, selection, chosen, seconds = outcome.study, outcome.selection, outcome.config, outcome.seconds
    atomic_write_text(out / "best_config.yaml", yaml.safe_dump(chosen, sort_keys=False))
    atomic_write_text(out / "trials.csv", study.trials_dataframe().to_csv(index=False))
    best_run = train(chosen, out / "best", verbose=verbose) if train_best else None
    summary = search_summary(config, study, selection, seconds=seconds, time_budget=budget)
    summary["test_estimate"] = ("test metrics of best/ (trained once on best_config.yaml; the test split was never "
                                "seen by the search): the estimate to quote" if train_best else None)
    atomic_write_json(out / "summary.json", summary)
    write_tuning_report(out, study, summary, defaults=default_values(config), best_run=best_run)
    return TuneResult(out, summary["metric"], summary["direction"], summary["best_value"], summary["best_params"],
                      chosen, summary["trial_counts"], best_run, summary)


def search_summary(config, study, selection: Selection, *, seconds: float, time_budget: float | None) -> dict:
    """``summary.json`` of a search: the chosen trial and why, how trials were scored, counts and time."""
    config = load_config(config)
    folds = study.user_attrs.get("folds") or 0
    scored = (f"mean of {folds} out-of-fold scores on the training and validation rows" if folds >= 2
              else "the validation score")
    return {
        "metric": study.user_attrs.get("metric") or default_metric(config.task),
        "direction": study.direction.name.lower(),
        "objective": study.user_attrs.get("objective"), "folds": folds,
        "best_value": selection.trial.value, "best_trial": selection.trial.number,
        "best_params": selection.trial.params, "chosen_is_untuned": selection.is_untuned,
        "best_value_estimate": f"{scored} of the chosen trial: optimistic (chosen among many on the same rows)",
        "selection": selection.to_dict(),
        "trial_counts": trial_counts(study), "search_seconds": round(seconds, 1), "time_budget_seconds": time_budget,
    }
