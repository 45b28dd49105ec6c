"""meddl — deep learning for medicine, Keras-style on PyTorch.

Example:
    >>> from meddl import Sequential
    >>> from meddl.layers import Dense
    >>> model = Sequential([Dense(1, activation="sigmoid", input_shape=(30,))])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "auc"])
"""

__version__ = "0.1.0"

from meddl.errors import ConfigError, DataError, MeddlError, ModelFileError, NotFittedError
from meddl.models import Sequential, load_model
from meddl.tasks import Run, RunConfig, cross_validate, learning_curve, load_config, load_run, pretrain, train
from meddl.training import History, set_seed

__all__ = [
    "ConfigError",
    "DataError",
    "History",
    "MeddlError",
    "ModelFileError",
    "NotFittedError",
    "Run",
    "RunConfig",
    "Sequential",
    "__version__",
    "cross_validate",
    "learning_curve",
    "load_config",
    "load_model",
    "load_run",
    "pretrain",
    "set_seed",
    "train",
]
