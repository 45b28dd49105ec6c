"""Find columns that identify patients, so they are not used as features.

An identifier as a feature lets the model memorise patients and leaks them: a
``name`` column of 40 patients was one-hot encoded and stored 81 times in
``preprocessing.json``, and a numeric MRN column was used as a number. The checks
look at the distinct values of each column once (vectorised), and messages give
counts only, never a value from the data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from meddl.errors import DataError

__all__ = ["find_identifier_columns", "check_no_identifier_features"]

# Column names that only ever hold identifying data (compared lower-case, with spaces/dashes as "_").
_IDENTIFYING_NAMES = frozenset({
    "name", "names", "patient_name", "patientname", "full_name", "first_name", "firstname", "given_name",
    "last_name", "lastname", "surname", "family_name", "mrn", "medical_record_number", "record_number",
    "ssn", "social_security_number", "nhs_number", "insurance_number", "email", "e_mail", "phone",
    "telephone", "address", "street", "dob", "date_of_birth", "birth_date", "birthdate", "birthday",
    "id", "patient_id", "patientid", "subject_id", "case_id", "record_id",
})
_ID_SUFFIXES = ("_id", "_mrn", "_number")
# At least this many rows before "every value is different" means something.
_MIN_ROWS = 20
_NEAR_UNIQUE = 0.9
_PATTERN_SAMPLE = 2000
_PERSON_NAME = r"^[A-Z][a-z'\-]+(?:,?\s+[A-Z][a-z'\-.]*){1,3}$"
_DATE = r"^\s*(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(?:[ T][\d:.]+)?\s*$"


def _normalised(name: object) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip()).lower()


def _identifier_reason(series: pd.Series) -> str | None:
    """Why a column looks like an identifier (counts only), or ``None``."""
    name = _normalised(series.name)
    present = series.dropna()
    n = len(present)
    if name in _IDENTIFYING_NAMES or name.endswith(_ID_SUFFIXES):
        return "its name is that of an identifier"
    if n == 0:
        return None
    if pd.api.types.is_bool_dtype(present):
        return None
    if pd.api.types.is_numeric_dtype(present):
        values = present.to_numpy(dtype=float)
        if not np.all(np.isfinite(values)):  # infinite values are refused later, naming the rows; not an id either
            return None
        # measurements are rarely whole numbers: the first values usually settle it without a pass over all
        if n < _MIN_ROWS or not np.all(np.mod(values[:100], 1) == 0) or not np.all(np.mod(values, 1) == 0):
            return None
        distinct = np.unique(values)
        if len(distinct) < n:
            return None
        if len(distinct) == distinct[-1] - distinct[0] + 1:
            return f"integers, all {n} different and consecutive (a row number or record id)"
        digits = np.unique(np.floor(np.log10(np.maximum(np.abs(values), 1))) + 1)
        if len(digits) == 1 and digits[0] >= 5:
            return f"integers, all {n} different, each with {int(digits[0])} digits (like a record number)"
        return None
    if not (pd.api.types.is_object_dtype(present) or pd.api.types.is_string_dtype(present)):
        return None
    distinct = pd.Series(pd.unique(present.to_numpy(dtype=object))).astype(str)
    sample = distinct.iloc[:_PATTERN_SAMPLE]  # shapes (dates, names) are judged on the first distinct values
    if n >= 5 and sample.str.match(_DATE).mean() >= 0.9:
        return f"dates in {n} rows (a date of birth or visit identifies a patient; use an age or a duration)"
    if len(distinct) < max(5, _NEAR_UNIQUE * n):
        return None
    if sample.str.match(_PERSON_NAME).mean() >= 0.8:
        return f"text shaped like person names, {len(distinct)} different in {n} rows"
    if n >= _MIN_ROWS:
        return f"text with {len(distinct)} different values in {n} rows"
    return None


def find_identifier_columns(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> dict[str, str]:
    """Columns of ``frame`` that look like patient identifiers, each with the reason (counts only).

    Looked for: names of identifying fields (``name``, ``mrn``, ``dob``, ``*_id``, ...),
    near-unique text (at least 90% of the values different), text shaped like person
    names, dates (of birth), and integers that are all different and either
    consecutive or of one fixed width of 5 or more digits (record numbers).

    Example:
        >>> frame = pd.DataFrame({"mrn": range(1000001, 1000041), "age": [50, 60] * 20})
        >>> find_identifier_columns(frame)
        {'mrn': 'its name is that of an identifier'}
    """
    columns = list(frame.columns) if columns is None else list(columns)
    found = {}
    for column in columns:
        reason = _identifier_reason(frame[column])
        if reason:
            found[str(column)] = reason
    return found


def check_no_identifier_features(frame: pd.DataFrame, columns: Sequence[str], *, where: str = "the table") -> None:
    """Refuse identifier-like columns among the automatically chosen features.

    Columns listed explicitly in ``data.features`` are never checked: listing them
    says they are meant.

    Raises:
        DataError: naming each column and why it looks like an identifier (counts
            only), and the fix: ``data.patient_id``, ``data.exclude`` or ``data.features``.
    """
    found = find_identifier_columns(frame, columns)
    if not found:
        return
    listed = "; ".join(f"{column!r} ({reason})" for column, reason in found.items())
    raise DataError(
        f"{len(found)} column(s) of {where} look like patient identifiers and would become features: {listed}. "
        f"A model must not learn who a patient is, and the saved preprocessing would keep these values. "
        f"Set data.patient_id to the column that identifies patients (their rows then stay in one split), "
        f"add the others to data.exclude, or list the columns to use in data.features if they are meant."
    )
