"""Seeded train/validation/test splits and cross-validation folds.

Splits are stratified by class when possible and grouped by patient when
``groups`` is given (every patient lands in exactly one split), using
scikit-learn's splitters. When stratification is impossible (a class is too
small), the split falls back to an unstratified one and says so in ``notes``.
"""

from __future__ import annotations

import hashlib
import numbers
import warnings

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupShuffleSplit,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)

from meddl.data.checks import check_labels
from meddl.errors import ConfigError, DataError

__all__ = [
    "SplitIndices",
    "CrossValidationFolds",
    "train_val_test_split",
    "kfold_splits",
    "split_assignments",
    "split_fingerprint",
]

# A float target with at most this many distinct integral values is treated as class labels.
_MAX_CLASSES_FOR_FLOAT = 20


class SplitIndices(tuple):
    """``(train, val, test)`` row positions (sorted int64 arrays), plus how they were made.

    Unpacks like a tuple: ``train, val, test = train_val_test_split(y)``.

    Attributes:
        train, val, test: The index arrays.
        stratified: Whether every part was stratified by class.
        grouped: Whether rows were kept together by ``groups``.
        notes: Human-readable notes (e.g. why stratification was dropped), for the run log.
    """

    def __new__(cls, train, val, test, *, stratified=False, grouped=False, notes=()):
        self = super().__new__(cls, (train, val, test))
        self.stratified = stratified
        self.grouped = grouped
        self.notes = list(notes)
        return self

    train = property(lambda self: self[0])
    val = property(lambda self: self[1])
    test = property(lambda self: self[2])


class CrossValidationFolds(list):
    """A list of ``(train, val)`` index-array pairs, with ``notes`` on how they were made."""

    def __init__(self, folds, *, stratified=False, grouped=False, notes=()):
        super().__init__(folds)
        self.stratified = stratified
        self.grouped = grouped
        self.notes = list(notes)


