"""The logs of Keras's per-batch hooks: each logged value as it stands so far in the epoch.

Keras passes ``on_train_batch_end(batch, logs)`` its running metrics: the loss as
the mean over the epoch's rows so far (each batch's loss weighted by its rows),
and every compiled metric over the rows so far, with the keys sorted, so the
last batch's logs hold the epoch's training values. meddl computes its metrics
exactly over a set of rows, so a running value is the metric over the rows so
far. This costs a pass over those rows per batch, which is why the loop builds
these logs only for fits with a callback that defines a per-batch hook.
"""

from __future__ import annotations

from typing import Any

import torch

from meddl.training.recorded import joined

__all__ = ["RunningLogs", "sorted_logs"]


def sorted_logs(logs: dict[str, float]) -> dict[str, float]:
    """``logs`` with its keys in Keras's order, sorted (``accuracy, loss, val_accuracy, val_loss``): what
    Keras's callbacks and History see."""
    return dict(sorted(logs.items()))


class RunningLogs:
    """The epoch-so-far logs of a training loop's epoch; :meth:`add` one batch, then :meth:`logs`."""

    def __init__(self, loop: Any):
        self.loop = loop
        self.loss_total = 0.0
        self.rows = 0

    def add(self, loss: torch.Tensor, count: int) -> None:
        """One batch of ``count`` rows and its (mean) ``loss``."""
        self.loss_total += float(loss.detach()) * count
        self.rows += count

    def logs(self, terms: dict[str, torch.Tensor], targets: Any = None, outputs: list[Any] = ()) -> dict[str, float]:
        """The running loss, ``terms`` (the loop's sums of ``batch_terms`` weighted by rows) over the rows so
        far, and the metrics of ``targets`` (the rows so far) and ``outputs`` (their recorded batches)."""
        if not self.rows:
            return {}
        logs = {"loss": self.loss_total / self.rows, **{name: float(value) / self.rows for name, value in terms.items()}}
        if self.loop.metrics and len(outputs):
            logs.update(self.loop._metric_logs(targets, joined(list(outputs))))
        return sorted_logs(logs)
