"""Which rows fit a diagnosis run's post-hoc calibration map: the validation split, or out-of-fold predictions.

A run recalibrates its probabilities (``evaluation.calibration``: none,
temperature or Platt, :mod:`meddl.evaluation.calibration_choice`) with a map of
one or two parameters fitted on held-out logits. Fitted on the validation split
alone, a small split cannot pin the map down: on Wisconsin (569 rows, 85
validation rows the model separates perfectly) Platt scaling fitted on those
85 rows left a test calibration slope of 1.74 [1.17, unbounded) (under-confident),
and no recalibration 0.46 (over-confident).

``evaluation.calibration_rows: cross_fitted`` fits the map on *cross-fitted
out-of-fold logits over the development rows* (training and validation rows
together; the test rows are never among them): the development rows are cut into
:data:`CALIBRATION_FOLDS` stratified, patient-grouped folds; for each fold a model
is trained the way the run trains its own (same config, preprocessing fitted on
that fold's training part, early stopping on a share of it as large as the run's
validation share) and predicts the held-out fold. The method is then chosen on
those logits (cross-fitted log loss, as before) and fitted on all of them, and
the map is applied to the final model's logits. That is ~480 rows instead of 85
to fit 1-2 parameters, from models trained like the final one, so their over- or
under-confidence carries over.

``auto`` (the default) is ``cross_fitted`` for table runs whose validation split
has fewer than :data:`SMALL_VALIDATION_ROWS` rows (the threshold below which a
tuning search cross-validates its trials, ``meddl.studies.search_folds``), and
``validation`` otherwise: a larger split is precise enough, and an image run would
train :data:`CALIBRATION_FOLDS` extra CNNs (a default image run is minutes of CPU
per fit, bench/diagnosis.py), which is too slow for a default. Ensemble runs train
single-member fold models (the first member's seed): K fits instead of K x members.
A mean-probability ensemble is less extreme than one member, so the map may soften
it slightly more than it needs; the validation map has the same mismatch the other
way round (it sees the ensemble, on 85 rows).

Measured (bench/calibration.py) -- filled in below the code by the benchmark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from meddl.data import kfold_splits, train_val_test_split
from meddl.runs.config import RunConfig
from meddl.runs.datasets import LoadedData, PreparedSplits
from meddl.runs.fitting import fit_models
from meddl.runs.log import RunLog

__all__ = ["CALIBRATION_FOLDS", "CALIBRATION_ROWS", "SMALL_VALIDATION_ROWS", "CalibrationRows",
           "calibration_rows", "out_of_fold_logits", "resolve_calibration_rows"]

CALIBRATION_ROWS = ("auto", "validation", "cross_fitted")
CALIBRATION_FOLDS = 5
SMALL_VALIDATION_ROWS = 300  # as meddl.studies.search_folds.SMALL_VALIDATION_ROWS (studies sit above runs)


@dataclass
class CalibrationRows:
    """The logits and labels a calibration map is fitted on, and where they came from.

    Attributes:
        logits: ``(n, k)`` held-out logits.
        y: class indices, ``(n,)``.
        source: ``"validation"`` or ``"cross_fitted"``.
        positions: the rows' positions in the loaded data (never a test row).
        folds: cross-fitting folds (0 for the validation split).
        reason: why these rows, in words.
    """

    logits: np.ndarray
    y: np.ndarray
    source: str
    positions: np.ndarray
    folds: int = 0
    reason: str = ""
    fold_epochs: list[int] = field(default_factory=list)

    @property
    def description(self) -> str:
        """What fitted the map, for the log and the report."""
        if self.source == "cross_fitted":
            return f"{self.folds}-fold out-of-fold predictions on {len(self.y)} development rows"
        return f"the {len(self.y)} validation rows"

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.source, "folds": self.folds, "n_rows": int(len(self.y)),
                "description": self.description, "reason": self.reason,
                **({"fold_epochs": self.fold_epochs} if self.fold_epochs else {})}


def resolve_calibration_rows(setting: str, *, kind: str, n_validation: int) -> tuple[str, str]:
    """``(validation | cross_fitted, why)`` for the ``evaluation.calibration_rows`` setting."""
    if setting != "auto":
        return setting, f"evaluation.calibration_rows asks for {setting}"
    if kind == "table" and n_validation < SMALL_VALIDATION_ROWS:
        return "cross_fitted", (f"auto: a table run with {n_validation} validation rows, fewer than "
                                f"{SMALL_VALIDATION_ROWS}")
    why = (f"{n_validation} validation rows" if kind == "table"
           else "an image run (cross-fitting would train a CNN per fold)")
    return "validation", f"auto: {why}"


def out_of_fold_logits(config: RunConfig, *, data: LoadedData, y: np.ndarray, development: np.ndarray,
                       val_share: float, n_outputs: int, class_weight, fit_features: Callable,
                       folds: int = CALIBRATION_FOLDS, log: RunLog | None = None) -> tuple[np.ndarray, int, list[int]]:
    """Each development row's logits from a model that did not train on it: ``(logits, folds used, epochs)``.

    Args:
        config: the run's config (the fold models train with it, as single members, silently).
        data: the loaded data.
        y: class indices of every row of ``data``.
        development: positions of the rows to cross-fit (the run's training and validation rows).
        val_share: the share of each fold's training part held out for early stopping.
        n_outputs: classes.
        class_weight: the run's resolved class weighting (``"balanced"`` or ``None``).
        fit_features: ``(data, splits, config, log) -> (preprocessor, [x_train, x_val, x_test])``, the run's
            preprocessing, fitted on the fold's training rows.
        folds: the number of folds (fewer when a class has fewer development rows).
        log: the run log (one line per fold).
    """
    seed = config.training.seed
    strata = y[development]
    groups = None if data.groups is None else data.groups[development]
    folds = int(min(folds, np.bincount(strata, minlength=n_outputs).min()))
    fold_config = config.model_copy(update={"training": config.training.model_copy(
        update={"ensemble": 1, "verbose": 0})})
    quiet = RunLog(echo=False)
    logits = None
    epochs = []
    for fold, (train_part, held_out) in enumerate(kfold_splits(strata, folds=folds, groups=groups, seed=seed)):
        inner = train_val_test_split(strata[train_part], val_size=val_share, test_size=0.0, seed=seed + 1 + fold,
                                     groups=None if groups is None else groups[train_part])
        fold_rows = PreparedSplits(development[train_part][inner.train], development[train_part][inner.val],
                                   development[held_out], notes=[])
        _, (x_train, x_val, x_held_out) = fit_features(data, fold_rows, fold_config, quiet)
        fitted = fit_models(fold_config, kind=data.kind, x_train=x_train, y_train=y[fold_rows.train], x_val=x_val,
                            y_val=y[fold_rows.val], classification=True, n_outputs=n_outputs,
                            class_weight=class_weight, log=quiet)
        combined, _ = fitted.outputs(x_held_out, True)
        if logits is None:
            logits = np.zeros((len(development), combined.shape[1]), dtype=np.float64)
        logits[held_out] = combined
        epochs.append(len(fitted.history.epoch))
        if log is not None:
            log(f"Calibration fold {fold + 1}/{folds}: trained on {len(fold_rows.train)} rows (early stopping on "
                f"{len(fold_rows.val)}), {epochs[-1]} epochs; predicted {len(held_out)} held-out rows.")
    return logits, folds, epochs


def calibration_rows(config: RunConfig, *, data: LoadedData, y: np.ndarray, splits: PreparedSplits,
                     val_logits: np.ndarray, n_outputs: int, class_weight, fit_features: Callable,
                     log: RunLog) -> CalibrationRows:
    """The rows the run's calibration map is fitted on, by ``evaluation.calibration_rows``; see the module docstring.

    ``val_logits`` are the final model's validation logits (used as they are for ``validation``).
    """
    source, reason = resolve_calibration_rows(config.evaluation.calibration_rows, kind=data.kind,
                                              n_validation=len(splits.val))
    development = np.union1d(splits.train, splits.val).astype(np.int64)
    if source == "cross_fitted" and np.bincount(y[development], minlength=n_outputs).min() < 2:
        source, reason = "validation", reason + "; but a class has fewer than 2 development rows"
    if source == "validation":
        return CalibrationRows(np.asarray(val_logits, dtype=np.float64), y[splits.val], "validation",
                               np.asarray(splits.val), reason=reason)
    started = log.elapsed
    logits, folds, epochs = out_of_fold_logits(
        config, data=data, y=y, development=development, val_share=len(splits.val) / len(development),
        n_outputs=n_outputs, class_weight=class_weight, fit_features=fit_features, log=log)
    rows = CalibrationRows(logits, y[development], "cross_fitted", development, folds=folds, reason=reason,
                           fold_epochs=epochs)
    log(f"Calibration rows: {rows.description} ({reason}); {folds} extra fits took {log.elapsed - started:.1f}s.")
    return rows
