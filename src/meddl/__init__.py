"""meddl — deep learning for medicine, Keras-style on PyTorch.

Example:
    >>> from meddl import Sequential
    >>> from meddl.layers import Dense
    >>> model = Sequential([Dense(1, activation="sigmoid", input_shape=(30,))])
    >>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "auc"])
"""

from meddl.errors import ConfigError, DataError, MeddlError, ModelFileError, NotFittedError
from meddl.models import Model, Sequential, load_model
from meddl.layers import Input
from meddl import (activations, backend, callbacks, initializers, losses, metrics, models, ops,  # Keras's
                   optimizers, random, regularizers, utils)  # namespaces
from meddl.runs import Run, RunConfig, load_config, load_run
from meddl.studies import cross_validate, learning_curve, pretrain
from meddl.studies.auto import train  # meddl.runs.train, plus model.preset 'auto' and MLflow tracking
from meddl.training import History, set_seed
from meddl.version import __version__

__all__ = [
    "ConfigError",
    "DataError",
    "History",
    "Input",
    "MeddlError",
    "Model",
    "ModelFileError",
    "NotFittedError",
    "Run",
    "RunConfig",
    "Sequential",
    "__version__",
    "callbacks",
    "cross_validate",
    "learning_curve",
    "load_config",
    "load_model",
    "load_run",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "pretrain",
    "regularizers",
    "activations",
    "backend",
    "initializers",
    "ops",
    "random",
    "set_seed",
    "train",
    "utils",
]
