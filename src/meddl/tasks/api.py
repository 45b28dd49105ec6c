"""``meddl.train``: one call from a config to a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from meddl.errors import ConfigError
from meddl.tasks.config import RunConfig, load_config
from meddl.tasks.run import Run, write_run
from meddl.tasks.runlog import RunLog

__all__ = ["train", "default_run_dir"]


def default_run_dir(config: RunConfig) -> Path:
    import datetime as dt

    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{config.task}-{stamp}"


def train(config: str | Path | dict[str, Any] | RunConfig, out: str | Path | None = None, *,
          verbose: bool = False) -> Run:
    """Train and evaluate the model a config describes; write the run folder; return the loaded ``Run``.

    Args:
        config: a YAML path, a dict or a ``RunConfig`` (only ``task`` and ``data`` are required).
        out: the run folder (default ``runs/<task>-<timestamp>``); replaced atomically if it exists.
        verbose: echo the run log to stderr.

    Example:
        >>> run = meddl.train({"task": "diagnosis",
        ...                    "data": {"source": "builtin", "name": "wisconsin-breast-cancer"}},
        ...                   out="runs/wisconsin")    # doctest: +SKIP
    """
    from meddl.training.distributed import barrier, init_from_environment, is_main_process, rank_and_world

    config = load_config(config)
    out = Path(out) if out is not None else default_run_dir(config)
    distributed = init_from_environment()
    log = RunLog(echo=verbose and is_main_process())
    log(f"meddl run: task {config.task}, data source {config.data.source}"
        + (f", data-parallel on {rank_and_world()[1]} processes" if distributed else "") + ".")
    if config.task in ("diagnosis", "regression"):
        from meddl.tasks.supervised import train_supervised

        result = train_supervised(config, log=log)
    elif config.task == "survival":
        from meddl.tasks.survival import train_survival

        result = train_survival(config, log=log)
    elif config.task == "treatment":
        from meddl.tasks.treatment import train_treatment

        result = train_treatment(config, log=log)
    else:
        raise ConfigError(f"task {config.task!r} is not available yet in meddl.train.")
    from meddl.training import peak_memory_mb

    result["info"]["peak_memory_mb"] = round(peak_memory_mb(), 1)
    log(f"Done in {log.elapsed:.1f}s; peak memory of this process {peak_memory_mb():.0f} MB (resident); "
        f"writing the run folder '{out}'.")
    if is_main_process():  # with several processes, rank 0 alone writes
        write_run(out, result, log.text())
    barrier()
    return Run(out)
