"""Checks on label and target columns, with messages that name the column and rows."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from meddl.errors import DataError

__all__ = ["check_labels", "describe_rows", "show_values"]


def describe_rows(row_labels: Sequence, limit: int = 5) -> str:
    """Format the first few row labels for an error message: ``"rows 3, 7 and 2 more"``.

    Args:
        row_labels: Row labels (a DataFrame index, or positions) of the offending rows.
        limit: How many to list before summarising the rest as a count.
    """
    row_labels = list(row_labels)
    shown = ", ".join(str(r) for r in row_labels[:limit])
    more = f" and {len(row_labels) - limit} more" if len(row_labels) > limit else ""
    noun = "row" if len(row_labels) == 1 else "rows"
    return f"{noun} {shown}{more}"


def show_values(values, limit: int = 3) -> str:
    """Format the first few distinct values for an error message: ``"'abc', -2.0"``."""
    shown = []
    for value in pd.unique(pd.Series(list(values), dtype=object))[:limit]:
        shown.append(repr(value.item() if isinstance(value, np.generic) else value))
    return ", ".join(shown)


def row_labels_of(values) -> np.ndarray:
    """Row labels to show users: the index of a pandas object, else positions 0..n-1."""
    if isinstance(values, (pd.Series, pd.DataFrame)):
        return np.asarray(values.index)
    return np.arange(len(values))


def check_labels(labels, name: str = "label"):
    """Refuse labels with missing values, with a count and the first offending rows.

    Args:
        labels: A pandas Series, numpy array or list of labels (one per row).
        name: The label column's name, used in the message.

    Returns:
        ``labels``, unchanged, so the call can be chained.

    Raises:
        DataError: if ``labels`` is empty or holds missing values (NaN, None, NaT).

    Example:
        >>> check_labels(pd.Series([0, 1, None]), name="diagnosis")
        Traceback (most recent call last):
        ...
        meddl.errors.DataError: 1 row has a missing value in label column 'diagnosis'; \
drop or fill them before training. Missing at row 2.
    """
    values = labels if isinstance(labels, (pd.Series, np.ndarray)) else np.asarray(labels, dtype=object)
    if len(values) == 0:
        raise DataError(f"Label column {name!r} is empty: there are no rows to train on.")
    missing = np.asarray(pd.isna(values))
    if missing.ndim > 1:
        missing = missing.reshape(len(values), -1).any(axis=1)
    count = int(missing.sum())
    if count:
        rows = row_labels_of(values)[missing]
        verb = "row has" if count == 1 else "rows have"
        raise DataError(
            f"{count} {verb} a missing value in label column {name!r}; drop or fill them "
            f"before training. Missing at {describe_rows(rows)}."
        )
    return labels
