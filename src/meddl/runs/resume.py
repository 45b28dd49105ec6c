"""Checkpoints of ``meddl train``, so that ``meddl train CONFIG --out RUN --resume`` continues a killed run.

Every run that :func:`meddl.runs.train` writes checkpoints each fit after every
epoch into ``.RUN.checkpoint/`` beside the target (named by :class:`RunFolder`),
through :mod:`meddl.training.checkpoint`: it must be on for every run, as a kill
is not announced. The checkpoint records what it belongs to, the run's
*fingerprint*: a sha256 of the resolved config, of the data files (a folder of
images: its file names and sizes, not their bytes, which can be gigabytes), and
meddl's version. ``--resume`` with another fingerprint is refused.

The finished run is bit-identical to an uninterrupted one with the same seed on
the same machine (tests/runs/test_resume.py kills a ``meddl train`` process and
compares the weights, predictions and metrics).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from meddl.io import sha256_file
from meddl.runs.config import RunConfig
from meddl.runs.folder import RunFolder
from meddl.training.checkpoint import CheckpointStore, checkpointing
from meddl.version import __version__

__all__ = ["run_fingerprint", "run_checkpoint"]


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
                   log: Callable[[str], None]) -> Iterator[CheckpointStore]:
    """Checkpoint every fit of the run inside the block (resuming the stored one with ``resume``).

    The caller removes the checkpoint (``store.remove()``) once the run folder is written.
    """
    store = CheckpointStore(target.checkpoint_dir)
    message = store.open(run_fingerprint(config), resume=resume)
    if message:
        log(message)
    with checkpointing(store):
        yield store
