"""Keras's ``keras.utils`` namespace: ``to_categorical``, ``normalize``, ``pad_sequences``, ``set_random_seed``,
``plot_model``, ``image_dataset_from_directory``, ``timeseries_dataset_from_array``, ``custom_object_scope`` and
``register_keras_serializable`` (with ``get_custom_objects`` and ``get_registered_name``), and ``PyDataset``
(Keras 2's ``Sequence``) for data served batch by batch.

Example:
    >>> import meddl
    >>> meddl.utils.to_categorical([0, 2, 1]).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
"""

from __future__ import annotations

import numpy as np

from meddl.data.directory_dataset import image_dataset_from_directory
from meddl.data.sequences import pad_sequences
from meddl.data.timeseries_windows import timeseries_dataset_from_array
from meddl.errors import DataError, missing_name
from meddl.saving import custom_object_scope, get_custom_objects, get_registered_name, register_keras_serializable
from meddl.models.plot import plot_model
from meddl.models.py_dataset import PyDataset, Sequence
from meddl.training.seeding import set_seed

__all__ = ["PyDataset", "Sequence", "custom_object_scope", "get_custom_objects", "get_registered_name",
           "image_dataset_from_directory", "normalize", "pad_sequences", "plot_model", "register_keras_serializable", "set_random_seed",
           "timeseries_dataset_from_array", "to_categorical"]


def to_categorical(y, num_classes: int | None = None) -> np.ndarray:
    """One-hot encode integer class labels: shape ``(..., num_classes)``, float32 (Keras's).

    A trailing axis of size 1 is dropped first, as in Keras, so ``(n, 1)`` labels give ``(n, classes)``.
    """
    labels = np.asarray(y)
    if labels.size and (not np.issubdtype(labels.dtype, np.number) or np.any(labels != np.round(labels))
                        or labels.min() < 0):
        raise DataError("to_categorical needs non-negative integer class labels (0, 1, 2, ...). Encode text labels "
                        "first, e.g. with sklearn.preprocessing.LabelEncoder.")
    labels = labels.astype(np.int64)
    if labels.ndim > 1 and labels.shape[-1] == 1:
        labels = labels[..., 0]
    classes = int(labels.max()) + 1 if num_classes is None and labels.size else int(num_classes or 0)
    if labels.size and labels.max() >= classes:
        raise DataError(f"to_categorical: labels go up to {int(labels.max())}, but num_classes={num_classes}. "
                        f"Use num_classes >= {int(labels.max()) + 1}.")
    return np.eye(classes, dtype=np.float32)[labels]


def normalize(x, axis: int = -1, order: int = 2) -> np.ndarray:
    """Divide ``x`` by its ``order``-norm along ``axis`` (Keras's ``normalize``); all-zero rows stay zero."""
    x = np.asarray(x, dtype=float)
    norms = np.atleast_1d(np.linalg.norm(x, order, axis))
    norms[norms == 0] = 1
    return x / np.expand_dims(norms, axis)


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy and torch at once (Keras's name for :func:`meddl.set_seed`)."""
    set_seed(seed)

def __getattr__(name: str):
    raise missing_name("meddl.utils", name, __all__)
