"""Training: the loop, losses, optimizers, metrics and callbacks (knows nothing of medicine)."""

from meddl.training import losses, metrics, optimizers
from meddl.training.callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from meddl.training.history import History
from meddl.training.loop import TrainingLoop, resolve_device
from meddl.training.seeding import set_seed

__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "ModelCheckpoint",
    "ReduceLROnPlateau",
    "TrainingLoop",
    "losses",
    "metrics",
    "optimizers",
    "resolve_device",
    "set_seed",
]