# ------------------------------------------------------------------ validation
def _check_fraction(value, name: str, function: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ConfigError(
            f"The {name!r} parameter of {function} must be a float in the range [0, 1). Got {value!r} instead."
        )
    return float(value)


def _check_int(value, name: str, function: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ConfigError(
            f"The {name!r} parameter of {function} must be an integer >= {minimum}. Got {value!r} instead."
        )
    return int(value)


def _as_1d(values, name: str, n: int | None = None) -> np.ndarray:
    array = np.asarray(values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else values)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(f"{name!r} must be one-dimensional (one value per row). Got shape {array.shape}.")
    if n is not None and len(array) != n:
        raise DataError(f"{name!r} has {len(array)} values but there are {n} rows.")
    return array


def _rows_and_labels(n_or_y, function: str) -> tuple[int, np.ndarray | None]:
    if isinstance(n_or_y, numbers.Integral) and not isinstance(n_or_y, bool):
        if n_or_y < 2:
            raise ConfigError(f"{function} needs at least 2 rows. Got n={n_or_y}.")
        return int(n_or_y), None
    y = _as_1d(n_or_y, "y")
    if len(y) < 2:
        raise DataError(f"{function} needs at least 2 rows. Got {len(y)}.")
    return len(y), y


def _looks_categorical(y: np.ndarray) -> bool:
    if y.dtype.kind in "biuOUS":
        return True
    if y.dtype.kind == "f":
        finite = y[np.isfinite(y)]
        return bool(np.all(finite == np.round(finite))) and len(np.unique(finite)) <= _MAX_CLASSES_FOR_FLOAT
    return False


def _resolve_strata(stratify, y: np.ndarray | None, n: int, function: str, notes: list[str]):
    if stratify is None:
        if y is None:
            return None
        if not _looks_categorical(y):
            notes.append("Not stratified: the target looks continuous (stratification needs class labels).")
            return None
        strata = y
    elif stratify is True:
        if y is None:
            raise ConfigError(f"{function}(stratify=True) needs the labels y, not a row count.")
        strata = y
    elif stratify is False:
        return None
    else:
        strata = _as_1d(stratify, "stratify", n)
    check_labels(strata, name="stratify")
    return np.asarray(pd.Series(strata).astype(str))


def _resolve_groups(groups, n: int):
    if groups is None:
        return None
    groups = _as_1d(groups, "groups", n)
    if pd.isna(groups).any():
        count = int(pd.isna(groups).sum())
        raise DataError(f"'groups' (patient ids) has {count} missing values; every row needs a patient id.")
    return np.asarray(pd.Series(groups).astype(str))


def _class_summary(strata: np.ndarray) -> str:
    labels, counts = np.unique(strata, return_counts=True)
    smallest = int(np.argmin(counts))
    count = counts[smallest]
    return f"the smallest class {labels[smallest]!r} has {count} row{'s' if count != 1 else ''}"


# ------------------------------------------------------------------ splitting
def _split_off(indices, fraction, strata, groups, seed, part, notes):
    """Split ``indices`` into (rest, part) where part holds about ``fraction`` of them."""
    if fraction == 0:
        return indices, indices[:0], strata is not None
    sub_strata = None if strata is None else strata[indices]
    if groups is None:
        # An absolute count avoids float round-up (0.15 / 0.85 * 85 = 15.000000000000002 -> 16).
        count = max(1, int(round(fraction * len(indices))))
        if sub_strata is not None:
            try:
                rest, chosen = train_test_split(indices, test_size=count, stratify=sub_strata, random_state=seed)
                return rest, chosen, True
            except ValueError:
                notes.append(
                    f"The {part} split is not stratified: {_class_summary(sub_strata)}; stratifying needs "
                    f"at least 2 rows per class and room for every class in each part."
                )
        try:
            rest, chosen = train_test_split(indices, test_size=count, random_state=seed)
        except ValueError as exc:
            raise DataError(f"Cannot make a {part} split of {fraction:.0%} from {len(indices)} rows: {exc}") from exc
        return rest, chosen, False

    sub_groups = groups[indices]
    n_groups = len(np.unique(sub_groups))
    if n_groups < 2:
        raise DataError(f"Cannot make a {part} split: only {n_groups} patient group left; need at least 2.")
    if sub_strata is not None:
        # StratifiedGroupKFold gives one fold of about 1/k of the patients; for fractions above
        # one half, the complement of a fold of size (1 - fraction) is used instead.
        k = max(2, round(1 / min(fraction, 1 - fraction)))
        if k <= n_groups:
            splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fold_rest, fold = next(splitter.split(indices, sub_strata, sub_groups))
            for warning in caught:
                notes.append(f"{part} split: {warning.message}")
            rest, chosen = (fold_rest, fold) if fraction <= 0.5 else (fold, fold_rest)
            return indices[rest], indices[chosen], True
        notes.append(
            f"The {part} split is not stratified: {n_groups} patient groups are too few for a "
            f"stratified group split of {fraction:.0%}."
        )
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    try:
        rest, chosen = next(splitter.split(indices, groups=sub_groups))
    except ValueError as exc:
        raise DataError(f"Cannot make a {part} split of {fraction:.0%} from {n_groups} patient groups: {exc}") from exc
    return indices[rest], indices[chosen], False


def train_val_test_split(
    n_or_y,
    *,
    val_size: float = 0.15,
    test_size: float = 0.15,
    stratify=None,
    groups=None,
    seed: int = 0,
) -> SplitIndices:
    """Split rows into seeded train / validation / test index arrays.

    Args:
        n_or_y: The number of rows, or the labels (one per row).
        val_size: Fraction of rows (of patients, with ``groups``) for validation; 0 for none.
        test_size: Fraction of rows (of patients, with ``groups``) for testing; 0 for none.
        stratify: ``None`` stratifies by ``y`` when it looks like class labels;
            ``True`` requires labels; ``False`` never stratifies; an array
            (e.g. the event indicator of a survival table) stratifies on it.
        groups: Patient ids, one per row: every patient lands in exactly one
            split (fractions are then approximate, as patients are not split).
        seed: Random seed; the same inputs and seed give the same split.

    Returns:
        :class:`SplitIndices` ``(train, val, test)`` with ``notes`` on
        anything that did not go as asked (e.g. a class too small to stratify).

    Example:
        >>> train, val, test = train_val_test_split([0, 1] * 50, seed=1)
        >>> len(train), len(val), len(test)
        (70, 15, 15)
    """
    function = "train_val_test_split"
    val_size = _check_fraction(val_size, "val_size", function)
    test_size = _check_fraction(test_size, "test_size", function)
    seed = _check_int(seed, "seed", function, 0)
    if val_size + test_size >= 1:
        raise ConfigError(
            f"val_size + test_size must be below 1 so rows are left for training. "
            f"Got {val_size} + {test_size} = {val_size + test_size}."
        )
    n, y = _rows_and_labels(n_or_y, function)
    notes: list[str] = []
    strata = _resolve_strata(stratify, y, n, function, notes)
    group_ids = _resolve_groups(groups, n)

    indices = np.arange(n)
    rest, test, test_stratified = _split_off(indices, test_size, strata, group_ids, seed, "test", notes)
    val_fraction = val_size / (1 - test_size)
    train, val, val_stratified = _split_off(rest, val_fraction, strata, group_ids, seed + 1, "validation", notes)
    if len(train) == 0:
        raise DataError(f"The training split is empty: {n} rows are too few for these split sizes.")
    return SplitIndices(
        np.sort(train).astype(np.int64),
        np.sort(val).astype(np.int64),
        np.sort(test).astype(np.int64),
        stratified=strata is not None and test_stratified and val_stratified,
        grouped=group_ids is not None,
        notes=notes,
    )


def kfold_splits(
    y,
    folds: int = 5,
    repeats: int = 1,
    groups=None,
    seed: int = 0,
    *,
    stratify=None,
) -> CrossValidationFolds:
    """Seeded (repeated) k-fold cross-validation splits, stratified and patient-grouped.

    Args:
        y: Labels (one per row), or the number of rows.
        folds: Number of folds (>= 2).
        repeats: Number of repetitions with different shuffles (seed, seed+1, ...).
        groups: Patient ids: all rows of a patient fall in the same fold.
        seed: Random seed.
        stratify: As in :func:`train_val_test_split`.

    Returns:
        :class:`CrossValidationFolds`: ``folds * repeats`` pairs ``(train, val)``
        of sorted int64 index arrays, in repeat-major order, with ``notes``.
    """
    function = "kfold_splits"
    folds = _check_int(folds, "folds", function, 2)
    repeats = _check_int(repeats, "repeats", function, 1)
    seed = _check_int(seed, "seed", function, 0)
    n, labels = _rows_and_labels(y, function)
    notes: list[str] = []
    strata = _resolve_strata(stratify, labels, n, function, notes)
    group_ids = _resolve_groups(groups, n)
    units = n if group_ids is None else len(np.unique(group_ids))
    if folds > units:
        what = "rows" if group_ids is None else "patient groups"
        raise DataError(f"folds={folds} is more than the {units} {what} available.")

    if strata is not None:
        _, counts = np.unique(strata, return_counts=True)
        if counts.max() < folds:
            notes.append(f"Not stratified: every class has fewer than folds={folds} rows ({_class_summary(strata)}).")
            strata = None
        elif counts.min() < folds:
            notes.append(f"Stratified, but {_class_summary(strata)}, fewer than folds={folds}: some folds lack it.")

    pairs = []
    for repeat in range(repeats):
        random_state = seed + repeat
        if group_ids is not None:
            # StratifiedGroupKFold with a constant target is a shuffled GroupKFold (which
            # cannot shuffle in older scikit-learn).
            target = strata if strata is not None else np.zeros(n)
            splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=random_state)
            iterator = splitter.split(np.zeros(n), target, group_ids)
        elif strata is not None:
            splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=random_state)
            iterator = splitter.split(np.zeros(n), strata)
        else:
            iterator = KFold(n_splits=folds, shuffle=True, random_state=random_state).split(np.zeros(n))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # small-class warnings are in notes already
            for train, val in iterator:
                pairs.append((np.sort(train).astype(np.int64), np.sort(val).astype(np.int64)))
    return CrossValidationFolds(
        pairs, stratified=strata is not None, grouped=group_ids is not None, notes=notes
    )


