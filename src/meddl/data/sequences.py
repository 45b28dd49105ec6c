"""``pad_sequences``: Keras's padding of variable-length sequences (a patient's visit codes, a day's lab
draws) into one array, for an ``Embedding`` + recurrent model."""

from __future__ import annotations

from typing import Any

import numpy as np

from meddl.errors import DataError

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen: int | None = None, dtype: Any = "int32", padding: str = "pre",
                  truncating: str = "pre", value: float = 0.0) -> np.ndarray:
    """Pad (or cut) each sequence to ``maxlen`` (default: the longest) as Keras does: ``padding`` and
    ``truncating`` are ``"pre"`` (at the start, Keras's default) or ``"post"``.

    Unlike Keras, values that an integer ``dtype`` would cut (lab values such as 7.4 in ``int32``) are
    refused rather than silently truncated: pass ``dtype="float32"`` for them.

    Example:
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]]).tolist()
        [[0, 0, 1], [0, 2, 3], [4, 5, 6]]
    """
    for argument, given in (("padding", padding), ("truncating", truncating)):
        if given not in ("pre", "post"):
            raise DataError(f"The '{argument}' parameter of pad_sequences must be 'pre' or 'post'. Got {given!r} "
                            "instead.")
    try:
        rows = [np.asarray(sequence) for sequence in sequences]
    except (TypeError, ValueError):
        raise DataError("pad_sequences needs a list of sequences (lists or arrays), each of one value per step "
                        "or of equal-shaped values.") from None
    if any(row.ndim == 0 for row in rows):
        first = next(i for i, row in enumerate(rows) if row.ndim == 0)
        raise DataError(f"pad_sequences needs a list of sequences; item {first} is a single value "
                        f"({rows[first]!r}). Wrap it in a list.")
    if maxlen is not None and (isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0):
        raise DataError(f"The 'maxlen' parameter of pad_sequences must be a non-negative integer. Got {maxlen!r} "
                        "instead.")
    length = max((len(row) for row in rows), default=0) if maxlen is None else int(maxlen)
    sample_shape = next((row.shape[1:] for row in rows if len(row)), ())
    target = np.dtype(dtype)
    if np.issubdtype(target, np.integer):
        cut = next((i for i, row in enumerate(rows) if len(row) and np.issubdtype(row.dtype, np.floating)
                    and np.any(row != np.round(row))), None)
        if cut is not None:
            raise DataError(f"pad_sequences: sequence {cut} holds non-integer values (such as "
                            f"{_first_fraction(rows[cut])}), which dtype={target.name!r} would cut. Pass "
                            "dtype='float32'.")
    padded = np.full((len(rows), length, *sample_shape), value, dtype=target)
    for i, row in enumerate(rows):
        if not len(row) or not length:
            continue
        if row.shape[1:] != sample_shape:
            raise DataError(f"pad_sequences: the values of sequence {i} have shape {row.shape[1:]}, those of the "
                            f"first non-empty sequence {sample_shape}.")
        kept = row[-length:] if truncating == "pre" else row[:length]
        if padding == "post":
            padded[i, :len(kept)] = kept
        else:
            padded[i, length - len(kept):] = kept
    return padded


def _first_fraction(row: np.ndarray) -> float:
    return float(row[row != np.round(row)].flat[0])
