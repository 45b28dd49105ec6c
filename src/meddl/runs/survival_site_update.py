"""``meddl recalibrate`` for a survival run: its curves updated for another site, written as a new run.

``meddl evaluate RUN --data PATIENTS`` says which update a site's patients need
(:func:`meddl.survival.survival_recalibration_test`: none, a new baseline hazard, or a
new baseline and risk slope); :func:`recalibrate_survival_run` applies it:

- the update is saved in ``run.json`` (``site_recalibration.updates``, after any earlier
  site's) and every load of the new run wraps its model in
  :class:`meddl.survival.site_update.SiteUpdatedSurvival`: predictions, the served
  curves and ``meddl evaluate`` all see the updated curves; risk scores, their order and
  so the C-index stay as they were;
- the saved validation and test predictions, their metrics and the report's survival
  sections are computed again from the run's own data (its config's data, split as
  ``split.csv`` records), so they describe the updated curves;
- everything else is copied from the original and checked against its manifest, as for a
  two-class run (:func:`meddl.runs.recalibrate_run`); the original is never touched.

The run's own data must still be where its config says: the figures are recomputed
from it rather than left stale.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meddl.errors import ConfigError, DataError
from meddl.runs.folder import RunFolder
from meddl.runs.site_records import (SiteRecalibration, cases_record, checked_update, chosen_update, source_record,
                                     write_site_run)
from meddl.runs.survival_evaluation import (evaluate_survival_splits, load_survival_data, survival_cases,
                                            survival_recalibration)
from meddl.sections import Section
from meddl.survival.site_update import SiteUpdatedSurvival

__all__ = ["SURVIVAL_SITE_UPDATES", "recalibrate_survival_run"]

SURVIVAL_SITE_UPDATES = ("auto", "baseline", "slope")
#: the report sections a survival run draws from its test curves (replaced by the updated ones)
_CURVE_SECTIONS = ("Survival by risk group", "Survival calibration", "Example survival curves")


def _chosen_update(closed_test: dict, update: str) -> tuple[str, float, float]:
    """``(update, factor, slope)``: the closed test's choice or the one forced."""
    fitted = {"baseline": (closed_test["observed_expected"]["ratio"], 1.0),
              "slope": (closed_test["slope_update"]["factor"], closed_test["slope_update"]["slope"])}
    return chosen_update(closed_test, update, fitted, (1.0, 1.0), "patients the run's risks")


def _development_data(run: Any) -> tuple[dict, dict, dict, dict]:
    """The run's own training, validation and test rows as ``split.csv`` records them: features, durations,
    events (by split) and the validation and test row identifiers."""
    try:
        loaded, duration, event, _, _ = load_survival_data(run.config)
    except (DataError, ConfigError, OSError) as exc:
        raise DataError(f"The run's own data could not be read to recompute its validation and test figures: "
                        f"{str(exc).rstrip('.')} "
                        f"(the run's config: '{run.path / RunFolder.CONFIG}').") from None
    split = run.folder.read_split()
    position = pd.Series(np.arange(len(loaded.row_ids)), index=pd.Index(loaded.row_ids.astype(str)))
    x, t, e, ids = {}, {}, {}, {}
    for name in ("train", "val", "test"):
        wanted = split.loc[split["split"] == name, "row_id"].astype(str)
        missing = wanted[~wanted.isin(position.index)]
        if len(missing):
            raise DataError(f"The run's data no longer holds {len(missing)} of its {name} rows (first "
                            f"{missing.iloc[0]!r}); it changed since the run was trained, so its figures cannot be "
                            "recomputed.")
        rows = position[wanted].to_numpy()
        x[name] = run.preprocessor.transform(loaded.features.iloc[rows])
        t[name], e[name], ids[name] = duration[rows], event[rows], loaded.row_ids[rows]
    return x, t, e, ids


def _sections(source: RunFolder, updated: list[Section]) -> list[Section]:
    """The original's report sections with the curve sections replaced by ``updated``."""
    kept = [section for section in source.read_sections() if section.title not in _CURVE_SECTIONS]
    return updated + kept


def recalibrate_survival_run(run: Any, data: Any, out: str | Path, *, update: str = "auto",
                             alpha: float = 0.05) -> SiteRecalibration:
    """Update a survival run's curves on a site's patients and write the result as a new run.

    Args:
        run: the loaded survival :class:`~meddl.runs.Run` (read only; never changed).
        data: the site's patients with follow-up: a table holding the run's duration and event columns, or a
            config naming them.
        out: the new run folder.
        update: ``"auto"`` (the closed test's choice; nothing is written when it finds no update is needed),
            ``"baseline"`` or ``"slope"`` to force one.
        alpha: the level of the closed test's likelihood-ratio tests.
    """
    checked_update(update, SURVIVAL_SITE_UPDATES, "survival")
    horizons = np.asarray(run.info["horizons"], dtype=np.float64)
    end = float(horizons.max())
    x, duration, event = survival_cases(run, data)
    closed_test = survival_recalibration(run.model, x, duration, event, end, alpha=alpha)
    method, factor, slope = _chosen_update(closed_test, update)
    if method == "none":
        return SiteRecalibration(method, 0.0, 1.0, closed_test, int(duration.size), None)

    reference = closed_test["slope_update"]["mean_log_hazard_at_end"]
    updated = SiteUpdatedSurvival(run.model, factor=factor, slope=slope, reference=reference, end=end)
    source = run.folder
    x_dev, t_dev, e_dev, ids = _development_data(run)
    config = run.config
    split_metrics, predictions, curve_sections = evaluate_survival_splits(
        updated, x_dev, t_dev, e_dev, ids, horizons, n_resamples=config.evaluation.n_resamples,
        seed=config.training.seed)
    previous = run.info.get("site_recalibration")
    record = {"update": method, "factor": factor, "slope": slope, "reference": reference, "end": end,
              "closed_test": closed_test,
              "updates": list((previous or {}).get("updates") or []) + [updated.to_dict()],
              "cases": cases_record(data, {"n": int(duration.size), "n_events": int(event.sum())}),
              "from_run": source_record(run),
              "previous": {"site_recalibration": previous},
              "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")}
    info = {**run.info, "site_recalibration": record}
    metrics = {**source.read_metrics(), **split_metrics}
    sections = _sections(source, curve_sections)

    written = write_site_run(
        run, data, out, predictions=predictions,
        documents={RunFolder.INFO: info, RunFolder.METRICS: metrics,
                   RunFolder.SECTIONS: [list(section) for section in sections]},
        log_line=(f"Site recalibration from '{run.path}' on {duration.size} patients: {closed_test['reason']}. "
                  f"Applied {method}: cumulative hazard x {factor:.6g} at the site's mean risk, risk slope "
                  f"{slope:.6g}."))
    return SiteRecalibration(method, float(np.log(factor)), slope, closed_test, int(duration.size), written)