# ------------------------------------------------------------------ recording
def split_assignments(train, val, test, *, n: int | None = None, row_ids=None) -> pd.DataFrame:
    """A table ``row_id, split`` recording which split each row went to (for the run folder).

    Args:
        train, val, test: Row positions of each split.
        n: Total number of rows; rows in no split are marked ``"unused"``.
            Defaults to the number of rows in the three splits.
        row_ids: Identifiers to record instead of row positions (e.g. a record id column).

    Returns:
        DataFrame with columns ``row_id`` and ``split`` (``train``/``val``/``test``/``unused``),
        one line per row, in row order.

    Raises:
        DataError: if a row is in two splits, or a position is out of range.
    """
    given = (("train", train), ("val", val), ("test", test))
    parts = {name: np.asarray(ix, dtype=np.int64).ravel() for name, ix in given}
    total = sum(len(ix) for ix in parts.values())
    n = total if n is None else _check_int(n, "n", "split_assignments", 0)
    if row_ids is not None:
        row_ids = _as_1d(row_ids, "row_ids", n)
    split = np.full(n, "unused", dtype=object)
    for name, ix in parts.items():
        if len(ix) and (ix.min() < 0 or ix.max() >= n):
            raise DataError(f"The {name} split holds row positions outside 0..{n - 1}.")
        overlap = ix[split[ix] != "unused"]
        if len(overlap):
            raise DataError(
                f"Rows {overlap[:5].tolist()} are in both the {split[overlap[0]]} and {name} splits; "
                f"a row must be in exactly one split."
            )
        split[ix] = name
    return pd.DataFrame({"row_id": np.arange(n) if row_ids is None else row_ids, "split": split})


def split_fingerprint(assignments: pd.DataFrame) -> str:
    """A short hash of a split table, to check later that a run used the same split.

    Args:
        assignments: The output of :func:`split_assignments`.

    Returns:
        The first 16 hex digits of the SHA-256 of the ``row_id``/``split`` pairs.
    """
    if not isinstance(assignments, pd.DataFrame) or not {"row_id", "split"} <= set(assignments.columns):
        raise DataError("split_fingerprint expects the DataFrame from split_assignments (columns row_id, split).")
    text = "\n".join(f"{r}\t{s}" for r, s in zip(assignments["row_id"].astype(str), assignments["split"]))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
