"""``meddl recalibrate``: a two-class run's probabilities updated for another site, written as a new run.

(A survival run's curves: :mod:`meddl.runs.survival_site_update`.)

A model's risks rarely carry over unchanged to another hospital, period or population:
on PneumoniaMNIST's official test split the default run is over-confident (calibration
slope 0.67) although its validation images call for the opposite. ``meddl evaluate RUN
--data CASES`` says which update labelled local cases need (the closed testing procedure,
:func:`meddl.evaluation.recalibration_test`); :func:`recalibrate_run` applies it:

- the update (none, a new intercept, or a new intercept and slope on the log-odds) is
  chosen by that test, or forced with ``update``, and composed with the run's own
  calibration map into one Platt map ``sigmoid(a * logit + b)`` that the new run loads,
  serves and exports like any other;
- the decision threshold is re-expressed on the updated probabilities, so every
  decision stays as it was (the update is monotone); conformal prediction sets are
  fitted again on the local cases, so their coverage holds for cases like them;
- the saved validation and test predictions are rescored from their probabilities and
  their metrics recomputed: they now describe the updated probabilities on the
  original splits (the uncalibrated network's figures and the ensemble's are kept);
- every other file the original's manifest records is copied and checked against it, and
  its report sections too; explanations and an ONNX export are not (run ``meddl explain``
  or ``meddl export`` on the new run). The original folder is never touched. ``run.json``
  records the update, the test behind it, the cases (with their file's sha256) and the
  run it came from; the report and the model card say so.

The local cases both fit the update and the conformal sets: two parameters on a few
hundred cases make the sets' coverage a little optimistic there. Use ``meddl evaluate``
on further local cases to check the updated run.

Example:
    >>> result = meddl.runs.recalibrate_run("runs/cxr", "site_b.yaml", "runs/cxr-site-b")  # doctest: +SKIP
    >>> result.update, round(result.slope, 2)                                             # doctest: +SKIP
    ('logistic', 0.67)
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from meddl.errors import DataError, MeddlError
from meddl.evaluation import (ConformalClassifier, PlattScaler, TemperatureScaler, evaluate_predictions,
                              recalibration_test)
from meddl.runs.folder import RunFolder
from meddl.runs.run import Run
from meddl.runs.site_records import (SITE_UPDATES, SiteRecalibration, cases_record, checked_update, chosen_update,
                                     source_record, write_site_run)
from meddl.runs.supervised import encode_classes, prediction_frame

__all__ = ["SITE_UPDATES", "SiteRecalibration", "recalibrate_run", "recalibrate_binary_run", "updated_calibrator",
           "update_probabilities"]

#: what ``update`` may ask for of a two-class run: the closed test's choice, or one update forced
BINARY_SITE_UPDATES = ("auto", "intercept", "logistic")


def update_probabilities(probabilities: Any, intercept: float, slope: float) -> np.ndarray:
    """``sigmoid(slope * logit(p) + intercept)``, with ``p`` kept off 0 and 1 by float64's resolution."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), np.finfo(np.float64).tiny, 1 - np.finfo(np.float64).eps)
    return expit(slope * logit(p) + intercept)


def updated_calibrator(calibrator: PlattScaler | TemperatureScaler | None, intercept: float,
                       slope: float) -> PlattScaler:
    """The run's two-class calibration map followed by the update, as one fitted :class:`PlattScaler`.

    On the logit difference ``z``: none gives ``z``, temperature ``z / T``, Platt ``a z + b``; the update
    turns ``u`` into ``slope * u + intercept``, so the result is Platt with ``a' = slope * a`` and
    ``b' = slope * b + intercept``.
    """
    if calibrator is None:
        a, b = 1.0, 0.0
    elif isinstance(calibrator, TemperatureScaler):
        a, b = 1.0 / calibrator.temperature_, 0.0
    elif isinstance(calibrator, PlattScaler):
        a, b = calibrator.a_, calibrator.b_
    else:
        raise MeddlError(f"The run's calibration map is a {type(calibrator).__name__}; a site update composes "
                         "with none, TemperatureScaler or PlattScaler.")
    return PlattScaler.from_dict({"type": "PlattScaler", "a": slope * a, "b": slope * b + intercept})


