"""Read tabular files (.csv, .tsv, .parquet) into pandas DataFrames."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd

from meddl.errors import import_optional
from meddl.errors import DataError

__all__ = ["read_table", "check_column_names", "TABLE_SUFFIXES"]

#: File name endings read_table understands (compressed text tables included).
TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".csv.gz", ".tsv.gz")


def _table_kind(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in sorted(TABLE_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix.split(".")[1]
    return None


def read_table(path: str | os.PathLike, *, encoding: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """Read a table by its suffix: ``.csv``, ``.tsv`` (optionally ``.gz``) or ``.parquet``.

    Args:
        path: The file to read. The first line of a CSV/TSV is the header.
        encoding: Text encoding of a CSV/TSV (default UTF-8; e.g. ``"latin-1"``
            for many Excel exports). ``data.encoding`` in a config.
        sep: Column separator of a CSV/TSV (default ``","``, ``"\t"`` for .tsv).
            ``data.sep`` in a config.

    Returns:
        The table as a DataFrame, with pandas' type inference (numbers become
        numeric columns, text stays ``object``; empty cells become NaN).

    Raises:
        DataError: if the file is missing, is a folder, has an unsupported
            suffix, cannot be parsed, is not in the expected encoding, looks
            separated by another character (";", tab, "|"), repeats a column
            name, or has a header but no data rows; the message names the path
            and the fix.
        MissingDependencyError: for ``.parquet`` without pyarrow installed.

    Example:
        >>> frame = read_table("patients.csv")  # doctest: +SKIP
        >>> frame = read_table("export.csv", encoding="latin-1", sep=";")  # doctest: +SKIP
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
        frame = _parse(path, kind, pd.read_parquet, path)
        check_column_names(list(frame.columns), path)
        return frame
    if not path.name.lower().endswith(".gz") and _starts_with(path, _PARQUET_MAGIC):
        # else pandas reads the binary as text and the error blames the encoding
        raise DataError(f"Table file '{path}' is a Parquet file (it starts with Parquet's signature 'PAR1'), not "
                        f"{kind.upper()} text; give it the suffix .parquet (data.source: parquet in a config).")
    separator = sep if sep is not None else ("\t" if kind == "tsv" else ",")
    text_options = {"sep": separator, "encoding": encoding or "utf-8"}
    # The header as written: pandas renames a repeated 'age' to 'age.1' when it builds the frame.
    header = _parse(path, kind, pd.read_csv, path, header=None, nrows=1, dtype=str, keep_default_na=False,
                    **text_options)
    names = [str(v) for v in header.iloc[0]] if len(header) else []
    if len(names) == 1:
        _refuse_other_separator(path, names[0], separator)
    check_column_names(names, path)
    frame = _parse(path, kind, pd.read_csv, path, **text_options)
    if frame.empty and len(frame.columns):
        raise DataError(f"Table file '{path}' has a header ({len(frame.columns)} columns) but no data rows.")
    return frame


_PARQUET_MAGIC = b"PAR1"


def _starts_with(path: Path, signature: bytes) -> bool:
    with open(path, "rb") as file:
        return file.read(len(signature)) == signature


def _parse(path: Path, kind: str, reader, *args, **kwargs) -> pd.DataFrame:
    """Call a pandas reader, turning its errors into one DataError that names the file and the fix."""
    try:
        return reader(*args, **kwargs)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"Table file '{path}' is empty (no header line).") from exc
    except UnicodeDecodeError as exc:
        encoding = kwargs.get("encoding") or "utf-8"
        raise DataError(
            f"Table file '{path}' is not {encoding} text (byte 0x{exc.object[exc.start]:02x} on line "
            f"{_first_undecodable_line(path, encoding)}); it looks like another encoding, e.g. latin-1 or cp1252 "
            f"from Excel. Set "
            f"data.encoding: latin-1 in the config (encoding='latin-1' in read_table), or save the file as UTF-8."
        ) from None
    except LookupError as exc:  # an unknown encoding name
        raise DataError(f"Cannot read '{path}': {exc}. Use an encoding name such as 'utf-8' or 'latin-1'.") from None
    except (pd.errors.ParserError, ValueError, OSError, TypeError, IndexError) as exc:
        # pyarrow's ArrowInvalid / ArrowIOError subclass ValueError / OSError.
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Could not read {kind.upper()} table '{path}': {reason}") from exc


def _first_undecodable_line(path: Path, encoding: str) -> int | str:
    """The 1-based line holding the first byte that is not ``encoding`` (read again only when reading failed)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    line.decode(encoding)
                except UnicodeDecodeError:
                    return number
    except (OSError, LookupError):
        pass
    return "?"


def _refuse_other_separator(path: Path, header: str, separator: str) -> None:
    """A one-column table whose header holds ';', a tab or '|' was almost surely split by that character."""
    for candidate, name in ((",", "','"), (";", "';'"), ("\t", "a tab"), ("|", "'|'")):
        if candidate != separator and candidate in header:
            raise DataError(
                f"Table file '{path}' has one column, {header[:60]!r}, which looks separated by {name}, "
                f"not {separator!r}. Set data.sep: {candidate!r} in the config (sep={candidate!r} in read_table)."
            )


def check_column_names(names: list[str], path: str | os.PathLike | None = None) -> None:
    """Refuse a header that repeats a column name (pandas would silently rename the second to ``'age.1'``)."""
    seen, repeated = set(), []
    for name in names:
        if name in seen and name not in repeated:
            repeated.append(name)
        seen.add(name)
    if repeated:
        where = f"Table file '{path}'" if path is not None else "The table"
        raise DataError(f"{where} repeats column name(s) {repeated}: each column needs its own name. "
                        f"Rename the repeated columns in the header.")
