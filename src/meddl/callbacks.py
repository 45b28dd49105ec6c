"""Keras's ``keras.callbacks`` namespace.

Subclass :class:`Callback` for your own (``on_train_begin``, ``on_epoch_begin``,
``on_epoch_end``, ``on_train_end``, ``on_train_batch_begin``, ``on_train_batch_end``;
``self.model`` is the model, and ``self.model.stop_training = True`` stops training
as in Keras). Keras's evaluate and predict hooks are never called, so a callback
defining them is refused.
"""

from meddl.training.callbacks import Callback, EarlyStopping, MemoryMonitor, ModelCheckpoint, ReduceLROnPlateau
from meddl.training.history import History
from meddl.training.more_callbacks import (BackupAndRestore, CSVLogger, LambdaCallback, LearningRateScheduler,
                                           TerminateOnNaN)

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "MemoryMonitor", "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]