def _chosen_update(closed_test: dict, update: str) -> tuple[str, float, float]:
    """``(update, intercept, slope)``: the closed test's choice or the one forced."""
    logistic = closed_test["logistic_update"]
    fitted = {"intercept": (closed_test["intercept_update"], 1.0), "logistic": (logistic["intercept"], logistic["slope"])}
    return chosen_update(closed_test, update, fitted, (0.0, 1.0), "cases the run's log-odds")


def _rescored(run: Run, frame: pd.DataFrame, intercept: float, slope: float, threshold: float,
              conformal: ConformalClassifier | None) -> pd.DataFrame:
    """A saved prediction table rebuilt (:func:`~meddl.runs.supervised.prediction_frame`) on its updated
    probabilities: decisions and sets redone, the other columns kept.

    The ensemble spread's interval ends go through the same monotone update; its standard deviation is
    carried to first order (times the update's slope dp'/dp at the mean)."""
    negative, positive = run.class_names
    old = frame[f"prob_{positive}"].to_numpy(dtype=np.float64)
    new = update_probabilities(old, intercept, slope)
    kept = {column: frame[column].to_numpy() for column in frame.columns if column not in
            ("row_id", "y_true", f"prob_{negative}", f"prob_{positive}", "predicted", "prediction_set")}
    if f"prob_{positive}_sd" in kept:
        derivative = slope * new * (1 - new) / np.clip(old * (1 - old), np.finfo(np.float64).tiny, None)
        kept[f"prob_{positive}_sd"] = kept[f"prob_{negative}_sd"] = kept[f"prob_{positive}_sd"] * derivative
        low = update_probabilities(kept[f"prob_{positive}_low"], intercept, slope)
        high = update_probabilities(kept[f"prob_{positive}_high"], intercept, slope)
        kept[f"prob_{positive}_low"], kept[f"prob_{positive}_high"] = low, high
        kept[f"prob_{negative}_low"], kept[f"prob_{negative}_high"] = 1 - high, 1 - low
    return prediction_frame(frame["row_id"].to_numpy(), frame["y_true"].to_numpy(), new, run.class_names,
                            threshold, conformal, extra=kept)


def _split_metrics(run: Run, frame: pd.DataFrame, old: dict, threshold: float,
                   conformal: ConformalClassifier | None) -> dict:
    """A split's metrics recomputed on its updated probabilities (groups and subgroups as in training)."""
    y, _ = encode_classes(frame["y_true"].astype(str).to_numpy(), class_names=run.class_names)
    scores = frame[f"prob_{run.class_names[1]}"].to_numpy(dtype=np.float64)
    subgroups = {c: frame[c].astype(str).to_numpy() for c in run.config.evaluation.subgroups if c in frame}
    metrics = evaluate_predictions("binary", y, scores, threshold=threshold, class_names=run.class_names,
                                   groups=frame["patient_id"].to_numpy() if "patient_id" in frame else None,
                                   subgroups=subgroups or None, n_resamples=run.config.evaluation.n_resamples,
                                   seed=run.run_info.seed)
    for kept in ("before_calibration", "ensemble"):  # the network's own outputs and ranks: unchanged by the update
        if kept in old:
            metrics[kept] = old[kept]
    if conformal is not None and "conformal" in old:
        metrics["conformal"] = conformal.summary(np.column_stack([1 - scores, scores]), y)
    return metrics


