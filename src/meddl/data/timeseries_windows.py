"""Keras's ``timeseries_dataset_from_array``: sliding windows over a series (vital signs, lab trends) as a DataLoader.

Window ``k`` starts at row ``start_index + k·sequence_stride`` and holds
``sequence_length`` rows taken every ``sampling_rate`` rows; its target is
``targets[start]``, the target of its first row, exactly as Keras defines it (to
predict the value after a window, pass ``targets=data[sequence_length:]`` with
``data[:-sequence_length]``). The windows are cut when a batch is drawn, so a long
recording is never copied once per window.

Example:
    >>> import numpy as np
    >>> loader = timeseries_dataset_from_array(np.arange(100), None, sequence_length=10, sampling_rate=2,
    ...                                        batch_size=2)
    >>> next(iter(loader))[0].tolist()
    [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from meddl.errors import ConfigError, DataError

__all__ = ["timeseries_dataset_from_array"]


class _Windows(Dataset):
    def __init__(self, data: np.ndarray, targets: np.ndarray | None, starts: np.ndarray, length: int, rate: int):
        self.data, self.targets, self.starts, self.length, self.rate = data, targets, starts, length, rate

    def __len__(self) -> int:
        return len(self.starts)

    def __getitem__(self, index: int):
        start = int(self.starts[index])
        window = torch.as_tensor(self.data[start:start + self.length * self.rate:self.rate])
        return window if self.targets is None else (window, torch.as_tensor(self.targets[start]))


def _positive(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"The '{argument}' parameter must be a positive integer. Got {value!r} instead.")
    return int(value)


def timeseries_dataset_from_array(data: Any, targets: Any, sequence_length: int, sequence_stride: int = 1,
                                  sampling_rate: int = 1, batch_size: int = 128, shuffle: bool = False,
                                  seed: int | None = None, start_index: int | None = None,
                                  end_index: int | None = None) -> DataLoader:
    """Sliding windows over ``data`` (rows in time order) with the target of each window's first row.

    Args:
        data: ``(timesteps, ...)`` array.
        targets: one target per row of ``data`` (the window starting there gets it), or ``None``.
        sequence_length, sequence_stride, sampling_rate: rows per window, rows between window starts,
            rows between the rows of a window.
        batch_size, shuffle, seed: as for a DataLoader (windows shuffled afresh each epoch).
        start_index, end_index: only rows ``start_index <= row < end_index`` are used.
    """
    array = np.asarray(data)
    if array.ndim < 1 or array.shape[0] == 0:
        raise DataError(f"'data' must hold one row per time step; got shape {array.shape}.")
    if array.dtype.kind == "f":
        array = array.astype(np.float32)
    if targets is not None:
        targets = np.asarray(targets)
        if len(targets) != len(array):
            raise DataError(f"'targets' must have one entry per row of 'data' ({len(array)}); got {len(targets)}.")
    length, stride = _positive(sequence_length, "sequence_length"), _positive(sequence_stride, "sequence_stride")
    rate, batch = _positive(sampling_rate, "sampling_rate"), _positive(batch_size, "batch_size")
    start = 0 if start_index is None else int(start_index)
    end = len(array) if end_index is None else int(end_index)
    if not 0 <= start < end <= len(array):
        raise ConfigError(f"start_index and end_index must satisfy 0 <= start_index < end_index <= {len(array)} "
                          f"(the rows of 'data'). Got {start_index!r} and {end_index!r}.")
    span = (length - 1) * rate + 1
    starts = np.arange(start, end - span + 1, stride)
    if len(starts) == 0:
        raise DataError(f"No window fits: a window spans {span} rows (sequence_length {length}, sampling_rate "
                        f"{rate}) but rows {start} to {end} hold {end - start}.")
    generator = torch.Generator().manual_seed(seed) if shuffle and seed is not None else None
    return DataLoader(_Windows(array, targets, starts, length, rate), batch_size=batch, shuffle=shuffle,
                      generator=generator)
