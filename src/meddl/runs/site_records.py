"""What ``meddl recalibrate`` returns and records, for two-class and survival runs alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from meddl.io import atomic_write_json, json_safe, sha256_file
from meddl.runs.registry import load_config

__all__ = ["SITE_UPDATES", "SiteRecalibration", "cases_record", "json_writer"]

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
    if isinstance(data, dict) or (isinstance(data, (str, Path)) and str(data).endswith((".yaml", ".yml"))):
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
