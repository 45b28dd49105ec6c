"""Snapshot ensembles (Huang et al., ICLR 2017): M networks for the price of one training run.

The learning rate follows ``cycles`` cosine annealing cycles (Loshchilov & Hutter's
warm restarts), each ``epochs / cycles`` epochs long: it starts at the optimizer's
rate, falls to (almost) zero, and jumps back up. At the end of each cycle the
network sits in a minimum; its weights are kept as one snapshot. Averaging the
snapshots' predictions gives an ensemble whose members differ (each restart
leaves the minimum) without training M networks from scratch, as a seed ensemble
(``training.ensemble`` with ``training.ensemble_method: seeds``) does.

There is no early stopping: every cycle runs to its end (the validation split is
still scored each epoch, and still picks the threshold and calibration).

Example:
    >>> from meddl.training.snapshots import SnapshotCycles
    >>> snapshots = SnapshotCycles(cycles=3, epochs=30)
    >>> snapshots.learning_rate(0, 1e-3), round(snapshots.learning_rate(5, 1e-3), 6)
    (0.001, 0.000552)
"""

from __future__ import annotations

import math

import torch

from meddl.errors import ConfigError
from meddl.training.callbacks import Callback

__all__ = ["SnapshotCycles"]


class SnapshotCycles(Callback):
    """Cosine-annealing cycles over ``epochs`` epochs, keeping the weights at the end of each cycle.

    Args:
        cycles: how many cycles (snapshots); ``epochs`` must be at least that many.
        epochs: the training run's epochs; cycle ``k`` spans epochs ``[k·L, (k+1)·L)`` with
            ``L = epochs // cycles`` (the last cycle takes the remainder).

    After training, ``snapshots`` holds one ``state_dict`` (CPU tensors) per cycle, oldest first.
    """

    def __init__(self, cycles: int, epochs: int):
        if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 1:
            raise ConfigError(f"The 'cycles' parameter of SnapshotCycles must be an integer >= 1. Got {cycles!r} "
                              "instead.")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < cycles:
            raise ConfigError(f"A snapshot ensemble of {cycles} cycles needs at least {cycles} epochs (one per "
                              f"cycle); got epochs={epochs!r}. Raise training.epochs or lower training.ensemble.")
        self.cycles, self.epochs = cycles, epochs
        self.cycle_length = epochs // cycles
        self.snapshots: list[dict[str, torch.Tensor]] = []
        self.base_learning_rates: list[float] | None = None

    def _cycle(self, epoch: int) -> tuple[int, int]:
        """``(position in its cycle, that cycle's length)``."""
        cycle = min(epoch // self.cycle_length, self.cycles - 1)
        start = cycle * self.cycle_length
        length = self.epochs - start if cycle == self.cycles - 1 else self.cycle_length
        return epoch - start, length

    def learning_rate(self, epoch: int, base: float) -> float:
        """The rate of ``epoch``: ``base · (1 + cos(π · position / length)) / 2`` within its cycle."""
        position, length = self._cycle(epoch)
        return base * 0.5 * (1.0 + math.cos(math.pi * position / length))

    def on_train_begin(self, logs=None):
        self.snapshots = []
        self.base_learning_rates = [group["lr"] for group in self.trainer.optimizer.param_groups]

    def on_epoch_begin(self, epoch, logs=None):
        for group, base in zip(self.trainer.optimizer.param_groups, self.base_learning_rates):
            group["lr"] = self.learning_rate(epoch, base)

    def on_epoch_end(self, epoch, logs=None):
        position, length = self._cycle(epoch)
        if position == length - 1:  # the cycle's last epoch: the rate has reached its floor
            module = self.trainer.module
            self.snapshots.append({name: value.detach().cpu().clone() for name, value in module.state_dict().items()})

    def get_state(self) -> dict:
        """The snapshots so far and the base rates (a resumed run continues the same cycles)."""
        return {"snapshots": self.snapshots, "base_learning_rates": self.base_learning_rates}
