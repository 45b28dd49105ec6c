"""Checkpoints of ``meddl train``, so that ``meddl train CONFIG --out RUN --resume`` continues a killed run.

Every run that :func:`meddl.runs.train` writes checkpoints each fit after every
epoch into ``.RUN.checkpoint/`` beside the target (named by :class:`RunFolder`),
through :mod:`meddl.training.checkpoint`: it must be on for every run, as a kill
is not announced. The checkpoint records what it belongs to, the run's
*fingerprint*: a sha256 of the resolved config, of the data files (a folder of
images: its file names and sizes, not their bytes, which can be gigabytes), and
meddl's version. ``--resume`` with another fingerprint is refused.

Saving costs time (bench/checkpoint_overhead.py, shared 2-core CPU): saving every
epoch took 32% of a 40-epoch table run (a 4-9 ms save against 10-25 ms epochs),
3.4% of a small CNN run. So an epoch is saved only when that keeps the time spent
saving under 2% of the training time (measured: 2.6% and 1.3%); epochs of a
second or more are all saved, a table run's short ones about every 0.2-0.5 s. The
environment variable ``MEDDL_CHECKPOINT_OVERHEAD`` sets that share (``0``: save
every epoch).

The finished run is bit-identical to an uninterrupted one with the same seed on
the same machine (tests/runs/test_resume.py kills a ``meddl train`` process and
compares the weights, predictions and metrics).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from typing import Any

from meddl.errors import ConfigError
from meddl.io import sha256_file
from meddl.runs.config import RunConfig
from meddl.runs.folder import RunFolder
from meddl.training.checkpoint import CheckpointStore, checkpointing
from meddl.training.distributed import rank_and_world
from meddl.version import __version__

__all__ = ["OVERHEAD_VARIABLE", "checkpoint_overhead", "run_checkpoint", "run_fingerprint"]

OVERHEAD_VARIABLE = "MEDDL_CHECKPOINT_OVERHEAD"
DEFAULT_OVERHEAD = 0.02


def checkpoint_overhead() -> float:
    """The share of training time checkpoints may take: ``MEDDL_CHECKPOINT_OVERHEAD``, else 2%."""
    setting = os.environ.get(OVERHEAD_VARIABLE)
    if setting is None or not setting.strip():
        return DEFAULT_OVERHEAD
    try:
        value = float(setting)
    except ValueError:
        value = -1.0
    if not 0 <= value < 1:
        raise ConfigError(f"The environment variable {OVERHEAD_VARIABLE} must be a number in [0, 1) (the share of "
                          f"training time checkpoints may take; 0 saves every epoch). Got {setting!r} instead.")
    return value


def run_fingerprint(config: RunConfig) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the config, the data, the meddl version (sha256s)."""
    resolved = json.dumps(config.to_dict(), sort_keys=True)
    data = hashlib.sha256()
    for path in config.data.paths():
        data.update(str(path).encode())
        if path.is_file():
            data.update(sha256_file(path).encode())
        elif path.is_dir():
            for item in sorted(p for p in path.rglob("*") if p.is_file()):
                data.update(f"{item.relative_to(path).as_posix()}:{item.stat().st_size}\n".encode())
    return {"config": hashlib.sha256(resolved.encode()).hexdigest(), "data": data.hexdigest(), "meddl": __version__}


@contextlib.contextmanager
def run_checkpoint(target: RunFolder, config: RunConfig, *, resume: bool,
                   log: Callable[[str], None]) -> Iterator[CheckpointStore | None]:
    """Checkpoint every fit of the run inside the block (resuming the stored one with ``resume``).

    The caller removes the checkpoint (``store.remove()``) once the run folder is written. A data-parallel
    run (``--nproc``) is not checkpointed (``None``): its processes would have to save and resume together.
    """
    if rank_and_world()[1] > 1:
        yield None
        return
    store = CheckpointStore(target.checkpoint_dir, max_overhead=checkpoint_overhead())
    message = store.open(run_fingerprint(config), resume=resume)
    if message:
        log(message)
    with checkpointing(store):
        yield store
