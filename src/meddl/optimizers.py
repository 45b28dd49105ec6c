"""Keras's ``keras.optimizers`` namespace: optimizer classes, ``get`` and learning-rate ``schedules``.

Example:
    >>> import meddl
    >>> optimizer = meddl.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
"""

from meddl.training import schedules
from meddl.training.optimizers import SGD, Adam, AdamW, Optimizer, RMSprop, get

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "RMSprop", "get", "schedules"]
