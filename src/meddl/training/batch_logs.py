"""The logs of Keras's per-batch hooks: each logged value as it stands so far in the epoch.

Keras passes ``on_train_batch_end(batch, logs)`` its running metrics: the loss as
the mean over the epoch's rows so far (each batch's loss weighted by its rows),
and every compiled metric over the rows so far, with the keys sorted, so the
last batch's logs hold the epoch's training values. A metric that is the mean of
one value per row (accuracy, mae, mse: ``per_row_mean``) is summed batch by
batch; any other (AUC, precision, ...) meddl computes exactly over a set of
rows, so its running value is computed again over the rows so far, a pass over
them per batch. The loop builds these logs only for fits with a callback that
defines a per-batch hook, so other fits pay nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

__all__ = ["RunningLogs", "sorted_logs"]


def sorted_logs(logs: dict[str, float]) -> dict[str, float]:
    """``logs`` with its keys in Keras's order, sorted (``accuracy, loss, val_accuracy, val_loss``): what
    Keras's callbacks and History see."""
    return dict(sorted(logs.items()))


class RunningLogs:
    """The epoch-so-far logs of a training loop's epoch: :meth:`add` each batch, then :meth:`logs`."""

    def __init__(self, loop: Any):
        self.loop = loop
        self.loss_total = 0.0
        self.rows = 0
        self.summed = [(name, fn) for name, fn in loop.metrics if getattr(fn, "per_row_mean", False)]
        self.recomputed = [(name, fn) for name, fn in loop.metrics if not getattr(fn, "per_row_mean", False)]
        self.sums: dict[str, float] = {}

    def add(self, loss: torch.Tensor, count: int, targets: Any, outputs: Any) -> None:
        """One batch: its ``count`` rows, (mean) ``loss``, ``targets`` and ``outputs`` (detached)."""
        self.loss_total += float(loss.detach()) * count
        self.rows += count
        if count and self.summed:
            for name, value in self.loop._metric_logs(targets, outputs, metrics=self.summed).items():
                self.sums[name] = self.sums.get(name, 0.0) + value * count

    def logs(self, terms: dict[str, torch.Tensor], rows_so_far: Callable[[], tuple[Any, Any]]) -> dict[str, float]:
        """The running loss, ``terms`` (the loop's sums of ``batch_terms`` weighted by rows) and metrics;
        ``rows_so_far()`` gives the targets and outputs of the epoch's rows so far, asked for only when a
        metric is not a mean over rows."""
        if not self.rows:
            return {}
        logs = {"loss": self.loss_total / self.rows, **{name: float(value) / self.rows for name, value in terms.items()},
                **{name: total / self.rows for name, total in self.sums.items()}}
        if self.recomputed:
            logs.update(self.loop._metric_logs(*rows_so_far(), metrics=self.recomputed))
        return sorted_logs(logs)
