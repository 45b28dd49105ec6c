"""One progress line per epoch on a stream, for runs whose output is not watched on a terminal.

``meddl train … > log`` of a 12-minute image run used to write nothing until the end (issue 13, item 15).
The CLI turns these lines on with :func:`epoch_lines` when stdout is not a terminal; the Python API stays
quiet by default. The callback joins every ``TrainingLoop.fit`` inside the block (tables, images, survival,
treatment, pretraining) through :func:`meddl.training.hooks.training_callbacks`, so no pipeline passes it along.

It costs one formatted line per epoch and nothing inside the batch loop.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Iterator
from typing import TextIO

from meddl.training.callbacks import Callback
from meddl.training.distributed import rank_and_world
from meddl.training.hooks import training_callbacks

__all__ = ["EpochProgress", "epoch_lines", "format_epoch_line"]


class EpochProgress(Callback):
    """Print ``epoch E/N  loss L  val_<metric> V  elapsed S s`` after each epoch (rank 0 only).

    Args:
        stream: where to write (default ``sys.stderr`` at the time of writing).
        prefix: text before each line (default ``"meddl: "``).

    Example:
        >>> from meddl.training.progress import EpochProgress
        >>> callback = EpochProgress(prefix="fold 1: ")
    """

    def __init__(self, stream: TextIO | None = None, *, prefix: str = "meddl: "):
        self.stream = stream
        self.prefix = prefix
        self.epochs: int | None = None
        self._started = time.perf_counter()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.epochs = (logs or {}).get("epochs")
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if rank_and_world()[0] != 0:
            return
        stream = self.stream if self.stream is not None else sys.stderr
        print(self.prefix + format_epoch_line(epoch, self.epochs, logs or {}, time.perf_counter() - self._started),
              file=stream, flush=True)


def format_epoch_line(epoch: int, epochs: int | None, logs: dict, elapsed: float) -> str:
    """``epoch 3/50  loss 0.4123  val_loss 0.4410  val_auroc 0.9120  elapsed 12.3 s``.

    The validation part shows ``val_loss`` and the first other validation metric, when logged.
    """
    parts = [f"epoch {epoch + 1}" + (f"/{epochs}" if epochs else "")]
    if logs.get("loss") is not None:
        parts.append(f"loss {logs['loss']:.4f}")
    validation = [key for key in logs if key.startswith("val_") and logs[key] is not None]
    shown = [key for key in validation if key == "val_loss"] + [key for key in validation if key != "val_loss"][:1]
    parts += [f"{key} {logs[key]:.4f}" for key in shown]
    parts.append(f"elapsed {elapsed:.1f} s")
    return "  ".join(parts)


@contextlib.contextmanager
def epoch_lines(stream: TextIO | None = None, *, enabled: bool = True) -> Iterator[EpochProgress | None]:
    """Within this block every ``TrainingLoop.fit`` prints one line per epoch on ``stream`` (stderr)."""
    if not enabled:
        yield None
        return
    progress = EpochProgress(stream)
    with training_callbacks(progress):
        yield progress
