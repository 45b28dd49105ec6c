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
that fold's training part) and predicts the held-out fold. The method is then
chosen on those logits (cross-fitted log loss, as before), fitted on all of them,
and applied to the final model's logits: ~480 rows instead of 85 to fit 1-2
parameters, from models trained like the final one, so their over- or
under-confidence carries over.

A fold model trains on its whole training part for as many epochs as the final
model's best epoch (:func:`trained_epochs`), without early stopping: 387 rows for
35 epochs against the final model's 399 rows for 35 epochs (Wisconsin, seed 0), so
the two have taken about as many steps, and the logits grow with the steps taken.
Fold models that early-stopped on a share of their training part (319 rows, 68 for
stopping) were measured first: they stopped elsewhere (22-68 epochs trained against
the final model's 51), so their confidence transferred less well (test calibration
slope 0.75-1.65 across five seeds, against 0.91-1.06; Brier 0.044 against 0.043;
with a new split per seed, 0.56-1.13, mean 0.80, against 0.83-1.67, mean 1.10, the CI
covering 1 in 5 of 5 against 4 of 5, Brier 0.037 against 0.034) and they cost more.

Measured (bench/calibration.py, Wisconsin, split seed 0, training seeds 0-4, 1 thread, shared
2-core machine): test calibration slope 1.44-1.84, mean 1.68, its 95% CI covering 1 in 0 of 5
seeds with the map fitted on the 85 validation rows (Platt every time: under-confident); 0.91-1.06,
mean 0.99, 5 of 5 with ``cross_fitted`` (temperature 4 times, Platt once). The Brier score is a little worse
(0.043 against 0.034: the validation map's under-confidence costs little on a 0.99-AUROC model,
and the cross-fitted intercept is -1.04 against -0.20, its CIs all covering 0), the AUROC
unchanged (0.991; the maps are monotone). A new split per seed (split seed = training seed):
slope CI covering 1 in 4 of 5 against 1 of 5, Brier 0.034 against 0.036. The 5 fold fits added
1.0 s of CPU to a 0.9 s run. An 85-row test split judges a map poorly; 5-fold cross-validation
(``meddl.cross_validate``, 3 repeats) judges it on all 569 rows, each predicted by a fold model
whose map was fitted as its run would: pooled out-of-fold slope 1.12-1.19, its CI covering 1 in
3 of 3 repeats, Brier 0.024-0.025, against 1.78-2.01, 0 of 3, Brier 0.029-0.031 with the
validation map (AUROC 0.992-0.993 either way; CPU 25.6 s against 12.4 s for the 15 fold runs).

