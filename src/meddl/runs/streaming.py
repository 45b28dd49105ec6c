"""Predictions for a large table, read and written in chunks.

``meddl predict RUN big.csv --out p.csv`` used to read the whole table, transform it, hold every
prediction and then the whole CSV text in memory: 1,000,000 rows peaked at 976 MB against 532 MB for
10 rows (issue 13, item 16). Here a CSV/TSV is read ``chunk_rows`` rows at a time (pandas ``chunksize``),
each chunk is predicted and appended to a temporary file beside ``out``, renamed into place at the end
(nothing half-written is left on an error). Row ids continue across chunks, so the output is the same as
predicting the whole table at once (tested). Measured by bench/predict_memory.py.

Anything else (Parquet, images, a DataFrame) and a CSV whose first chunk does not read cleanly are
predicted the usual way, through :func:`meddl.data.read_table`, so every error message stays the one
the data package gives.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pandas as pd

from meddl.data import read_table
from meddl.errors import DataError, UnlikeTrainingDataWarning
from meddl.io import atomic_text_writer
from meddl.runs.input_profile import InputCheck

__all__ = ["DEFAULT_CHUNK_ROWS", "FORWARD_BATCH_ROWS", "WrittenPredictions", "write_predictions"]

#: Rows per chunk: about 10-20 MB of a typical clinical table in memory at once, and few enough chunks
#: that the per-chunk overhead (one forward pass each) is negligible.
DEFAULT_CHUNK_ROWS = 49_152

#: Chunks are a whole number of the network's inference batches for a table (1024 rows, see
#: ``meddl.training.loop.inference_batch_size``): float32 results depend on the batch a row is computed in
#: (1 row alone and 1000 together differ in the 8th digit), so each row must meet the same batch as
#: when the whole table is predicted at once; then the output is identical.
FORWARD_BATCH_ROWS = 1024

_TEXT_TABLES = {".csv": ",", ".csv.gz": ",", ".tsv": "\t", ".tsv.gz": "\t"}


@dataclass
class WrittenPredictions:
    """What :func:`write_predictions` wrote: the row count and the input check of the whole input (table runs)."""

    rows: int
    input_check: InputCheck | None = None


def write_predictions(run: Any, data: Any, out: str | os.PathLike | None = None, *, runtime: str = "torch",
                      chunk_rows: int = DEFAULT_CHUNK_ROWS, stream: TextIO | None = None) -> WrittenPredictions:
    """Predict ``data`` with ``run`` and write the predictions as CSV to ``out`` (or ``stream``/stdout).

    A CSV/TSV input of a table run is streamed ``chunk_rows`` rows at a time (rounded up to a multiple of
    :data:`FORWARD_BATCH_ROWS`); the result is identical to ``run.predict(data).to_csv(index=False)``.

    Returns:
        The number of predicted rows and, for table runs, the input check summed over all chunks (a column
        empty or out of range in every row of the whole input raises one ``UnlikeTrainingDataWarning``).

    Raises:
        DataError: a chunk that cannot be read (naming the file and the rows).
        OutputPathError: ``out`` cannot be written.

    Example:
        >>> write_predictions(meddl.load_run("runs/dx"), "patients.csv", "predictions.csv")  # doctest: +SKIP
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise DataError(f"The 'chunk_rows' parameter of write_predictions must be an integer >= 1. "
                        f"Got {chunk_rows!r} instead.")
    chunk_rows = -(-chunk_rows // FORWARD_BATCH_ROWS) * FORWARD_BATCH_ROWS
    if out is None:
        written = _write_chunks(run, data, runtime, chunk_rows, stream if stream is not None else sys.stdout)
    else:
        with atomic_text_writer(out) as handle:
            written = _write_chunks(run, data, runtime, chunk_rows, handle)
    for message in written.input_check.column_warnings() if written.input_check is not None else ():
        warnings.warn(message, UnlikeTrainingDataWarning, stacklevel=2)
    return written


def _write_chunks(run: Any, data: Any, runtime: str, chunk_rows: int, handle: TextIO) -> WrittenPredictions:
    written = WrittenPredictions(0)
    for chunk in _input_chunks(run, data, chunk_rows):
        try:
            predictions, check = run.predict_with_input_check(chunk, runtime=runtime)
        except DataError as exc:
            if chunk is data or not isinstance(data, (str, Path)):  # read by the run: its errors name the file
                raise
            raise DataError(f"Table file '{data}': {exc}") from None
        predictions.to_csv(handle, index=False, header=written.rows == 0)
        written.rows += len(predictions)
        if check is not None:
            check.row_warnings, check.row_notes = [], []  # written already; only the counts are summed
            written.input_check = check if written.input_check is None else written.input_check.combine(check)
    return written


def _input_chunks(run: Any, data: Any, chunk_rows: int) -> Iterator[Any]:
    """The input in pieces: chunks of a CSV/TSV for a table run, else the input itself once."""
    separator = _text_table_separator(data) if run.info["input"]["kind"] == "table" else None
    if separator is None:
        yield data
        return
    path = Path(data)
    # the training file's encoding and separator (data.encoding, data.sep), as Run.predict reads a table
    table_options = {"encoding": getattr(run.config.data, "encoding", None),
                     "sep": getattr(run.config.data, "sep", None)}
    text_options = {"sep": table_options["sep"] or separator, "encoding": table_options["encoding"] or "utf-8"}
    try:
        header = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False, **text_options)
        names = [str(name) for name in header.iloc[0]]
        reader = pd.read_csv(path, chunksize=chunk_rows, **text_options)
        first = next(reader)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, LookupError, ValueError, OSError,
            IndexError, StopIteration):
        yield read_table(path, **table_options)  # the data package's own reading and error messages
        return
    expected = getattr(run.preprocessor, "input_columns_", [])
    if first.empty or len(set(names)) < len(names) or any(column not in first.columns for column in expected):
        reader.close()
        # a header without rows, a repeated name, another separator: read (or refused) as a whole
        yield read_table(path, **table_options)
        return
    with reader:
        yield first
        start = len(first)
        while True:
            try:
                chunk = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise DataError(f"Table file '{path}' is not {text_options['encoding']} text after data row {start}; "
                                "it looks like another encoding, e.g. latin-1 or cp1252 from Excel. Set data.encoding "
                                "in the run's config, or save the file as UTF-8.") from None
            except (pd.errors.ParserError, ValueError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise DataError(f"Could not read table '{path}' after data row {start}: {reason}") from None
            yield chunk
            start += len(chunk)


def _text_table_separator(data: Any) -> str | None:
    if not isinstance(data, (str, Path)):
        return None
    name = Path(data).name.lower()
    if not Path(data).is_file():
        return None
    return next((sep for suffix, sep in _TEXT_TABLES.items() if name.endswith(suffix)), None)
