"""Training: the loop, losses, optimizers, metrics and callbacks (knows nothing of medicine)."""

from meddl.training import losses, metrics, optimizers
from meddl.training.callbacks import (Callback, EarlyStopping, MemoryMonitor, ModelCheckpoint, ReduceLROnPlateau,
                                      peak_memory_mb)
from meddl.training.history import History
from meddl.training.loop import TrainingLoop, resolve_device
from meddl.training.seeding import set_seed

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "MemoryMonitor",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TrainingLoop",
    "losses",
    "metrics",
    "optimizers",
    "peak_memory_mb",
    "resolve_device",
    "set_seed",
]
