"""The state of this thread's layer calls: the losses layers add while they compute (Keras's ``add_loss`` and
``activity_regularizer``), and the device the call runs on (where ``meddl.random`` draws inside ``call``).

Each layer keeps the losses it added in the latest top-level call (a new call starts a new *generation*, so
they never pile up); a training or evaluation step collects the losses added during its forward pass and adds
their sum to the loss, as Keras's ``fit`` and ``evaluate`` do. The state is per thread, so models served from
several threads keep theirs apart.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import torch

__all__ = ["CALLS", "collect_added_losses", "record", "top_level_call"]


class _State(threading.local):
    def __init__(self) -> None:
        self.depth = 0  # how many layer calls are under way in this thread (0: the next one is top-level)
        self.generation = 0
        self.device: torch.device | None = None  # the device of the top-level call's inputs (meddl.random's)
        self.collectors: list[list[torch.Tensor]] = []


#: this thread's calls: ``CALLS.depth`` (0 outside any layer call) and ``CALLS.generation``
CALLS = _State()


@contextlib.contextmanager
def top_level_call() -> Iterator[None]:
    """A call that is not inside another layer's: a new generation of added losses begins."""
    CALLS.generation += 1
    CALLS.depth += 1
    try:
        yield
    finally:
        CALLS.depth -= 1


def record(loss: torch.Tensor) -> None:
    """Hand an added loss to the step that is collecting (if any)."""
    if CALLS.collectors:
        CALLS.collectors[-1].append(loss)


@contextlib.contextmanager
def collect_added_losses() -> Iterator[list[torch.Tensor]]:
    """The losses layers add while the block runs (one training or evaluation step's forward pass)."""
    collected: list[torch.Tensor] = []
    CALLS.collectors.append(collected)
    try:
        yield collected
    finally:
        CALLS.collectors.pop()