def recalibrate_run(run_dir: str | Path, data: Any, out: str | Path, *, label: str | None = None,
                    update: str = "auto", alpha: float = 0.05) -> SiteRecalibration:
    """Update a two-class or survival run on labelled local cases and write the result as a new run.

    The run's task does it (:meth:`Run.recalibrate`): a two-class run's probabilities
    (:func:`recalibrate_binary_run`), a survival run's curves (a new baseline hazard, or baseline and risk
    slope; :func:`~meddl.runs.survival_site_update.recalibrate_survival_run`).

    Args:
        run_dir: the trained run (read only; never changed).
        data: the local labelled cases: a table (path or DataFrame) with the label column (survival: the
            run's duration and event columns), or a config (YAML path or dict) whose ``data`` section names
            them, as for :meth:`Run.evaluate`.
        out: the new run folder (not the original, nor a folder holding it or the cases).
        label: the label column of a table, when it differs from the run's (two-class runs).
        update: ``"auto"`` (the closed test's choice; nothing is written when it finds no update is
            needed); or force one: ``"intercept"`` or ``"logistic"`` (two-class), ``"baseline"`` or
            ``"slope"`` (survival).
        alpha: the level of the closed test's likelihood-ratio tests.

    Returns:
        A :class:`SiteRecalibration`; its ``summary()`` is one paragraph for a person.
    """
    return Run(run_dir).recalibrate(data, out, label=label, update=update, alpha=alpha)


def recalibrate_binary_run(run: Run, data: Any, out: str | Path, *, label: str | None = None,
                           update: str = "auto", alpha: float = 0.05) -> SiteRecalibration:
    """:func:`recalibrate_run` for a loaded diagnosis or regression run: two-class runs only (see the module
    docstring)."""
    if run.info.get("problem") != "binary":
        raise MeddlError(f"'{run.path}' is a {run.info.get('problem') or run.task} run; recalibrating for a site "
                         "updates two-class (binary diagnosis) and survival runs only.")
    checked_update(update, BINARY_SITE_UPDATES, "two-class")
    x, truth = run.labelled_data(data, label)
    y, _ = encode_classes(truth, class_names=run.class_names)
    scores = run.scores(x)
    closed_test = recalibration_test(y, scores, alpha=alpha)
    method, intercept, slope = _chosen_update(closed_test, update)
    if method == "none":
        return SiteRecalibration(method, intercept, slope, closed_test, int(y.size), None)

    calibrator = updated_calibrator(run.calibrator, intercept, slope)
    threshold = float(update_probabilities(run.threshold, intercept, slope))
    local = update_probabilities(scores, intercept, slope)
    conformal = None
    if run.conformal is not None:
        try:
            conformal = ConformalClassifier(run.conformal.coverage, method=run.conformal.method).fit(
                np.column_stack([1 - local, local]), y)
        except DataError as exc:
            raise DataError(f"The conformal prediction sets could not be fitted again on the local cases: "
                            f"{exc}") from None

    source = run.folder
    predictions = {split: _rescored(run, frame, intercept, slope, threshold, conformal)
                   for split in ("val", "test") if (frame := source.read_predictions(split)) is not None}
    old_metrics = source.read_metrics()
    metrics = {**old_metrics, "threshold": threshold,
               **{split: _split_metrics(run, frame, old_metrics.get(split, {}), threshold, conformal)
                  for split, frame in predictions.items()}}
    metrics["calibration"] = {**(old_metrics.get("calibration") or {}), "site_update": method}
    record = {"update": method, "intercept": intercept, "slope": slope, "closed_test": closed_test,
              "cases": cases_record(data, {"n": int(y.size), "class_balance": dict(zip(
                  run.class_names, map(int, np.bincount(y, minlength=len(run.class_names)))))}),
              "from_run": source_record(run),
              "previous": {"calibration": run.info.get("calibration"), "threshold": run.threshold,
                           "conformal": run.info.get("conformal"),  # and an earlier site's update, if any
                           "site_recalibration": run.info.get("site_recalibration")},
              "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    info = {**run.info, "threshold": threshold, "calibration": calibrator.to_dict(),
            "conformal": None if conformal is None else conformal.to_dict(), "site_recalibration": record}

    written = write_site_run(
        run, data, out, documents={RunFolder.INFO: info, RunFolder.METRICS: metrics}, predictions=predictions,
        log_line=(f"Site recalibration from '{run.path}' on {y.size} cases: {closed_test['reason']}. Applied "
                  f"{method}: log-odds x {slope:.6g} {intercept:+.6g}; threshold {run.threshold:.4f} -> "
                  f"{threshold:.4f}."))
    return SiteRecalibration(method, intercept, slope, closed_test, int(y.size), written)
