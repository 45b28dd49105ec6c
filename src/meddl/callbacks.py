"""Keras's ``keras.callbacks`` namespace.

Subclass :class:`Callback` for your own (``on_train_begin``, ``on_epoch_begin``,
``on_epoch_end``, ``on_train_end``; ``self.model`` is the model, and
``self.model.stop_training = True`` stops training as in Keras). meddl calls
callbacks once per epoch, not per batch.
"""

from meddl.training.callbacks import Callback, EarlyStopping, MemoryMonitor, ModelCheckpoint, ReduceLROnPlateau
from meddl.training.history import History
from meddl.training.more_callbacks import CSVLogger, LambdaCallback, LearningRateScheduler, TerminateOnNaN

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "History", "LambdaCallback", "LearningRateScheduler",
           "MemoryMonitor", "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]
