"""Read tabular files (.csv, .tsv, .parquet) into pandas DataFrames."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from meddl.errors import import_optional
from meddl.errors import DataError

__all__ = ["read_table", "TABLE_SUFFIXES"]

#: File name endings read_table understands (compressed text tables included).
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".csv.gz", ".tsv.gz")


def _table_kind(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(TABLE_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix.split(".")[1]
    return None


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a table by its suffix: ``.csv``, ``.tsv`` (optionally ``.gz``) or ``.parquet``.

    Args:
        path: The file to read. The first line of a CSV/TSV is the header.

    Returns:
        The table as a DataFrame, with pandas' type inference (numbers become
        numeric columns, text stays ``object``; empty cells become NaN).

    Raises:
        DataError: if the file is missing, is a folder, has an unsupported
            suffix, or cannot be parsed; the message names the path.
        MissingDependencyError: for ``.parquet`` without pyarrow installed.

    Example:
        >>> frame = read_table("patients.csv")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"Table file not found: '{path}'.")
    if path.is_dir():
        raise DataError(f"Expected a table file but '{path}' is a folder.")
    kind = _table_kind(path)
    if kind is None:
        raise DataError(
            f"Cannot read '{path}': unsupported file type {path.suffix or '(no suffix)'!r}. "
            f"Supported: {', '.join(TABLE_SUFFIXES)}."
        )
    if kind == "parquet":
        import_optional("pyarrow", "Reading .parquet tables")
    try:
        if kind == "parquet":
            return pd.read_parquet(path)
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",")
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"Table file '{path}' is empty (no header line).") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        # pyarrow's ArrowInvalid / ArrowIOError subclass ValueError / OSError.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Could not read {kind.upper()} table '{path}': {reason}") from exc
