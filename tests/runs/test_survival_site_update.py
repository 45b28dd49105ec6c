"""meddl recalibrate on a survival run: its curves updated on another site's patients, written as a new run."""

import json

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.cli import main
from meddl.errors import ConfigError, DataError
from meddl.report.model_card import model_card
from meddl.runs import recalibrate_run
from meddl.survival import SiteUpdatedSurvival

from .test_prognosis_treatment import FAST_SURVIVAL, survival_table
from .test_site_recalibration import fingerprint


@pytest.fixture(scope="module")
def survival_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("survival_site")
    survival_table().to_csv(root / "s.csv", index=False)
    meddl.train({"task": "survival", "data": {"source": "csv", "path": str(root / "s.csv"), "duration": "months",
                                              "event": "died"},
                 "model": {"preset": "deepsurv", "options": FAST_SURVIVAL}, "training": {"ensemble": 2},
                 "evaluation": {"horizons": [30, 60], "n_resamples": 30}}, out=root / "run")
    return root


def sicker_site(n=600, seed=7):
    """Another hospital: the same risk factors, but every patient's hazard three times as high."""
    site = survival_table(n=n, seed=seed)
    site["months"] = (site["months"] / 3).round(3)
    return site


def test_a_site_with_three_times_the_hazard_gets_curves_that_fit_it(survival_run, tmp_path):
    original = meddl.load_run(survival_run / "run")
    before = fingerprint(original.path)
    site = sicker_site()
    fit_half, check_half = site.iloc[:300], site.iloc[300:]
    fit_half.to_csv(tmp_path / "site.csv", index=False)
    assert original.evaluate(check_half, n_resamples=20)["recalibration"]["observed_expected"]["ratio"] > 2

    result = recalibrate_run(original.path, tmp_path / "site.csv", tmp_path / "site_run")
    assert result.update in ("baseline", "slope") and result.run_dir == (tmp_path / "site_run").resolve()
    assert "Applied: " in result.summary() and "cumulative hazard x" in result.summary()
    updated = meddl.load_run(result.run_dir)
    assert isinstance(updated.model, SiteUpdatedSurvival)
    checked = updated.evaluate(check_half, n_resamples=20)["recalibration"]
    low, high = checked["observed_expected"]["ci95"]
    assert low < 1 < high, checked["reason"]

    # the saved figures are recomputed from the run's own patients with the updated curves
    split = updated.folder.read_split()
    patients = pd.read_csv(survival_run / "s.csv")
    test_ids = split.loc[split["split"] == "test", "row_id"].astype(str)
    saved = updated.folder.read_predictions("test")
    fresh = updated.predict(patients.loc[test_ids.astype(int)])
    np.testing.assert_allclose(saved["survival@60"], fresh["survival@60"], rtol=1e-6)
    assert not np.allclose(saved["survival@60"], original.folder.read_predictions("test")["survival@60"])
    c_index = updated.metrics["test"]["metrics"]["c_index"]["value"]
    assert c_index == pytest.approx(original.metrics["test"]["metrics"]["c_index"]["value"])

    info = json.loads((result.run_dir / "run.json").read_text())["site_recalibration"]
    assert info["update"] == result.update and len(info["updates"]) == 1
    assert info["cases"]["n"] == 300 and info["cases"]["n_events"] == int(fit_half["died"].sum())
    assert info["cases"]["sha256"] and info["from_run"]["manifest_sha256"]
    card = model_card(json.loads((result.run_dir / "run.json").read_text()), updated.metrics)
    assert "updated for another site on 300 local patients" in card.evaluation
    assert any("updated on 300 local cases" in note for note in card.limitations)
    report = (result.run_dir / "report.html").read_text()
    assert "Survival calibration" in report and "updated for another site" in report
    assert fingerprint(original.path) == before

    # a second update stacks on the first; the chain is saved and loaded in order
    again = updated.recalibrate(check_half, tmp_path / "again", update="baseline")  # Run.recalibrate
    chain = json.loads((again.run_dir / "run.json").read_text())["site_recalibration"]["updates"]
    assert len(chain) == 2 and chain[0] == info["updates"][0]
    twice = meddl.load_run(again.run_dir).model
    assert isinstance(twice, SiteUpdatedSurvival) and isinstance(twice.model, SiteUpdatedSurvival)


def test_patients_like_the_runs_own_need_no_update(tmp_path):
    """A linear Cox model on 1,000 patients fits new patients from the same population (the small DeepSurv run
    above does not: trained on 255 rows, its risks prove too extreme on fresh patients, slope about 0.8)."""
    survival_table(n=1000).to_csv(tmp_path / "s.csv", index=False)
    meddl.train({"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "s.csv"), "duration": "months",
                                              "event": "died"},
                 "model": "linear_cox", "training": {"ensemble": 1},
                 "evaluation": {"horizons": [30, 60], "n_resamples": 10}}, out=tmp_path / "run")
    result = recalibrate_run(tmp_path / "run", survival_table(n=400, seed=6), tmp_path / "unchanged")
    assert result.update == "none" and result.run_dir is None and not (tmp_path / "unchanged").exists()
    assert result.summary().endswith("Nothing was written.")


def test_bad_requests_are_refused_and_nothing_is_written(survival_run, tmp_path):
    run = survival_run / "run"
    before = fingerprint(run)
    site = sicker_site(n=200)
    with pytest.raises(ConfigError, match="of a survival run must be one of auto, baseline, slope"):
        recalibrate_run(run, site, tmp_path / "x", update="logistic")
    with pytest.raises(ConfigError, match="'label' does not apply to a survival run"):
        recalibrate_run(run, site, tmp_path / "x", label="died")
    with pytest.raises(DataError, match=r"follow-up columns \['months', 'died'\]"):
        recalibrate_run(run, site.drop(columns="died"), tmp_path / "x")
    (survival_run / "s.csv").rename(tmp_path / "away.csv")  # the run's own data, gone
    try:
        with pytest.raises(DataError, match=r"own data could not be read to recompute .*s\.csv"):
            recalibrate_run(run, site, tmp_path / "x", update="baseline")
    finally:
        (tmp_path / "away.csv").rename(survival_run / "s.csv")
    assert fingerprint(run) == before and not (tmp_path / "x").exists()


def test_the_command_line_updates_a_survival_run(survival_run, tmp_path, capsys):
    sicker_site(n=300, seed=9).to_csv(tmp_path / "site.csv", index=False)
    assert main(["recalibrate", str(survival_run / "run"), "--data", str(tmp_path / "site.csv"),
                 "--out", str(tmp_path / "cli_run")]) == 0
    assert "Wrote" in capsys.readouterr().out and (tmp_path / "cli_run" / "manifest.json").is_file()
