"""Callbacks that join every training run started inside a ``with training_callbacks(...)`` block.

The task pipelines build their own callbacks (early stopping) deep inside; a
tuning trial needs to watch each epoch of whatever they train (survival,
treatment and supervised models alike) to prune a bad trial early. Rather than
thread a ``callbacks`` argument through every pipeline, the one training loop
adds the callbacks active here to those it was given.

Example:
    >>> from meddl.training.hooks import active_callbacks, training_callbacks
    >>> from meddl.training.callbacks import Callback
    >>> with training_callbacks(Callback()):
    ...     len(active_callbacks())
    1
    >>> len(active_callbacks())
    0
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from meddl.training.callbacks import Callback

__all__ = ["active_callbacks", "training_callbacks", "without_training_callbacks"]

_ACTIVE: list[Callback] = []


@contextlib.contextmanager
def training_callbacks(*callbacks: Callback) -> Iterator[None]:
    """Add ``callbacks`` to every ``TrainingLoop.fit`` run inside the block (nested blocks add up)."""
    _ACTIVE.extend(callbacks)
    try:
        yield
    finally:
        for callback in callbacks:
            _ACTIVE.remove(callback)


@contextlib.contextmanager
def without_training_callbacks() -> Iterator[None]:
    """Inside this block no enclosing ``training_callbacks`` reach a fit: for auxiliary fits that are not the
    run's training (the calibration folds of :mod:`meddl.runs.calibration_rows`), which would otherwise print
    epoch lines that read like the run's own, or feed a tuning trial's pruner."""
    saved = _ACTIVE[:]
    _ACTIVE.clear()
    try:
        yield
    finally:
        _ACTIVE[:] = saved


def active_callbacks() -> list[Callback]:
    """The callbacks of the enclosing ``training_callbacks`` blocks (a copy)."""
    return list(_ACTIVE)
