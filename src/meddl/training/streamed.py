"""Training and evaluation on batches that arrive one by one (a DataLoader, a generator), as Keras's ``fit(dataset)``.

The tensor loop (:meth:`TrainingLoop.fit`) holds the whole data set and slices
it; this one takes each epoch's batches from ``epoch_batches(epoch)`` (tuples of
tensors on the loop's device: inputs, targets, optional sample weights), so data
that does not fit in memory, or is drawn on the fly, trains through the same
steps, callbacks, History and epoch-exact metrics. It runs in one process and
outside ``meddl.runs``' resumable checkpoints (runs hold their data as tensors).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import torch

from meddl.errors import DataError, MeddlError
from meddl.training.batch_logs import RunningLogs
from meddl.training.callbacks import Callback
from meddl.training.checkpoint import active_checkpoint
from meddl.training.more_callbacks import BackupAndRestore
from meddl.training.distributed import rank_and_world
from meddl.training.history import History
from meddl.training.recorded import detached, joined

__all__ = ["fit_batches", "evaluate_batches"]


def fit_batches(loop: Any, epoch_batches: Callable[[int], Iterable[tuple[torch.Tensor, ...]]], *, epochs: int = 1,
                steps_per_epoch: int | None = None, validate: Callable[[], dict[str, float]] | None = None,
                callbacks: Sequence[Callback] = (), verbose: int = 1, initial_epoch: int = 0,
                model_for_callbacks: Any = None, validation_freq: int = 1) -> History:
    """Run ``epochs`` epochs, each over ``epoch_batches(epoch)`` (at most ``steps_per_epoch`` batches);
    ``validate()`` gives the epoch's validation logs. Returns the History."""
    if rank_and_world()[1] > 1:
        raise MeddlError("Training on a DataLoader or generator runs in one process; under torchrun give fit "
                         "arrays, which meddl shares out between the processes.")
    if active_checkpoint() is not None or any(isinstance(c, BackupAndRestore) for c in callbacks):
        raise MeddlError("A resumable fit (a meddl run's checkpoints, or BackupAndRestore) trains on arrays, not on a "
                         "DataLoader or generator, whose batches cannot be replayed from where they stopped.")
    history = History({"verbose": verbose, "epochs": epochs, "steps": steps_per_epoch})
    loop.validation_freq = validation_freq if validate is not None else 1
    callbacks, callback_model = loop._begin_fit(callbacks, model_for_callbacks, epochs)
    module, optimizer, step_loss = loop.module, loop.optimizer, loop.step_loss
    for epoch in range(initial_epoch, epochs):
        started = loop._begin_epoch(epoch, callbacks)
        bar = loop._bar(steps_per_epoch, epoch, epochs) if verbose == 1 else None
        total, n, outputs, targets = torch.zeros((), dtype=torch.float64, device=loop.device), 0, [], []
        terms: dict[str, torch.Tensor] = {}
        running = RunningLogs(loop) if loop.batch_callbacks else None  # Keras's per-batch logs, only for hooks
        for index, batch in enumerate(itertools.islice(epoch_batches(epoch), steps_per_epoch)):
            if loop.batch_callbacks:
                loop._batch_begin(index)
            if loop.precision == "auto":
                loop._resolve_auto_precision(batch, batch[0].shape[0])
            optimizer.zero_grad(set_to_none=True)
            with loop._autocast():
                loss, out = step_loss(batch)
            loop._backward(loss)
            count = batch[0].shape[0]
            total += loss.detach().double() * count
            n += count
            loop.add_terms(terms, batch, out, count)
            if loop.metrics:
                outputs.append(detached(out))
                targets.append(loop.targets_of(batch))
            if running is not None:
                running.add(loss, count, loop.targets_of(batch), detached(out))
                loop._batch_end(index, running.logs(terms, lambda: (joined(targets), joined(outputs))))
            if bar is not None:
                bar.update(1)
        if n == 0:
            raise DataError(f"The training data gave no batches in epoch {epoch + 1}: a generator is read once, so "
                            "pass steps_per_epoch=N (and let it yield forever), or a DataLoader, which starts "
                            "again each epoch.")
        logs = {"loss": loop._epoch_loss(float(total / n), epoch), **{k: float(v) / n for k, v in terms.items()}}
        if loop.metrics:
            logs.update(loop._metric_logs(joined(targets), joined(outputs)))
        if validate is not None and (epoch + 1) % validation_freq == 0:
            logs.update({f"val_{key}": value for key, value in validate().items()})
        if loop._end_epoch(epoch, epochs, logs, callbacks, callback_model, history, bar, started, verbose):
            break
    for callback in callbacks:  # with the last epoch's logs, as Keras
        callback.on_train_end(history.last_logs())
    module.eval()
    return history


@torch.no_grad()
def evaluate_batches(loop: Any, batches: Iterable[tuple[torch.Tensor, ...]], steps: int | None = None
                     ) -> dict[str, float]:
    """Loss (unweighted) and metrics over ``batches``, in inference mode."""
    was_training = loop.module.training
    loop.module.eval()
    total, n, outputs, targets, terms = 0.0, 0, [], [], {}
    try:
        for batch in itertools.islice(batches, steps):
            batch = batch[:loop.n_inputs + loop.n_targets]
            with loop._autocast():
                loss, out = loop.step_loss(batch)
            total += float(loss) * batch[0].shape[0]
            n += batch[0].shape[0]
            loop.add_terms(terms, batch, out, batch[0].shape[0])
            if loop.metrics:
                outputs.append(out)
                targets.append(loop.targets_of(batch))
    finally:
        loop.module.train(was_training)
    if n == 0:
        raise DataError("The evaluation data gave no batches.")
    logs = {"loss": total / n, **{name: float(value) / n for name, value in terms.items()}}
    if loop.metrics:
        logs.update(loop._metric_logs(joined(targets), joined(outputs)))
    return logs
