"""The rows a search trial is scored on: K cross-validation folds on small data, the validation split otherwise.

Why folds: on Wisconsin (569 rows) the validation split holds ~85 rows. A search
that picked the trial with the best score on those 85 rows chose noise and
overfitted the choice (measured, 60 s budget: test AUROC 0.931 for ``auto``
against 0.993 for the untuned default). On small data each trial is therefore
scored by K-fold cross-validation of the *development* rows (the run's training
and validation rows together; the test rows are never among them): fold k trains
on the other folds (a share of them carved out for early stopping, the threshold
and calibration, as a run does) and is scored on fold k. The trial's value is
the mean of the K fold scores, and the fold scores let the selection rule
(:mod:`meddl.studies.selection`) tell a real improvement from noise.

``tune.cv_folds`` sets K (0 or 1: always the validation split). Unset, K is
:data:`DEFAULT_FOLDS` when the development rows are fewer than
:data:`SMALL_DATA_ROWS` or the validation split has fewer than
:data:`SMALL_VALIDATION_ROWS` rows, else the validation split is used (one fit
per trial; its score is then precise enough, and K fits would cost K times more).

A cross-validated trial costs K fits: with 120 s of search on the shared 2-core
machine, Wisconsin ran 28 trials, GBSG2 31, the GBSG split (1,546 development
rows) 12 and IHDP 6 (pruning after the second fold stops the bad ones early); with 300 s,
IHDP 13-43 trials (3-18 complete), and with 600 s the PneumoniaMNIST subset (validation
split, one CNN per trial) 2 (1 complete).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from meddl.data import kfold_splits, train_val_test_split
from meddl.runs import get_task
from meddl.runs.datasets import PreparedSplits

__all__ = ["DEFAULT_FOLDS", "SMALL_DATA_ROWS", "SMALL_VALIDATION_ROWS", "CrossValidatedRows", "development_sizes",
           "search_folds", "without_test"]

DEFAULT_FOLDS = 5
SMALL_DATA_ROWS = 2000  # development (train + validation) rows below which trials are cross-validated
SMALL_VALIDATION_ROWS = 300  # validation rows below which trials are cross-validated


def without_test(data, splits: PreparedSplits) -> PreparedSplits:
    """The run's train and validation rows, with the validation rows also standing in for the test rows."""
    return PreparedSplits(splits.train, splits.val, splits.val,
                          notes=[*splits.notes, "Tuning trial: the test split is left out; validation rows only."])


def _strata(data) -> np.ndarray | None:
    """What folds are stratified on: the class label, else the event indicator or the treatment arm."""
    if data.target is not None:
        return np.asarray(data.target)
    for key in ("event", "treatment"):
        if key in data.outcomes:
            return np.asarray(data.outcomes[key])
    return None


@dataclass
class CrossValidatedRows:
    """Fold ``fold`` of ``folds`` over the development rows that ``base`` leaves (a ``split_override`` plan).

    ``base`` is the search's own plan (:func:`without_test`, or a nested outer fold's search rows); the
    rows it gives as training and validation are pooled and cut into stratified, patient-grouped folds.
    The returned split trains on the other folds minus ``val_size`` of them (validation: early stopping,
    threshold, calibration) and puts fold ``fold`` where the test rows go: its score is out-of-fold.
    """

    fold: int
    folds: int
    seed: int = 0
    val_size: float = 0.15
    base: Any = without_test

    def __call__(self, data, splits: PreparedSplits) -> PreparedSplits:
        planned = self.base(data, splits)
        development = np.union1d(planned.train, planned.val).astype(np.int64)
        strata, groups = _strata(data), data.groups
        folds = kfold_splits(strata[development] if strata is not None else len(development), folds=self.folds,
                             groups=None if groups is None else groups[development], seed=self.seed)
        train_part, held_out = list(folds)[self.fold]
        inner = train_val_test_split(strata[development[train_part]] if strata is not None else len(train_part),
                                     val_size=self.val_size, test_size=0.0, seed=self.seed + 1 + self.fold,
                                     groups=None if groups is None else groups[development[train_part]])
        train, val = development[train_part][inner.train], development[train_part][inner.val]
        note = (f"Tuning trial, cross-validation fold {self.fold + 1}/{self.folds} of the {len(development)} "
                f"development rows: {len(train)} train, {len(val)} validation, {len(held_out)} scored; "
                "the test split is left out.")
        return PreparedSplits(train, val, development[held_out], notes=[*planned.notes, note])


def development_sizes(config, rows=without_test) -> tuple[int, int] | None:
    """``(development rows, validation rows)`` the search would see (``None``: the task cannot say).

    The data is loaded once; without its own split, the sizes follow ``data.split``'s fractions (a
    patient-grouped split differs by a few rows, which does not matter for the choice it feeds).
    """
    task = get_task(config.task)
    if not hasattr(task, "load_data"):
        return None
    data = task.load_data(config)
    n = len(data)
    if data.split is not None:
        train, val, test = (np.flatnonzero(data.split == name) for name in ("train", "val", "test"))
    else:
        n_test = int(round(n * (config.data.split.test_size or 0.0)))
        n_val = int(round(n * (config.data.split.val_size or 0.0)))
        order = np.arange(n)
        test, val, train = order[:n_test], order[n_test:n_test + n_val], order[n_test + n_val:]
    planned = rows(data, PreparedSplits(train, val, test, notes=[]))
    return len(np.union1d(planned.train, planned.val)), len(planned.val)


def search_folds(config, rows=without_test) -> tuple[int, str]:
    """How many folds each trial is scored on (0: the validation split), and why, in words."""
    setting = config.tune.cv_folds
    if setting is not None:
        if setting <= 1:
            return 0, "tune.cv_folds asks for the validation split"
        return setting, f"tune.cv_folds asks for {setting} folds"
    sizes = development_sizes(config, rows)
    if sizes is None:
        return 0, "the task cannot report its row counts: the validation split"
    development, validation = sizes
    if development < SMALL_DATA_ROWS or validation < SMALL_VALIDATION_ROWS:
        return DEFAULT_FOLDS, (f"{development} development rows ({validation} validation) are fewer than "
                               f"{SMALL_DATA_ROWS} ({SMALL_VALIDATION_ROWS}): a validation score alone is noise, "
                               f"so each trial is scored by {DEFAULT_FOLDS}-fold cross-validation")
    return 0, (f"{development} development rows ({validation} validation): the validation split scores "
               "each trial")
