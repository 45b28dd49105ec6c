"""The one training loop of meddl: forward, loss, backward, optimizer step.

``TrainingLoop`` trains any ``torch.nn.Module`` given a ``step_loss`` function
that maps a batch (a tuple of tensors sliced on the first axis) to
``(loss, outputs)``. ``Sequential.fit`` and the task models (survival,
treatment) all train through it, so speed work and callbacks live here once.

Speed notes (measured on a 2-core CPU, see bench/seed_throughput.py): the data
stays in tensors; each epoch does one gather for the shuffle, and batches are
then contiguous slices (no per-batch indexing or collation); losses and outputs
are kept as tensors and reduced once per epoch.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from meddl.errors import MeddlError
from meddl.training.batch_logs import RunningLogs, sorted_logs
from meddl.training.callbacks import Callback, batch_hooks
from meddl.training.checkpoint import active_checkpoint
from meddl.training.hooks import active_callbacks
from meddl.training.distributed import all_sum, rank_and_world
from meddl.training import streamed
from meddl.training.history import History
from meddl.training.more_callbacks import BackupAndRestore
from meddl.training.precision import choose_precision
from meddl.training.recorded import detached, gathered, joined

__all__ = ["TrainingLoop", "resolve_device", "PRECISIONS"]

PRECISIONS = ("auto", "fp32", "bf16", "fp16")

StepLoss = Callable[[tuple[torch.Tensor, ...]], tuple[torch.Tensor, torch.Tensor | None]]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/``None`` → CUDA when present, else CPU; anything else as given (validated)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise MeddlError(f"The 'device' must be 'auto', 'cpu', 'cuda' or 'cuda:N'. Got {device!r} instead.") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise MeddlError(f"device={device!r} was asked for but CUDA is not available on this machine; use 'auto' or 'cpu'.")
    return resolved


class TrainingLoop:
    """Train ``module`` with ``step_loss`` and a torch ``optimizer``.

    Args:
        module: the network (any ``nn.Module``).
        step_loss: ``batch -> (loss, outputs)``; ``outputs`` (or ``None``) feed the metrics.
        optimizer: a ``torch.optim.Optimizer`` over ``module``'s parameters.
        metrics: ``[(name, fn(y_true, y_pred, kind) -> float)]``, computed over a whole epoch.
        metric_kind: passed to the metric functions (``"sparse"``, ``"binary"``, ...).
        output_transform: maps recorded outputs to what metrics see (e.g. softmax of logits).
        precision: ``"fp32"`` or ``"bf16"``/``"fp16"`` autocast for the forward pass.
        n_inputs: how many leading tensors of each batch are inputs (a model with an image and clinical
            variables has 2); then the targets (``n_targets``, one per output), then optional sample weights.
        batch_terms: ``(batch, outputs) -> {name: value}``, values logged as their mean over the epoch's rows
            (a model with several outputs logs each output's loss so).

    With several outputs, ``outputs`` is a list (one tensor per output) and each metric function is called
    as ``fn(targets, outputs, kind)`` with lists: the batch's targets, then its sample weights if any.
    """

    def __init__(self, module: torch.nn.Module, step_loss: StepLoss, optimizer: torch.optim.Optimizer, *,
                 metrics: Sequence[tuple[str, Callable]] = (), metric_kind: str = "regression",
                 output_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 device: torch.device | str = "cpu", precision: str = "fp32", threads: int | None = None,
                 n_inputs: int = 1, n_targets: int = 1,
                 batch_terms: Callable[[tuple, Any], dict[str, torch.Tensor]] | None = None):
        if precision not in PRECISIONS:
            raise MeddlError(f"The 'precision' must be one of {PRECISIONS}. Got {precision!r} instead.")
        self.module = module
        self.step_loss = step_loss
        self.optimizer = optimizer
        self.metrics = list(metrics)
        self.metric_kind = metric_kind
        self.output_transform = output_transform
        self.device = torch.device(device)
        self.precision = precision
        self.threads = threads  # CPU threads while training (None: leave torch's setting alone)
        self.n_inputs = int(n_inputs)
        self.n_targets = int(n_targets)  # a model with several outputs has one target tensor per output
        self.batch_terms = batch_terms
        self.stop_training = False
        self.batch_callbacks: list[Callback] = []
        # fp16 on CUDA needs loss scaling; bf16 and fp32 do not.
        self._scaler = torch.amp.GradScaler("cuda") if precision == "fp16" and self.device.type == "cuda" else None
        self.precision_timings: dict[str, float] = {}

    # -- helpers -----------------------------------------------------------
    def _autocast(self):
        if self.precision in ("fp32", "auto"):
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _backward(self, loss: torch.Tensor) -> None:
        """Backward pass and optimizer step (through the gradient scaler for fp16 on CUDA)."""
        if self._scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self._scaler.scale(loss).backward()
            self._scaler.step(self.optimizer)
            self._scaler.update()

    def _resolve_auto_precision(self, train: tuple[torch.Tensor, ...], size: int) -> None:
        chosen, self.precision_timings = choose_precision(self, tuple(t[:size] for t in train))
        self.precision = chosen
        if chosen == "fp16" and self.device.type == "cuda":
            self._scaler = torch.amp.GradScaler("cuda")

    def _metric_logs(self, y_true: Any, outputs: Any, prefix: str = "",
                     metrics: Sequence[tuple[str, Callable]] | None = None) -> dict[str, float]:
        """The compiled metrics (or those of ``metrics``) of ``outputs`` against ``y_true``."""
        metrics = self.metrics if metrics is None else metrics
        if not metrics:
            return {}
        if isinstance(outputs, list):  # several outputs: each metric picks its own
            return {prefix + name: fn(y_true, outputs, self.metric_kind) for name, fn in metrics}
        predictions = outputs.float()
        if self.output_transform is not None:
            predictions = self.output_transform(predictions)
        return {prefix + name: fn(y_true, predictions, self.metric_kind) for name, fn in metrics}

    def targets_of(self, batch: tuple[torch.Tensor, ...]) -> Any:
        """What the metrics read of a batch besides the outputs: its target, or with several outputs the list of
        its targets and sample weights."""
        if self.n_targets == 1:
            return batch[self.n_inputs]
        return list(batch[self.n_inputs:])

    def add_terms(self, sums: dict[str, torch.Tensor], batch: tuple[torch.Tensor, ...], out: Any, count: int) -> None:
        """Add one batch's ``batch_terms``, weighted by its rows, to ``sums``."""
        if self.batch_terms is None or not count:
            return
        with torch.no_grad():
            for name, value in self.batch_terms(batch, out).items():
                sums[name] = sums.get(name, 0.0) + value.detach().double() * count

    # -- public ------------------------------------------------------------
    def fit(self, train: tuple[torch.Tensor, ...], **kwargs) -> History:
        """Run ``epochs`` epochs over ``train`` (tensors on ``self.device``); return the History.

        Keyword arguments: ``epochs``, ``batch_size`` (global; ``None`` = full batch), ``validation`` (ending with
        sample weights that weigh its loss when ``validation_weighted``),
        ``shuffle``, ``callbacks``, ``verbose``, ``model_for_callbacks``, ``initial_epoch``, and
        ``sampler``: ``epoch -> row indices`` drawn afresh every epoch (e.g. balanced sampling), used in place
        of the shuffle; the epoch then runs over those rows.
        """
        return self._in_threads(self._fit, train, **kwargs)

    def _in_threads(self, run: Callable[..., History], *args, **kwargs) -> History:
        """``run(...)`` with torch's CPU threads set to ``self.threads`` (when set), restored after."""
        if self.threads is None or self.device.type != "cpu":
            return run(*args, **kwargs)
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            return run(*args, **kwargs)
        finally:
            torch.set_num_threads(previous)

    def _fit(self, train: tuple[torch.Tensor, ...], *, epochs: int = 1, batch_size: int | None = 32,
            validation: tuple[torch.Tensor, ...] | None = None, shuffle: bool = True,
            callbacks: Sequence[Callback] = (), verbose: int = 1, model_for_callbacks=None,
            initial_epoch: int = 0, sampler: Callable[[int], Any] | None = None,
            validation_batch_size: int | None = None, validation_freq: int = 1,
            validation_weighted: bool = False) -> History:
        n = train[0].shape[0]
        if n == 0:
            raise MeddlError("Cannot train on an empty data set: 'x' has 0 samples.")
        size = n if batch_size is None else min(int(batch_size), n)  # the global batch size
        n_batches = math.ceil(n / size)
        history = History({"verbose": verbose, "epochs": epochs, "steps": n_batches})
        self.validation_freq = validation_freq if validation is not None else 1
        callbacks, callback_model = self._begin_fit(callbacks, model_for_callbacks, epochs)
        batch_callbacks = self.batch_callbacks
        if self.precision == "auto":
            self._resolve_auto_precision(train, size)
        module, optimizer, step_loss = self.module, self.optimizer, self.step_loss
        record_outputs = bool(self.metrics)
        rank, world = rank_and_world()
        # One shuffling generator, seeded from torch's (seeded) global one: every rank draws the same
        # permutation, whatever dropout or augmentation consumed from the global generator.
        shuffle_seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        checkpoint, backup = self._checkpoint(callbacks, epochs)
        if checkpoint is not None:
            saved = checkpoint.start_fit(self, callbacks, shuffle_seed=shuffle_seed, epochs=epochs)
            if saved.finished:  # weights, history, callbacks and random generators as this fit left them
                module.eval()
                return saved.history
            if saved.history is not None:
                shuffle_seed, history, initial_epoch = saved.shuffle_seed, saved.history, saved.next_epoch
        for epoch in range(initial_epoch, epochs):
            started = self._begin_epoch(epoch, callbacks)
            if sampler is not None:
                order = torch.as_tensor(np.asarray(sampler(epoch)), dtype=torch.long, device=self.device)
                data = tuple(t[order] for t in train)
                n = len(order)
                size = n if batch_size is None else min(int(batch_size), n)
                n_batches = math.ceil(n / size)
            elif shuffle and n_batches > 1:
                generator = torch.Generator().manual_seed(shuffle_seed + epoch)
                order = torch.randperm(n, generator=generator).to(self.device)
                data = tuple(t[order] for t in train)
            else:
                data = train
            losses: list[torch.Tensor] = []
            counts: list[int] = []
            outputs: list[Any] = []
            targets: list[Any] = []
            terms: dict[str, torch.Tensor] = {}
            bar = _progress_bar(n_batches, epoch, epochs) if verbose == 1 and rank == 0 else None
            running = RunningLogs(self) if batch_callbacks else None  # Keras's per-batch logs, only for hooks
            for index in range(n_batches):
                start, stop = index * size, min((index + 1) * size, n)
                if world > 1:  # this rank's share of the global batch
                    start, stop = start + (stop - start) * rank // world, start + (stop - start) * (rank + 1) // world
                batch = tuple(t[start:stop] for t in data)
                if batch_callbacks:
                    self._batch_begin(index)
                optimizer.zero_grad(set_to_none=True)
                with self._autocast():
                    loss, out = step_loss(batch)
                count = stop - start
                if world > 1:
                    # Gradients are averaged over ranks: scale each rank's mean so the result is the
                    # global batch mean even when the shares differ (an uneven last batch).
                    global_count = min((index + 1) * size, n) - index * size
                    self._backward(loss * (count * world / global_count) if count else _zero_with_graph(out))
                elif self._scaler is None:
                    loss.backward()
                    optimizer.step()
                else:
                    self._backward(loss)
                if count:
                    losses.append(loss.detach())
                    counts.append(count)
                    self.add_terms(terms, batch, out, count)
                if record_outputs and count:
                    outputs.append(detached(out))
                    if world > 1:
                        targets.append(self.targets_of(batch))
                if running is not None:
                    running.add(loss, count, self.targets_of(batch), detached(out))
                    self._batch_end(index, running.logs(terms, lambda: (
                        joined(targets) if world > 1 else self.targets_of(tuple(t[:stop] for t in data)),
                        joined(outputs))))
                if bar is not None:
                    bar.update(1)
                    if index % 50 == 0:
                        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
            total = (torch.stack(losses).double() * torch.tensor(counts, dtype=torch.float64, device=self.device)).sum() \
                if losses else torch.zeros((), device=self.device)
            logs = {"loss": self._epoch_loss(float(all_sum(total.reshape(1))[0] / n), epoch)}
            logs.update({name: float(all_sum(value.reshape(1))[0] / n) for name, value in terms.items()})
            if record_outputs:
                if world > 1:
                    logs.update(self._metric_logs(gathered(joined(targets)), gathered(joined(outputs))))
                else:
                    logs.update(self._metric_logs(self.targets_of(data), joined(outputs)))
            if validation is not None and (epoch + 1) % validation_freq == 0:
                logs.update({f"val_{k}": v for k, v in
                             self.evaluate(validation, batch_size=validation_batch_size or batch_size,
                                           weighted=validation_weighted).items()})
            stopping = self._end_epoch(epoch, epochs, logs, callbacks, callback_model, history, bar, started, verbose)
            if checkpoint is not None:
                checkpoint.end_epoch(self, callbacks, epoch=epoch, epochs=epochs, history=history, stopping=stopping)
            if stopping:
                break
        for callback in callbacks:  # with the last epoch's logs, as Keras
            callback.on_train_end(history.last_logs())
        module.eval()
        if checkpoint is not None:
            checkpoint.end_fit(self, callbacks, epochs=epochs, history=history)
        if backup is not None:
            backup.after_fit()
        return history

    # -- the parts every fit shares ---------------------------------------------------------------
    def _begin_fit(self, callbacks: Sequence[Callback], model_for_callbacks, epochs: int):
        """The callbacks (with a tuning trial's), told the fit begins; and the model they stop with ``stop_training``."""
        callbacks = list(callbacks) + active_callbacks()  # e.g. a tuning trial's pruning callback
        callback_model = model_for_callbacks if model_for_callbacks is not None else self.module
        for callback in callbacks:
            callback.set_context(callback_model, self)
        self.stop_training = False
        self.terminate_on_nan = False  # set by the TerminateOnNaN callback: stop instead of raising
        if callbacks:
            callback_model.stop_training = False  # Keras's callbacks stop training with self.model.stop_training
        self.batch_callbacks = batch_hooks(callbacks)
        for callback in callbacks:
            callback.on_train_begin({"epochs": epochs})
        return callbacks, callback_model

    def _checkpoint(self, callbacks, epochs: int):
        """Where this fit saves each epoch to resume after a kill: a BackupAndRestore callback's store, else the
        ``meddl.runs.train`` block's (or none); and that callback."""
        backup = next((c for c in callbacks if isinstance(c, BackupAndRestore)), None)
        if backup is not None:
            return backup.open_for(self.module, epochs), backup
        return active_checkpoint(), None

    def _batch_begin(self, index: int) -> None:
        for callback in self.batch_callbacks:
            callback.on_train_batch_begin(index, {})

    def _batch_end(self, index: int, logs: dict[str, float]) -> None:
        """The per-batch hooks, given Keras's running logs (:class:`~meddl.training.batch_logs.RunningLogs`)."""
        for callback in self.batch_callbacks:
            callback.on_train_batch_end(index, logs)

    def _begin_epoch(self, epoch: int, callbacks) -> float:
        """Callbacks told the epoch begins, the module in training mode; the epoch's start time."""
        for callback in callbacks:
            callback.on_epoch_begin(epoch, {})  # Keras passes an empty dict
        self.module.train()
        return time.perf_counter()

    def _epoch_loss(self, value: float, epoch: int) -> float:
        if not math.isfinite(value) and not self.terminate_on_nan:
            raise MeddlError(f"The training loss became {value} in epoch {epoch + 1}. Lower the "
                             "learning_rate, scale the inputs, or check the data for extreme values.")
        return value

    def _end_epoch(self, epoch: int, epochs: int, logs: dict[str, float], callbacks, callback_model,
                   history: History, bar, started: float, verbose: int) -> bool:
        """Callbacks, History and the progress line of a finished epoch; whether training stops now."""
        logs = sorted_logs(logs)  # Keras's order, which History keeps
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        history.append(epoch, logs)
        seconds = time.perf_counter() - started
        if bar is not None:
            bar.set_postfix_str(_format_logs(logs), refresh=False)
            bar.close()
        elif verbose == 2:
            print(f"Epoch {epoch + 1}/{epochs} - {seconds:.1f}s - {_format_logs(logs)}", file=sys.stderr)
        return bool(self.stop_training or (callbacks and getattr(callback_model, "stop_training", False)))

    @staticmethod
    def _bar(total: int | None, epoch: int, epochs: int):
        return _progress_bar(total, epoch, epochs)

    def fit_batches(self, epoch_batches: Callable[[int], Any], **kwargs) -> History:
        """Train on batches drawn each epoch from ``epoch_batches(epoch)`` (a DataLoader or generator's);
        see :func:`meddl.training.streamed.fit_batches`."""
        return self._in_threads(streamed.fit_batches, self, epoch_batches, **kwargs)

    def evaluate_batches(self, batches: Any, steps: int | None = None) -> dict[str, float]:
        """Loss and metrics over batches that arrive one by one (see :mod:`meddl.training.streamed`)."""
        return streamed.evaluate_batches(self, batches, steps)

    @torch.no_grad()
    def evaluate(self, data: tuple[torch.Tensor, ...], batch_size: int | None = None,
                 weighted: bool = False) -> dict[str, float]:
        """Loss and metrics over ``data = (x, y)``, in inference mode. The loss is unweighted, unless ``weighted``
        says ``data`` ends with sample weights (Keras's ``validation_data=(x, y, sample_weight)``: they weigh the
        loss, not the metrics)."""
        was_training = self.module.training
        self.module.eval()
        n = data[0].shape[0]
        size = inference_batch_size(data[0], batch_size)
        total, outputs, terms = 0.0, [], {}
        data = data[:self.n_inputs + self.n_targets + (1 if weighted else 0)]
        for start in range(0, n, size):
            batch = tuple(t[start:start + size] for t in data)
            with self._autocast():
                loss, out = self.step_loss(batch)
            total += float(loss) * batch[0].shape[0]
            self.add_terms(terms, batch, out, batch[0].shape[0])
            if self.metrics:
                outputs.append(out)
        self.module.train(was_training)
        logs = {"loss": total / n, **{name: float(value) / n for name, value in terms.items()}}
        if self.metrics:
            logs.update(self._metric_logs(self.targets_of(data), joined(outputs)))
        return logs


def _zero_with_graph(out: Any) -> torch.Tensor:
    """Zero, joined to the outputs' graph (a rank with no rows still takes part in the gradient average)."""
    return (sum(item.sum() for item in out) if isinstance(out, list) else out.sum()) * 0.0


def inference_batch_size(x: torch.Tensor, batch_size: int | None) -> int:
    """Batch size for inference: large for vectors, bounded by memory for images."""
    n = max(int(x.shape[0]), 1)
    if batch_size is None:
        batch_size = 32
    per_sample = max(int(x[0].numel()) if x.shape[0] else 1, 1)
    # About 64 MB of input per batch at most; vectors get big batches, 224-px images small ones.
    ceiling = max(1, (16 * 1024 * 1024) // per_sample)
    return max(1, min(n, max(int(batch_size), min(1024, ceiling))))


def _progress_bar(total: int | None, epoch: int, epochs: int):
    return tqdm(total=total, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch", leave=True, mininterval=0.25,
                dynamic_ncols=True, file=sys.stderr)


def _format_logs(logs: dict[str, float]) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items() if v is not None)
