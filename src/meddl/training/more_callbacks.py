"""More of Keras's callbacks: ``CSVLogger``, ``TerminateOnNaN``, ``LearningRateScheduler``, ``LambdaCallback``,
``BackupAndRestore``.

meddl's loop calls the per-batch hooks only of callbacks that define them, so a fit without
such a callback keeps a per-batch path free of Python hooks (bench/seed_throughput.py).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from meddl.errors import MeddlError, did_you_mean
from meddl.io import atomic_write_text
from meddl.training.callbacks import UNCALLED_HOOKS, Callback
from meddl.training.checkpoint import CheckpointStore

__all__ = ["CSVLogger", "TerminateOnNaN", "LearningRateScheduler", "LambdaCallback", "BackupAndRestore"]


class CSVLogger(Callback):
    """Write one row per epoch (``epoch`` and every logged value) to a CSV file.

    The file is rewritten atomically after each epoch, so an interrupted run leaves a valid file.

    Example:
        >>> from meddl.callbacks import CSVLogger
        >>> logger = CSVLogger("training.csv")
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename = Path(filename)
        self.separator = separator
        self.append = bool(append)

    def on_train_begin(self, logs=None):
        self.rows: list[dict] = []
        self.prefix = ""
        if self.append and self.filename.is_file():
            self.prefix = self.filename.read_text(encoding="utf-8")

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **(logs or {})})
        keys = ["epoch", *sorted({key for row in self.rows for key in row} - {"epoch"})]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=keys, delimiter=self.separator, lineterminator="\n")
        if not self.prefix:
            writer.writeheader()
        writer.writerows(self.rows)
        atomic_write_text(self.filename, self.prefix + buffer.getvalue())

    def get_state(self) -> dict:
        return {"rows": self.rows, "prefix": self.prefix}


class TerminateOnNaN(Callback):
    """Stop training (instead of raising) when the loss becomes NaN or infinite; the history keeps that epoch."""

    def on_train_begin(self, logs=None):
        self.trainer.terminate_on_nan = True

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.trainer.stop_training = True


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, current_rate)``.

    Example:
        >>> from meddl.callbacks import LearningRateScheduler
        >>> halve_after_ten = LearningRateScheduler(lambda epoch, lr: lr if epoch < 10 else lr * 0.5)
    """

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise MeddlError(f"LearningRateScheduler needs a function schedule(epoch, lr) -> lr. Got {schedule!r}.")
        self.schedule = schedule
        self.verbose = int(verbose)

    def on_epoch_begin(self, epoch, logs=None):
        groups = self.trainer.optimizer.param_groups
        current = groups[0]["lr"]
        try:
            rate = self.schedule(epoch, current)
        except TypeError:
            rate = self.schedule(epoch)  # Keras also accepts schedule(epoch)
        rate = float(rate)
        if not math.isfinite(rate) or rate < 0:
            raise MeddlError(f"The learning-rate schedule returned {rate!r} for epoch {epoch}; it must be a "
                             "non-negative number.")
        for group in groups:
            group["lr"] = rate * group["lr"] / current if current else rate
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.trainer.optimizer.param_groups[0]["lr"]


class LambdaCallback(Callback):
    """A callback from functions, as Keras's: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_train_begin(logs)``, ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)``,
    ``on_train_batch_end(batch, logs)``, and by keyword Keras's other hook names (``on_batch_end``, ...).

    A keyword that is not a hook's name is refused (a misspelt hook would otherwise never run), and so is
    an evaluate or predict hook (``on_test_batch_end``, ...) when ``fit`` starts, since meddl's fit never
    calls them.

    Example:
        >>> from meddl.callbacks import LambdaCallback
        >>> losses = []
        >>> log_batches = LambdaCallback(on_train_batch_end=lambda batch, logs: losses.append(logs["loss"]))
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **hooks):
        unknown = [name for name in hooks if name not in _HOOK_NAMES]
        if unknown:
            raise MeddlError(f"LambdaCallback got {unknown}, which are not callback hooks."
                             f"{did_you_mean(unknown[0], _HOOK_NAMES)} The hooks are {list(_HOOK_NAMES)}.")
        given = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end, **hooks}
        for name, function in given.items():
            if function is None:
                continue
            if not callable(function):
                raise MeddlError(f"The '{name}' parameter of LambdaCallback must be a function. "
                                 f"Got {type(function).__name__} instead.")
            setattr(self, name, function)  # an instance attribute: the loop calls it in place of the class's hook


#: Keras's callback hook names (the evaluate and predict ones are refused by fit: meddl never calls them).
_HOOK_NAMES = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end", "on_train_batch_begin",
               "on_train_batch_end", "on_batch_begin", "on_batch_end", *UNCALLED_HOOKS)


class BackupAndRestore(Callback):
    """Keras's ``BackupAndRestore``: back the fit up to ``backup_dir`` after every epoch, so that calling ``fit``
    again after an interruption (a crash, a killed job) continues from the last finished epoch.

    The backup holds the weights, the optimizer's state, the history, the other callbacks' state and the
    random generators (meddl's resumable checkpoints), so the resumed fit ends with the weights an
    uninterrupted one would have. It is deleted when the fit ends (``delete_checkpoint=True``). A backup
    of another model, or of a fit of another number of epochs, is refused rather than loaded.

    Example:
        >>> from meddl.callbacks import BackupAndRestore
        >>> backup = BackupAndRestore("backup/")   # model.fit(x, y, epochs=100, callbacks=[backup])
    """

    def __init__(self, backup_dir, save_freq: str = "epoch", delete_checkpoint: bool = True,
                 double_checkpoint: bool = False):
        if save_freq != "epoch":
            raise MeddlError(f"BackupAndRestore in meddl backs up after every epoch (save_freq='epoch'). Got "
                             f"{save_freq!r} instead.")
        self.backup_dir = Path(backup_dir)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.store = CheckpointStore(self.backup_dir, max_overhead=0.0)

    def open_for(self, module, epochs: int) -> CheckpointStore:
        """The store this fit is backed up to (resuming what it holds of the same model and epochs)."""
        fingerprint = {"backup": "BackupAndRestore", "epochs": int(epochs),
                       "weights": {name: list(tensor.shape) for name, tensor in module.state_dict().items()}}
        stored = self.store.fingerprint()
        if stored is not None and stored != fingerprint:
            raise MeddlError(f"BackupAndRestore: the backup in '{self.backup_dir}' is of another model or of a fit "
                             f"of {stored.get('epochs')} epochs (this one: {epochs}); give another backup_dir, or "
                             "delete that folder to start again.")
        self.store.open(fingerprint, resume=True)
        return self.store

    def after_fit(self) -> None:
        if self.delete_checkpoint:
            self.store.remove()
