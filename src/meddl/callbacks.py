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
from meddl.errors import missing_name

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "MemoryMonitor", "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]

#: Keras names meddl does not have, and what to use instead
_NOT_IN_MEDDL = {
    "TensorBoard": "fit's History and CSVLogger keep every epoch's logs, and meddl runs log to MLflow "
                   "(tracking: {mlflow: URI})",
    "ProgbarLogger": "fit(verbose=1) shows the progress bar itself",
    "RemoteMonitor": "use a LambdaCallback that sends the logs",
    "SwapEMAWeights": "meddl's optimizers keep no moving average of the weights",
}


def __getattr__(name: str):
    raise missing_name("meddl.callbacks", name, __all__, _NOT_IN_MEDDL)