``auto`` (the default) is ``cross_fitted`` for table runs whose validation split
has fewer than :data:`SMALL_VALIDATION_ROWS` rows (the threshold below which a
tuning search cross-validates its trials, ``meddl.studies.search_folds``), and
``validation`` otherwise: a larger split pins a 1-2 parameter map down, and an
image run would train :data:`CALIBRATION_FOLDS` more CNNs (PneumoniaMNIST subset,
4,406 development images, 3 epochs: 36 s of CPU for the run, 174 s with
``cross_fitted``; a default 40-epoch run would take ~5 times as long), too slow for
a default. Ensemble runs train single-member fold models (the first member's seed
and best epoch count): K fits instead of K x members. A mean-probability ensemble is
less extreme than one member, so the map may soften it a little more than it needs;
measured with ``training.ensemble: 3`` (split seed 0, seeds 0-4): slope 0.86-1.35, mean
1.07, CI covering 1 in 5 of 5, Brier 0.042, against the validation map's 1.53-1.67, 0 of 5,
Brier 0.034.
A cross-validated tuning trial fits its maps on validation rows (:mod:`meddl.studies.objective`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from meddl.data import kfold_splits
from meddl.runs.config import RunConfig
from meddl.runs.datasets import LoadedData, PreparedSplits
from meddl.runs.fitting import FittedModels, fit_models
from meddl.runs.log import RunLog
from meddl.training.hooks import without_training_callbacks

__all__ = ["CALIBRATION_FOLDS", "CALIBRATION_ROWS", "SMALL_VALIDATION_ROWS", "CalibrationRows",
           "calibration_rows", "feasible_folds", "out_of_fold_logits", "resolve_calibration_rows", "trained_epochs"]

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
        fold_epochs: the epochs each fold model trained (0 for the validation split).
    """

    logits: np.ndarray
    y: np.ndarray
    source: str
    positions: np.ndarray
    folds: int = 0
    reason: str = ""
    fold_epochs: int = 0

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


def trained_epochs(fitted: FittedModels) -> int:
    """The epochs behind the run's (first) model: its best epoch under early stopping, else all it trained."""
    stop = fitted.early_stops[0] if fitted.early_stops else None
    if stop is not None and stop.best_epoch is not None:
        return stop.best_epoch + 1
    return len(fitted.history.epoch)


def feasible_folds(y: np.ndarray, groups: np.ndarray | None, n_outputs: int, folds: int = CALIBRATION_FOLDS) -> int:
    """``folds``, or fewer when a class has fewer rows (or the data fewer patients) than that."""
    folds = min(folds, int(np.bincount(y, minlength=n_outputs).min()))
    return folds if groups is None else min(folds, len(np.unique(groups)))


def out_of_fold_logits(config: RunConfig, *, data: LoadedData, y: np.ndarray, development: np.ndarray,
                       epochs: int, n_outputs: int, class_weight, fit_features: Callable,
                       folds: int = CALIBRATION_FOLDS, log: RunLog | None = None) -> tuple[np.ndarray, int]:
    """Each development row's logits from a model that did not train on it: ``(logits, folds used)``.

    Args:
        config: the run's config (the fold models train with it, as single members, silently).
        data: the loaded data.
        y: class indices of every row of ``data``.
        development: positions of the rows to cross-fit (the run's training and validation rows).
        epochs: the epochs each fold model trains (the final model's best epoch count; no early stopping).
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
    folds = feasible_folds(strata, groups, n_outputs, folds)
    fold_config = config.model_copy(update={"training": config.training.model_copy(
        update={"ensemble": 1, "verbose": 0, "epochs": epochs, "early_stopping": None})})
    quiet = RunLog(echo=False)
    logits = None
    for fold, (train_part, held_out) in enumerate(kfold_splits(strata, folds=folds, groups=groups, seed=seed)):
        fold_rows = PreparedSplits(development[train_part], np.zeros(0, dtype=np.int64), development[held_out],
                                   notes=[])
        _, (x_train, _, x_held_out) = fit_features(data, fold_rows, fold_config, quiet)
        with without_training_callbacks():  # not the run's training: no epoch lines, no pruning
            fitted = fit_models(fold_config, kind=data.kind, x_train=x_train, y_train=y[fold_rows.train],
                                x_val=None, y_val=None, classification=True, n_outputs=n_outputs,
                                class_weight=class_weight, log=quiet)
        combined, _ = fitted.outputs(x_held_out, True)
        if logits is None:
            logits = np.zeros((len(development), combined.shape[1]), dtype=np.float64)
        logits[held_out] = combined
        if log is not None:
            log(f"Calibration fold {fold + 1}/{folds}: trained {epochs} epochs on {len(fold_rows.train)} rows; "
                f"predicted {len(held_out)} held-out rows.")
    return logits, folds


def calibration_rows(config: RunConfig, *, data: LoadedData, y: np.ndarray, splits: PreparedSplits,
                     val_logits: np.ndarray, fitted: FittedModels, n_outputs: int, class_weight,
                     fit_features: Callable, log: RunLog) -> CalibrationRows:
    """The rows the run's calibration map is fitted on, by ``evaluation.calibration_rows``; see the module docstring.

    ``val_logits`` are the final model's validation logits (used as they are for ``validation``); ``fitted``
    its training (the fold models train as many epochs as its best).
    """
    source, reason = resolve_calibration_rows(config.evaluation.calibration_rows, kind=data.kind,
                                              n_validation=len(splits.val))
    development = np.union1d(splits.train, splits.val).astype(np.int64)
    groups = None if data.groups is None else data.groups[development]
    if source == "cross_fitted" and feasible_folds(y[development], groups, n_outputs) < 2:
        source, reason = "validation", reason + "; but a class (or the data) has fewer than 2 development rows " \
            "(patients) to cross-fit"
    if source == "validation":
        return CalibrationRows(np.asarray(val_logits, dtype=np.float64), y[splits.val], "validation",
                               np.asarray(splits.val), reason=reason)
    started = log.elapsed
    epochs = trained_epochs(fitted)
    logits, folds = out_of_fold_logits(config, data=data, y=y, development=development, epochs=epochs,
                                       n_outputs=n_outputs, class_weight=class_weight, fit_features=fit_features,
                                       log=log)
    rows = CalibrationRows(logits, y[development], "cross_fitted", development, folds=folds, reason=reason,
                           fold_epochs=epochs)
    log(f"Calibration rows: {rows.description} ({reason}); {folds} extra fits took {log.elapsed - started:.1f}s.")
    return rows
