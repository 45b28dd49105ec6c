"""Turn user inputs (NumPy, pandas, torch, lists) into checked float tensors.

Every problem is reported as a :class:`~meddl.errors.DataError` naming the
argument, what was expected and what was received.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from meddl.errors import DataError

__all__ = ["as_array", "check_finite", "check_same_length", "check_input_shape"]


def as_array(value: Any, argument: str) -> np.ndarray:
    """Return ``value`` as a numeric NumPy array (no copy when it already is one)."""
    if value is None:
        raise DataError(f"'{argument}' is required; got None.")
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
    elif hasattr(value, "to_numpy") and hasattr(value, "dtypes" if hasattr(value, "columns") else "dtype"):
        array = _pandas_to_numpy(value, argument)
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise DataError(f"'{argument}' could not be read as an array: {exc}.") from None
    if array.dtype == bool:
        array = array.astype(np.float32)
    if not np.issubdtype(array.dtype, np.number):
        example = _first_non_numeric(array)
        example = example.item() if hasattr(example, "item") else example
        kind = "text" if array.dtype.kind in "USO" else str(array.dtype)
        raise DataError(f"'{argument}' must be numeric; got {kind} values such as {example!r}. "
                        "Encode text columns first (meddl.train does this for tables).")
    if array.ndim == 0:
        raise DataError(f"'{argument}' must be an array with one row per sample; got a scalar.")
    return array


def _pandas_to_numpy(value: Any, argument: str) -> np.ndarray:
    if hasattr(value, "columns"):
        bad = [str(c) for c, d in value.dtypes.items() if not (np.issubdtype(d, np.number) or d == bool)]
        if bad:
            raise DataError(f"'{argument}' must be numeric, but columns {bad[:5]} are not (dtypes "
                            f"{[str(value[c].dtype) for c in bad[:5]]}). Encode them first (meddl.train does this for tables).")
    return value.to_numpy()


def _first_non_numeric(array: np.ndarray):
    for item in array.reshape(-1)[:1000]:
        try:
            float(item)
        except (TypeError, ValueError):
            return item
    return array.reshape(-1)[0] if array.size else None


def check_finite(array: np.ndarray, argument: str) -> None:
    """Refuse NaN and infinite values, naming how many and where the first one is."""
    if np.issubdtype(array.dtype, np.floating):
        bad = ~np.isfinite(array)
        if bad.any():
            rows = np.flatnonzero(bad.reshape(bad.shape[0], -1).any(axis=1)) if array.ndim > 1 else np.flatnonzero(bad)
            raise DataError(f"'{argument}' contains {int(bad.sum())} NaN or infinite values (first in row {int(rows[0])}). "
                            "Impute or drop them first (meddl.train imputes tables for you).")


def check_same_length(x: np.ndarray, y: np.ndarray, x_name: str = "x", y_name: str = "y") -> None:
    if len(x) != len(y):
        raise DataError(f"'{x_name}' and '{y_name}' must have the same number of samples; "
                        f"got {len(x)} and {len(y)}.")


def check_input_shape(array: np.ndarray, expected: tuple[int, ...], argument: str = "x") -> None:
    """Check one sample's shape against the model's input shape, with a hint for a missing channel axis."""
    got = tuple(array.shape[1:])
    if got == tuple(expected):
        return
    hint = ""
    if len(expected) == 3 and got == tuple(expected[:2]) and expected[2] == 1:
        hint = f" Grayscale images need a channel axis: use {argument}[..., None] to get shape (N, {', '.join(map(str, expected))})."
    elif len(expected) == len(got) + 1 and expected[:-1] == got:
        hint = f" Add the last axis, e.g. {argument}[..., None]."
    raise DataError(f"The model expects '{argument}' of shape (N, {', '.join(map(str, expected))}) but got "
                    f"shape {array.shape}.{hint}")
