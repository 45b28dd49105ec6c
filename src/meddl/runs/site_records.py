"""What ``meddl recalibrate`` returns and records, for two-class and survival runs alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from meddl.errors import ConfigError, DataError
from meddl.io import atomic_write_json, json_safe, sha256_file
from meddl.runs.folder import RunFolder
from meddl.runs.log import stamped
from meddl.runs.registry import load_config, names_a_config
from meddl.runs.report import write_report

__all__ = ["SITE_UPDATES", "SiteRecalibration", "cases_record", "checked_update", "chosen_update", "json_writer",
           "positive_slope", "source_record", "write_site_run"]

#: what ``update`` may ask for: the closed test's choice ("auto"), or one update forced: a two-class run's
#: "intercept" or "logistic", a survival run's "baseline" or "slope" (the baseline and the slope)
SITE_UPDATES = ("auto", "intercept", "logistic", "baseline", "slope")


@dataclass
class SiteRecalibration:
    """What :func:`~meddl.runs.recalibrate_run` did.

    Attributes:
        update: ``"none"`` (nothing written); for a two-class run ``"intercept"`` or ``"logistic"``, for a
            survival run ``"baseline"`` or ``"slope"``.
        intercept, slope: two-class: the update of the log-odds, ``slope * log_odds + intercept``; survival:
            the log of the cumulative hazard's factor at the site's mean risk, and the risk slope.
        closed_test: the closed testing procedure's result on the local cases
            (:func:`~meddl.evaluation.recalibration_test`, :func:`~meddl.survival.survival_recalibration_test`).
        n_cases: how many local cases were scored.
        run_dir: the new run folder, or ``None`` when no update was needed.
    """

    update: str
    intercept: float
    slope: float
    closed_test: dict
    n_cases: int
    run_dir: Path | None

    def summary(self) -> str:
        if self.run_dir is None:
            return f"{self.closed_test['reason'].capitalize()}. Nothing was written."
        if self.update in ("baseline", "slope"):
            applied = (f"cumulative hazard x {np.exp(self.intercept):.4g} at the site's mean risk, risk slope "
                       f"{self.slope:.4g}")
        else:
            applied = f"log-odds x {self.slope:.4g} {self.intercept:+.4g}"
        return (f"{self.closed_test['reason'].capitalize()}. Applied: {self.update} update, {applied}. "
                f"Wrote '{self.run_dir}'.")


def cases_record(data: Any, counts: dict[str, Any]) -> dict:
    """``counts`` (how many cases, of each class or with an event) and where the cases came from (a file's
    path and sha256 where there is one; the config's path when a config named them)."""
    record: dict[str, Any] = dict(counts)
    source = data
    if names_a_config(data):
        record["config"] = str(data) if isinstance(data, (str, Path)) else "a dict passed in Python"
        source = getattr(load_config(data).data, "path", None)
    if isinstance(source, (str, Path)):
        record["source"] = str(source)
        if Path(source).is_file():
            record["sha256"] = sha256_file(source)
    else:
        record["source"] = f"a {type(data).__name__} passed in Python"
    return record


def json_writer(value: Any):
    """A ``RunFolder.write_copy`` writer of ``value`` as JSON."""
    return lambda path: atomic_write_json(path, json_safe(value))


def checked_update(update: str, allowed: tuple[str, ...], kind: str) -> str:
    """``update`` when a ``kind`` run (``"two-class"``, ``"survival"``) offers it; else a ConfigError listing them."""
    if update not in allowed:
        raise ConfigError(f"The 'update' of a {kind} run must be one of {', '.join(allowed)}. Got {update!r} instead.")
    return update


def positive_slope(slope: float, what: str) -> float:
    """The fitted slope of ``what`` (e.g. "cases the run's log-odds"), refused when not positive: then the model
    ranks the site's cases no better than chance or the wrong way round."""
    if slope <= 0:
        raise DataError(f"On these {what} need a slope of {slope:.3g}: the model ranks them no better than chance or "
                        "the wrong way round, and no recalibration can fix that. Do not use this run for these "
                        "patients.")
    return float(slope)


def chosen_update(closed_test: dict, update: str, fitted: dict[str, tuple[float, float]],
                  identity: tuple[float, float], what: str) -> tuple[str, float, float]:
    """``(update, level, slope)``: the closed test's choice (``update="auto"``) or the one forced, with its fitted
    ``(level, slope)`` from ``fitted``; ``"none"`` with ``identity`` when no update applies. A slope that is not
    positive is refused (:func:`positive_slope`; ``what`` names the cases and scale)."""
    method = closed_test["recommended"] if update == "auto" else update
    if method not in fitted:
        return "none", *identity
    level, slope = fitted[method]
    return method, float(level), positive_slope(slope, what)


def source_record(run: Any) -> dict:
    """The run a site update came from: its path, creation time and manifest's sha256 (``None`` for a 0.1.0
    folder, which :meth:`RunFolder.write_copy` then refuses)."""
    manifest = run.folder.file(RunFolder.MANIFEST)
    return {"path": str(run.path.resolve()), "created": run.run_info.created,
            "manifest_sha256": sha256_file(manifest) if manifest.is_file() else None}


def write_site_run(run: Any, data: Any, out: str | Path, *, documents: dict[str, Any], predictions: dict,
                   log_line: str) -> Path:
    """The updated run written to ``out``: the original's files copied and verified, ``documents`` (JSON files
    by name: run.json, metrics.json, ...) and the prediction tables replaced, ``log_line`` added to the log and
    the report rebuilt. ``out`` may not hold the run or the cases (``data`` when it is a path)."""
    source = run.folder
    replace = {name: json_writer(value) for name, value in documents.items()}
    replace.update({source.predictions_file(split).name: (lambda path, frame=frame: frame.to_csv(path, index=False))
                    for split, frame in predictions.items()})
    inputs = [run.path] + ([Path(data)] if isinstance(data, (str, Path)) else [])
    with RunFolder.reserve(out, inputs=inputs) as folder:
        folder.write_copy(source, replace=replace, finish=write_report, log_line=stamped(log_line))
    return RunFolder(out).path
