"""Keras's ``keras.optimizers`` namespace: optimizer classes, ``get`` and learning-rate ``schedules``.

Example:
    >>> import meddl
    >>> optimizer = meddl.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True)
"""

from meddl.training import schedules
from meddl.training.optimizers import (SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, Optimizer, RMSprop,
                                       get)
from meddl.errors import missing_name

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "Adamax", "AdamW", "Nadam", "Optimizer", "RMSprop", "get",
           "schedules"]

def __getattr__(name: str):
    raise missing_name("meddl.optimizers", name, __all__)
