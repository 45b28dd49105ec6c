"""Callbacks for ``fit``: EarlyStopping, ModelCheckpoint, ReduceLROnPlateau (Keras semantics)."""

from __future__ import annotations

import copy
import math
import os
import sys
from pathlib import Path
from typing import Any

from meddl.errors import MeddlError

__all__ = ["Callback", "EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "MemoryMonitor", "peak_memory_mb",
           "resident_memory_mb", "stop_after_tolerating", "batch_hooks"]


class Callback:
    """Base class. ``self.model`` is the model being trained, ``self.trainer`` the loop (``.optimizer``, ``.stop_training``)."""

    model: Any = None
    trainer: Any = None

    def set_context(self, model, trainer) -> None:
        self.model, self.trainer = model, trainer

    def set_model(self, model) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_train_end(self, logs: dict | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After each training step; as in Keras, ``logs`` hold the epoch's values so far: ``loss`` (the mean
        over the rows trained on in this epoch) and every compiled metric over those rows. Setting
        ``self.model.stop_training`` here stops the training at the end of the epoch."""
        self.on_batch_end(batch, logs)

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...  # Keras's older names

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None: ...

    def get_state(self) -> dict:
        """What a checkpoint keeps to resume this callback mid-training (tensors, numbers, lists, dicts)."""
        return {}

    def set_state(self, state: dict) -> None:
        """Take back what :meth:`get_state` gave (after ``on_train_begin``)."""
        for name, value in state.items():
            setattr(self, name, value)


_BATCH_HOOKS = ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end")
# Keras's hooks for evaluate and predict, which meddl does not call: refused rather than silently skipped.
UNCALLED_HOOKS = ("on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end", "on_predict_begin",
                   "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


def batch_hooks(callbacks) -> list[Callback]:
    """The callbacks whose per-batch hooks do something (the loop calls only these, so other fits pay nothing);
    a callback with an evaluate or predict hook, which fit never calls, is refused."""
    for callback in callbacks:
        uncalled = [hook for hook in UNCALLED_HOOKS if callable(getattr(callback, hook, None))]
        if uncalled:
            raise MeddlError(f"Callback {type(callback).__name__} defines {uncalled}, which meddl never calls (it "
                             "calls on_train_begin/end, on_epoch_begin/end and on_train_batch_begin/end). Move that "
                             "work to on_epoch_end, where logs hold the validation values.")
    return [callback for callback in callbacks
            if any(getattr(type(callback), hook, None) is not getattr(Callback, hook) or hook in vars(callback)
                   for hook in _BATCH_HOOKS)  # a hook set on the instance counts too (LambdaCallback)
            and isinstance(callback, Callback)]


class _MonitorMixin:
    """Shared 'is this better?' logic for callbacks that watch one logged value."""

    def _init_monitor(self, monitor: str, mode: str, min_delta: float) -> None:
        if mode not in ("auto", "min", "max"):
            raise MeddlError(f"The 'mode' parameter of {type(self).__name__} must be 'auto', 'min' or 'max'. Got {mode!r} instead.")
        self.monitor = monitor
        self.auto_mode = mode == "auto"
        # With mode="auto" a loss is minimised at once; any other value waits for fit's metrics
        # (_resolve_auto_mode), and "auto" stays until then.
        self.mode = "min" if self.auto_mode and _is_loss(monitor) else mode
        self.min_delta = abs(float(min_delta))
        self.best = math.inf if self.mode == "min" else -math.inf

    def _resolve_auto_mode(self) -> bool:
        """With mode="auto", take the direction of the compiled metric the monitor names, as Keras does
        (``val_precision``, ``val_f1_score``, ``val_r2_score`` are maximised, ``val_mae`` minimised); a loss
        (``loss``, ``val_loss``, an output's ``val_<output>_loss``) is minimised. Whether the mode changed.

        Raises:
            MeddlError: the monitor is neither a loss nor a compiled metric with a direction (e.g. a count such
                as ``val_false_negatives``, or a value another callback logs): as Keras, meddl does not guess
                from the name, and asks for ``mode='max'`` or ``'min'``.
        """
        if not self.auto_mode:
            return False
        name = self.monitor.removeprefix("val_")
        direction = "down" if _is_loss(name) else None
        for metric_name, function in getattr(getattr(self, "trainer", None), "metrics", None) or ():
            if direction is None and metric_name == name:
                direction = getattr(function, "direction", None)
        if direction is None:
            raise MeddlError(
                f"{type(self).__name__} monitors '{self.monitor}' with mode='auto', but the direction of "
                f"'{self.monitor}' is unknown: it is not a loss, nor a compiled metric that says whether larger or "
                f"smaller is better. Pass mode='max' to keep its highest value, or mode='min' to keep its lowest "
                f"(Keras asks the same).")
        mode = {"up": "max", "down": "min"}[direction]
        changed, self.mode = mode != self.mode, mode
        return changed

    def _current(self, logs: dict | None) -> float | None:
        logs = logs or {}
        if self.monitor not in logs and self.monitor.startswith("val_") \
                and getattr(getattr(self, "trainer", None), "validation_freq", 1) > 1:
            return None  # validation runs every few epochs (validation_freq): nothing to judge in this one
        if self.monitor not in logs:
            available = ", ".join(sorted(logs)) or "none"
            raise MeddlError(f"{type(self).__name__} monitors '{self.monitor}', which is not logged. "
                             f"Available: {available}. (Validation metrics need validation_data or validation_split.)")
        value = logs[self.monitor]
        return None if value is None or math.isnan(value) else float(value)

    def _is_improvement(self, value: float) -> bool:
        if self.mode == "auto":  # used outside fit, which resolves it at on_train_begin
            self._resolve_auto_mode()
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


def _is_loss(name: str) -> bool:
    """Whether a logged name is a loss (minimised): ``loss``, ``val_loss`` or a part's ``<name>_loss``."""
    return name.removeprefix("val_") == "loss" or name.endswith("_loss")


class EarlyStopping(_MonitorMixin, Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; optionally restore the best weights.

    Example:
        >>> from meddl.training.callbacks import EarlyStopping
        >>> stop = EarlyStopping(monitor="val_loss", patience=5, restore_best_weights=True)
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0, verbose: int = 0,
                 mode: str = "auto", baseline: float | None = None, restore_best_weights: bool = False,
                 start_from_epoch: int = 0, tie_monitor: str | None = None):
        """As Keras's: training stops after ``patience`` epochs (at least one) without improvement, counted from the
        last epoch that beat both the best value and ``baseline``. Unlike Keras, the best weights are restored
        (``restore_best_weights``) also when training runs all its epochs."""
        self._init_monitor(monitor, mode, min_delta)
        self.verbose, self.baseline = verbose, None if baseline is None else float(baseline)
        # When `monitor` ties its best value (e.g. a validation AUROC of 1.0 from the first epoch on),
        # a lower `tie_monitor` (e.g. val_loss) still counts as an improvement.
        self.tie_monitor = tie_monitor
        self.patience = int(patience)
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)
        self.best_weights = None
        self.best_epoch: int | None = None
        self.stopped_epoch = 0  # as Keras: 0 until training stops early (programs test `stopped_epoch > 0`)

    def on_train_begin(self, logs=None):
        self._resolve_auto_mode()
        self.wait = 0
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_tie = math.inf
        self.best_weights, self.best_epoch, self.stopped_epoch = None, None, 0

    def _breaks_tie(self, value: float, logs: dict | None) -> bool:
        if self.tie_monitor is None or value != self.best:
            return False
        tie = (logs or {}).get(self.tie_monitor)
        return tie is not None and tie < self.best_tie

    def on_epoch_end(self, epoch, logs=None):
        value = self._current(logs)
        if value is None or epoch < self.start_from_epoch:
            return
        self.wait += 1
        if self._is_improvement(value) or self._breaks_tie(value, logs):
            self.best, self.best_epoch = value, epoch
            if self.tie_monitor is not None:
                self.best_tie = (logs or {}).get(self.tie_monitor, math.inf)
            if self.restore_best_weights:
                self.best_weights = copy.deepcopy(self.model.state_dict())
            if self.baseline is None or self._beats(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.trainer.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping ({self.monitor} did not improve for {self.wait} epochs).",
                      file=sys.stderr)

    def _beats(self, value: float, reference: float) -> bool:
        return value < reference - self.min_delta if self.mode == "min" else value > reference + self.min_delta

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"Restoring the weights of the best epoch, {self.best_epoch + 1}.", file=sys.stderr)

    def get_state(self) -> dict:
        return {"wait": self.wait, "best": self.best, "best_tie": self.best_tie, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}


