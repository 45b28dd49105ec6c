"""``PyDataset`` (Keras 2's ``Sequence``): batches by index, for data that is read or made batch by batch.

Subclass it, return the number of batches from ``__len__`` and batch ``index`` from ``__getitem__``
(``(x, y)``, ``(x, y, sample_weight)``, or ``x`` alone for ``predict``); ``fit``, ``evaluate`` and
``predict`` take it as they take a DataLoader. Each epoch of ``fit`` reads every batch once, in a new
order when ``fit(shuffle=True)`` (as Keras), and calls ``on_epoch_begin`` / ``on_epoch_end`` around it
(where a subclass reshuffles its rows).

Example:
    >>> import math, numpy as np, meddl
    >>> class Rows(meddl.utils.PyDataset):
    ...     def __init__(self, x, y, batch_size=16, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.x, self.y, self.batch_size = x, y, batch_size
    ...     def __len__(self):
    ...         return math.ceil(len(self.x) / self.batch_size)
    ...     def __getitem__(self, index):
    ...         rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
    ...         return self.x[rows], self.y[rows]
    >>> len(Rows(np.zeros((40, 3)), np.zeros(40)))
    3
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch

__all__ = ["PyDataset", "Sequence"]


class PyDataset:
    """Base class of a data set served batch by batch (Keras's ``keras.utils.PyDataset``).

    ``workers``, ``use_multiprocessing`` and ``max_queue_size`` are Keras's settings for reading batches in
    parallel; they are kept on the object, and meddl reads the batches one by one in the calling process.
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False, max_queue_size: int = 10):
        self.workers, self.use_multiprocessing, self.max_queue_size = workers, use_multiprocessing, max_queue_size

    def __getitem__(self, index: int):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__(index), returning batch 'index'.")

    @property
    def num_batches(self) -> int | None:
        """The number of batches (``__len__``), or ``None`` for a data set without end."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__} must define __len__ (the number of batches) or the "
                                  "num_batches property.")

    def on_epoch_begin(self) -> None:
        """Called before each epoch of ``fit``."""

    def on_epoch_end(self) -> None:
        """Called after each epoch of ``fit`` (e.g. to reshuffle the rows)."""

    def __iter__(self) -> Iterator:
        count = self.num_batches
        for index in (range(count) if count is not None else itertools.count()):
            yield self[index]


Sequence = PyDataset  # Keras 2's name, which Keras 3 keeps


def epoch_batches(dataset: PyDataset, shuffle: bool = False) -> Iterator:
    """One epoch of ``dataset``'s batches (in a random order with ``shuffle``, drawn from torch's seeded
    generator), between its ``on_epoch_begin`` and ``on_epoch_end``."""
    dataset.on_epoch_begin()
    try:
        count = dataset.num_batches
        if count is None:
            indices: Iterator = itertools.count()
        else:
            indices = iter(torch.randperm(count).tolist() if shuffle else range(count))
        for index in indices:
            yield dataset[index]
    finally:  # also when steps_per_epoch stops the epoch early
        dataset.on_epoch_end()
