"""``meddl.train`` with ``model.preset: auto`` and experiment tracking.

``model.preset: auto`` searches (:func:`meddl.studies.tuning.run_search`) for
``training.time_budget`` seconds (default :data:`AUTO_TIME_BUDGET`) on the
training and validation rows, then trains the best config into the run folder,
which also gets ``tuning/`` (trials.csv, summary.json) and a "Hyperparameter
search" report section. It is not the default preset: a search takes minutes,
and ``make demo`` must stay under 30 s (measured: the quickstart trains in ~5 s;
even 5 trials took ~20 s on the shared 2-core machine).

Any config with ``tracking.mlflow`` (or ``mlflow=`` here) is logged to MLflow
after the run is written (:func:`meddl.studies.tracking.log_to_mlflow`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from meddl.errors import ConfigError
from meddl.io import atomic_write_json, atomic_write_text
from meddl.runs import Run, RunConfig, get_task, load_config
from meddl.runs import train as train_config
from meddl.runs.config import read_config_source, validate_config
from meddl.studies.search_space import default_values
from meddl.studies.tracking import log_to_mlflow
from meddl.studies.tuning import search_and_choose, search_summary
from meddl.studies.tuning_report import write_tuning_report

__all__ = ["AUTO_TIME_BUDGET", "train"]

AUTO_TIME_BUDGET = 300.0  # seconds, when model.preset is 'auto' and training.time_budget is not set


def _resolve(config) -> tuple[RunConfig, bool]:
    """The validated config, and whether it asked for ``model.preset: auto`` (validated as ``default``, the
    untuned starting point of the search, since each task's config accepts only its real presets)."""
    if isinstance(config, RunConfig):
        return config, config.model.preset == "auto"
    raw, base = read_config_source(config)
    model = raw.get("model")
    if not (model == "auto" or (isinstance(model, dict) and model.get("preset") == "auto")):
        return load_config(config), False
    if not isinstance(raw.get("task"), str):
        return load_config(config), False  # its error names the missing task
    raw = {**raw, "model": {**(model if isinstance(model, dict) else {}), "preset": "default"}}
    return validate_config(raw, get_task(raw["task"]).config_class, base), True


def train(config: str | Path | dict[str, Any] | RunConfig, out: str | Path | None = None, *,
          verbose: bool = False, mlflow: str | None = None, resume: bool = False) -> Run:
    """Train and evaluate the model a config describes; write the run folder; return the loaded ``Run``.

    ``model.preset: auto`` first searches the hyperparameters within ``training.time_budget``
    (validation rows only), then trains the best config. ``mlflow`` (or ``tracking.mlflow``)
    logs the run to MLflow. ``resume`` continues a killed run into ``out`` from its checkpoint (not with
    ``model.preset: auto``: the timed search would not choose the same). Otherwise this is :func:`meddl.runs.train`.

    Example:
        >>> run = meddl.train({"task": "diagnosis", "model": "auto", "training": {"time_budget": "5m"},
        ...                    "data": {"source": "builtin", "name": "wisconsin-breast-cancer"}},
        ...                   out="runs/wisconsin-auto")    # doctest: +SKIP
    """
    config, auto = _resolve(config)
    uri = mlflow or config.tracking.mlflow
    if not auto:
        run = train_config(config, out, verbose=verbose, resume=resume)
    else:
        if resume:
            raise ConfigError("--resume is not available with model.preset 'auto': the search runs for a set time, "
                              "so it would not choose the same config again. Set model.preset to the preset it "
                              "chose (see the log), or train again without --resume.")
        budget = config.training.time_budget or AUTO_TIME_BUDGET
        outcome = search_and_choose(
            config, time_budget=budget, trials=config.tune.trials,
            no_trial_completed="model.preset 'auto': no search trial completed ({counts}); look at the errors with "
            "'meddl tune', or set model.preset to 'default'.")
        study, selection, chosen, seconds = outcome.study, outcome.selection, outcome.config, outcome.seconds
        run = train_config(chosen, out, verbose=verbose)
        summary = search_summary(config, study, selection, seconds=seconds, time_budget=budget)
        folder = run.path / "tuning"
        folder.mkdir(exist_ok=True)
        atomic_write_text(folder / "trials.csv", study.trials_dataframe().to_csv(index=False))
        atomic_write_json(folder / "summary.json", summary)
        atomic_write_text(folder / "best_config.yaml", yaml.safe_dump(chosen, sort_keys=False))
        write_tuning_report(folder, study, summary, defaults=default_values(config), best_run=run)
    if uri:
        log_to_mlflow(uri, run.path, kind="train", config=run.config.to_dict(), metrics=run.metrics,
                      experiment=config.tracking.experiment)
    return run