def stop_after_tolerating(epochs: int, **settings) -> EarlyStopping:
    """The early stopping of meddl's runs, survival and treatment models, whose ``patience`` counts the epochs
    without improvement they tolerate: training stops at the next one (Keras's ``patience`` of ``epochs + 1``)."""
    return EarlyStopping(patience=epochs + 1, **settings)


class ModelCheckpoint(_MonitorMixin, Callback):
    """Save the model after each epoch, or every ``save_freq`` training batches (or only when ``monitor``
    improves, with ``save_best_only``).

    ``filepath`` may hold ``{epoch}`` and logged values, e.g. ``"ckpt-{epoch:02d}"``: a folder (meddl's
    model format) or a Keras 3 ``.keras`` file, or with ``save_weights_only`` a ``.weights.safetensors`` or
    Keras's ``.weights.h5`` file. Keras 2's ``.h5`` names are refused here, before training, with the name to
    use instead.
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0, save_best_only: bool = False,
                 save_weights_only: bool = False, mode: str = "auto", save_freq: str | int = "epoch",
                 initial_value_threshold: float | None = None):
        self._init_monitor(monitor, mode, 0.0)
        self.filepath = str(filepath)
        self.save_best_only, self.save_weights_only, self.verbose = bool(save_best_only), bool(save_weights_only), verbose
        if save_freq != "epoch":
            if isinstance(save_freq, bool) or not isinstance(save_freq, int) or save_freq <= 0:
                raise MeddlError("The 'save_freq' parameter of ModelCheckpoint must be 'epoch' or a positive int (a "
                                 f"number of training batches). Got {save_freq!r} instead.")
            self.on_train_batch_end = self._on_batch_end  # on the instance: only such a checkpoint has a batch hook
        self.save_freq = save_freq
        self._batches_since_saving, self._last_batch, self._epoch = 0, None, 0
        suffix = Path(self.filepath).suffix.lower()
        if self.save_weights_only and not self.filepath.endswith((".safetensors", ".weights.h5")):
            stem = self.filepath[:-len(suffix)] if suffix in (".h5", ".keras", ".hdf5") else self.filepath
            stem = stem if stem.endswith(".weights") else f"{stem}.weights"
            raise MeddlError(f"ModelCheckpoint with save_weights_only writes a weights file: give a name ending in "
                             f"'.weights.h5' (Keras's) or '.safetensors', e.g. '{stem}.h5'. Got '{self.filepath}' "
                             "instead.")
        if not self.save_weights_only and suffix in (".h5", ".hdf5"):
            raise MeddlError(f"ModelCheckpoint writes Keras 3's '.keras' file or meddl's folder, not Keras 2's "
                             f"'{suffix}': give e.g. '{self.filepath[:-len(suffix)]}.keras'. Got '{self.filepath}'.")
        self._initial_best = initial_value_threshold

    def on_train_begin(self, logs=None):
        if self._resolve_auto_mode():
            self.best = math.inf if self.mode == "min" else -math.inf
        if self._initial_best is not None:
            self.best = float(self._initial_best)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _on_batch_end(self, batch, logs=None):
        """With ``save_freq=n``: save after every ``n`` training batches, counted across epochs (Keras's rule)."""
        seen = batch + 1 if self._last_batch is None or batch <= self._last_batch else batch - self._last_batch
        self._batches_since_saving += seen
        self._last_batch = batch
        if self._batches_since_saving >= self.save_freq:
            self._batches_since_saving = 0
            self._save(self._epoch, batch, logs or {})

    def _save(self, epoch: int, batch: int | None, logs: dict) -> None:
        batch_field = {} if batch is None or "batch" in logs else {"batch": batch + 1}
        path = self.filepath.format(epoch=epoch + 1, **batch_field, **logs)
        if self.save_best_only:
            value = self._current(logs)
            if value is None:
                return
            best = "None" if math.isinf(self.best) else f"{self.best:.5f}"
            if not self._is_improvement(value):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from {best}", file=sys.stderr)
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {best} to {value:.5f}, saving model to "
                      f"{path}", file=sys.stderr)
            self.best = value
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving model to {path}", file=sys.stderr)
        if not hasattr(self.model, "save"):
            raise MeddlError("ModelCheckpoint needs a model with a save() method (e.g. meddl.Sequential).")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)

    def get_state(self) -> dict:
        return {"best": self.best}


