"""``meddl.train``: one call from a config to a run folder."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from meddl.errors import ConfigError
from meddl.runs.config import RunConfig
from meddl.runs.folder import RunFolder
from meddl.runs.log import RunLog
from meddl.runs.registry import get_task, load_config
from meddl.runs.report import write_report
from meddl.runs.resume import run_checkpoint
from meddl.runs.run import Run
from meddl.training import peak_memory_mb
from meddl.training.distributed import barrier, init_from_environment, is_main_process, rank_and_world

__all__ = ["train", "default_run_dir"]


def default_run_dir(config: RunConfig) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{config.task}-{stamp}"


def train(config: str | Path | dict[str, Any] | RunConfig, out: str | Path | None = None, *,
          verbose: bool = False, resume: bool = False) -> Run:
    """Train and evaluate the model a config describes; write the run folder; return the loaded ``Run``.

    Before any training, the target is checked: an existing run folder is replaced (only once the new run is
    complete), but a file, a folder that is not a meddl run or a folder holding the run's data is refused, as
    is a target another meddl process is writing or one that cannot be written.

    Args:
        config: a YAML path, a dict or a ``RunConfig`` (only ``task`` and ``data`` are required).
        out: the run folder (default ``runs/<task>-<timestamp>``).
        verbose: echo the run log to stderr.
        resume: continue a run into ``out`` that was killed, from its last checkpoint (every run saves one
            after each epoch, see :mod:`meddl.runs.resume`); the result is the one the run would have had.

    Example:
        >>> run = meddl.train({"task": "diagnosis",
        ...                    "data": {"source": "builtin", "name": "wisconsin-breast-cancer"}},
        ...                   out="runs/wisconsin")    # doctest: +SKIP
    """
    if resume and out is None:
        raise ConfigError("resume=True needs 'out', the run folder of the interrupted run (--out on the command line).")
    config = load_config(config)
    task = get_task(config.task)
    out = RunFolder(out).path if out is not None else default_run_dir(config)  # "." made absolute: it is replaced
    distributed = init_from_environment()
    main = is_main_process()
    if distributed and resume:
        raise ConfigError("--resume is not available for data-parallel runs (--nproc > 1): they do not checkpoint. "
                          "Train again without --resume.")
    log = RunLog(echo=verbose and main)
    log(f"meddl run: task {config.task}, data source {config.data.source}"
        + (f", data-parallel on {rank_and_world()[1]} processes" if distributed else "") + ".")
    if not main:  # with several processes, rank 0 alone claims and writes the folder
        task.fit(config, log=log)
        barrier()
        return Run(out)
    with RunFolder.reserve(out, inputs=config.data.paths(), log=log) as target:
        with run_checkpoint(target, config, resume=resume, log=log) as checkpoint:
            result = task.fit(config, log=log)
        result.info.details["peak_memory_mb"] = round(peak_memory_mb(), 1)
        log(f"Done in {log.elapsed:.1f}s; peak memory of this process {peak_memory_mb():.0f} MB (resident); "
            f"writing the run folder '{out}'.")
        target.write(result, log.text(), finish=write_report)
        if checkpoint is not None:
            checkpoint.remove()  # the run is safely written
    barrier()
    return Run(out)