class ReduceLROnPlateau(_MonitorMixin, Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` stops improving for ``patience`` epochs."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10, verbose: int = 0,
                 mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0, min_lr: float = 0.0):
        if not 0 < factor < 1:
            raise MeddlError(f"The 'factor' parameter of ReduceLROnPlateau must be in (0, 1). Got {factor!r} instead.")
        self._init_monitor(monitor, mode, min_delta)
        self.factor, self.patience, self.cooldown, self.min_lr = float(factor), int(patience), int(cooldown), float(min_lr)
        self.verbose = verbose

    def on_train_begin(self, logs=None):
        self._resolve_auto_mode()
        self.wait, self.cooldown_counter = 0, 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        value = self._current(logs)
        if logs is not None:
            logs["learning_rate"] = self.trainer.optimizer.param_groups[0]["lr"]
        if value is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(value):
            self.best, self.wait = value, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience:
                for group in self.trainer.optimizer.param_groups:
                    group["lr"] = max(group["lr"] * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing the learning rate to "
                          f"{self.trainer.optimizer.param_groups[0]['lr']:g}.", file=sys.stderr)

    def get_state(self) -> dict:
        return {"wait": self.wait, "cooldown_counter": self.cooldown_counter, "best": self.best}


def resident_memory_mb() -> float:
    """This process's resident memory now, in MB (Linux /proc; 0.0 where unavailable)."""
    try:
        with open("/proc/self/statm") as handle:
            pages = int(handle.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_memory_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    import resource  # Unix only: imported here so that importing meddl works on Windows

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


class MemoryMonitor(Callback):
    """Record resident memory after every epoch (``memory_mb_``), to show it does not grow."""

    def on_train_begin(self, logs=None):
        self.memory_mb_: list[float] = []

    def on_epoch_end(self, epoch, logs=None):
        self.memory_mb_.append(resident_memory_mb())

    def get_state(self) -> dict:
        return {"memory_mb_": list(self.memory_mb_)}

    def growth_mb(self, skip: int = 2) -> float:
        """Memory after the last epoch minus after epoch ``skip`` (the first epochs warm caches up)."""
        if len(self.memory_mb_) <= skip:
            return 0.0
        return self.memory_mb_[-1] - self.memory_mb_[skip - 1]
