"""meddl recalibrate: a two-class run updated on another site's labelled cases, written as a new verified run."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

import meddl
from meddl.cli import main
from meddl.errors import DataError, MeddlError, ModelFileError, RunFolderError
from meddl.evaluation import PlattScaler, TemperatureScaler
from meddl.io import sha256_file
from meddl.report.model_card import model_card
from meddl.runs import RunFolder
from meddl.runs.site_recalibration import SiteRecalibration, recalibrate_run, update_probabilities, updated_calibrator

from tests.small_data import image_config, write_image_npz

from .conftest import FAST, diagnosis_config, patient_table


@pytest.fixture(scope="module")
def sepsis_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    patient_table().to_csv(root / "patients.csv", index=False)
    meddl.set_seed(0)
    meddl.train(diagnosis_config(root / "patients.csv"), out=root / "run")
    return root


def rare_sepsis_site(n=600, seed=6):
    """Another hospital: the same patients' signal, but sepsis four times rarer."""
    site = patient_table(n=n, seed=seed)
    sepsis = site.index[site["label"] == "sepsis"]
    return site.drop(sepsis[np.arange(len(sepsis)) % 4 != 0])


def fingerprint(folder):
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_update_probabilities_and_the_composed_map():
    p = np.array([0.1, 0.5, 0.9])
    np.testing.assert_allclose(update_probabilities(p, -1.0, 0.5), expit(0.5 * logit(p) - 1.0))
    z = np.linspace(-4, 4, 9)
    platt = PlattScaler.from_dict({"type": "PlattScaler", "a": 1.3, "b": -2.0})
    temperature = TemperatureScaler.from_dict({"type": "TemperatureScaler", "temperature": 0.8, "n_classes": 2})
    for calibrator, before in ((None, expit(z)), (temperature, expit(z / 0.8)), (platt, expit(1.3 * z - 2.0))):
        composed = updated_calibrator(calibrator, -0.7, 0.6)
        np.testing.assert_allclose(composed.transform(z), update_probabilities(before, -0.7, 0.6), rtol=1e-12)
    with pytest.raises(MeddlError, match="composes with none, TemperatureScaler or PlattScaler"):
        updated_calibrator(object(), 0.0, 1.0)


def test_a_site_with_rarer_sepsis_gets_a_new_verified_run(sepsis_run, tmp_path):
    original, site = sepsis_run / "run", tmp_path / "site.csv"
    rare_sepsis_site().to_csv(site, index=False)
    before = fingerprint(original)
    result = recalibrate_run(original, site, tmp_path / "site_run")
    assert isinstance(result, SiteRecalibration) and result.update in ("intercept", "logistic")
    assert result.intercept < -0.5 and result.run_dir == tmp_path / "site_run" and "Wrote" in result.summary()
    assert fingerprint(original) == before  # the original run is left exactly as it was

    updated = meddl.load_run(result.run_dir)  # loading checks every file against the new manifest
    assert updated.folder.verify().ok
    cases = pd.read_csv(site)
    predicted = updated.predict(cases)
    observed = (cases["label"] == "sepsis").mean()
    old_mean = meddl.load_run(original).predict(cases)["prob_sepsis"].mean()
    assert abs(predicted["prob_sepsis"].mean() - observed) < 0.02 < abs(old_mean - observed)
    assert updated.evaluate(site, n_resamples=0)["recalibration"]["recommended"] == "none"

    info = json.loads((result.run_dir / "run.json").read_text())
    record = info["site_recalibration"]
    assert record["cases"]["sha256"] == sha256_file(site) and record["cases"]["n"] == len(cases)
    assert record["from_run"]["manifest_sha256"] == sha256_file(original / "manifest.json")
    assert record["previous"]["threshold"] == meddl.load_run(original).threshold
    assert info["conformal"]["n_calibration"] == len(cases) and info["calibration"]["type"] == "PlattScaler"

    old_test = pd.read_csv(original / "predictions_test.csv")
    new_test = pd.read_csv(result.run_dir / "predictions_test.csv")
    assert list(new_test.columns) == list(old_test.columns)
    assert list(new_test["predicted"]) == list(old_test["predicted"])  # decisions unchanged
    np.testing.assert_allclose(new_test["prob_sepsis"], update_probabilities(old_test["prob_sepsis"],
                                                                             result.intercept, result.slope))

    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    old_metrics = json.loads((original / "metrics.json").read_text())
    auroc = metrics["test"]["metrics"]["auroc"]["value"]
    assert auroc == pytest.approx(old_metrics["test"]["metrics"]["auroc"]["value"])
    assert (metrics["test"]["metrics"]["calibration_intercept"]["value"]
            > old_metrics["test"]["metrics"]["calibration_intercept"]["value"] + 0.5)  # too low now, on the old site
    assert metrics["test"]["before_calibration"] == old_metrics["test"]["before_calibration"]
    assert metrics["threshold"] == info["threshold"] < record["previous"]["threshold"]

    card = model_card(info, metrics)
    assert "updated for another site on" in card.evaluation and "so every decision is as before" in card.evaluation
    assert any("updated on" in note and "meddl evaluate" in note for note in card.limitations)
    assert "updated for another site" in (result.run_dir / "report.html").read_text()
    assert "Site recalibration from" in (result.run_dir / "train.log").read_text().splitlines()[-1]


def test_cases_that_need_no_update_write_nothing_and_a_forced_update_is_applied(sepsis_run, tmp_path):
    same_site = patient_table(n=400, seed=11)
    result = recalibrate_run(sepsis_run / "run", same_site, tmp_path / "unchanged")
    assert result.update == "none" and result.run_dir is None and not (tmp_path / "unchanged").exists()
    assert result.summary().endswith("Nothing was written.")
    forced = recalibrate_run(sepsis_run / "run", same_site, tmp_path / "forced", update="logistic")
    assert forced.update == "logistic" and forced.slope == forced.closed_test["logistic_update"]["slope"]
    assert json.loads((tmp_path / "forced" / "run.json").read_text())["site_recalibration"]["cases"]["source"] \
        == "a DataFrame passed in Python"


def test_bad_requests_are_refused_and_leave_everything_as_it_was(sepsis_run, tmp_path):
    original = sepsis_run / "run"
    before = fingerprint(original)
    site = rare_sepsis_site()
    with pytest.raises(RunFolderError, match="holds the run's own input"):
        recalibrate_run(original, site, original)
    with pytest.raises(DataError, match="ranks them no better than chance or the wrong way round"):
        flipped = site.assign(label=site["label"].map({"sepsis": "no sepsis", "no sepsis": "sepsis"}))
        recalibrate_run(original, flipped, tmp_path / "flipped", update="logistic")
    with pytest.raises(meddl.ConfigError, match="update. of a two-class run must be one of auto, intercept, logistic"):
        recalibrate_run(original, site, tmp_path / "x", update="isotonic")
    with pytest.raises(DataError, match="no label column 'label'"):
        recalibrate_run(original, site.drop(columns="label"), tmp_path / "x")
    assert fingerprint(original) == before and not (tmp_path / "flipped").exists() and not (tmp_path / "x").exists()


def test_a_regression_run_is_refused(tmp_path):
    table = patient_table(n=120).drop(columns="label")
    table.to_csv(tmp_path / "t.csv", index=False)
    config = {"task": "regression", "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "label": "age"},
              "training": dict(FAST, epochs=2), "evaluation": {"n_resamples": 0}}
    meddl.train(config, out=tmp_path / "reg")
    with pytest.raises(MeddlError, match="is a regression run; .* two-class"):
        recalibrate_run(tmp_path / "reg", tmp_path / "t.csv", tmp_path / "out")


def test_copying_refuses_a_file_changed_since_the_manifest(sepsis_run, tmp_path):
    source = tmp_path / "copy_of_run"
    shutil.copytree(sepsis_run / "run", source)
    (source / "history.csv").write_text("epoch\n1\n")
    with pytest.raises(ModelFileError, match=r"history\.csv' changed since the run was written"):
        RunFolder(tmp_path / "target").write_copy(RunFolder(source), replace={}, log_line="x")
    (source / "manifest.json").unlink()  # a folder of meddl 0.1.0: nothing to check the copies against
    with pytest.raises(ModelFileError, match="has no manifest.json"):
        RunFolder(tmp_path / "target").write_copy(RunFolder(source), replace={}, log_line="x")
    (source / "history.csv").write_bytes((sepsis_run / "run" / "history.csv").read_bytes())
    with pytest.raises(ModelFileError, match="has no manifest.json"):  # a format-2 folder without one: refused
        recalibrate_run(source, rare_sepsis_site(), tmp_path / "target", update="intercept")
    assert not (tmp_path / "target").exists()


def test_the_cli_prints_what_it_did(sepsis_run, tmp_path, capsys):
    rare_sepsis_site().to_csv(tmp_path / "site.csv", index=False)
    assert main(["recalibrate", str(sepsis_run / "run"), "--data", str(tmp_path / "site.csv"),
                 "--out", str(tmp_path / "site_run")]) == 0
    printed = capsys.readouterr().out
    assert "Applied:" in printed and "site_run" in printed and RunFolder.is_run_folder(tmp_path / "site_run")
    assert main(["recalibrate", str(sepsis_run / "run"), "--data", str(tmp_path / "site.csv"),
                 "--out", str(sepsis_run / "run")]) == 1
    assert "holds the run's own input" in capsys.readouterr().err


def test_an_image_ensemble_is_updated_from_a_config_naming_the_cases(image_npz, tmp_path):
    meddl.set_seed(0)
    meddl.train(image_config(image_npz, ensemble=2), out=tmp_path / "run")
    cases = write_image_npz(tmp_path / "site.npz", seed=3)
    site_config = {"task": "diagnosis", "data": {"source": "medmnist", "path": str(cases)}}
    result = recalibrate_run(tmp_path / "run", site_config, tmp_path / "site_run", update="logistic")
    assert result.n_cases == 112 and result.run_dir is not None
    old = pd.read_csv(tmp_path / "run" / "predictions_test.csv")
    new = pd.read_csv(result.run_dir / "predictions_test.csv")
    positive = meddl.load_run(result.run_dir).class_names[1]
    assert "prediction_set" not in new and list(new.columns) == list(old.columns)
    for end in ("low", "high"):  # the members' interval goes through the same monotone update
        np.testing.assert_allclose(new[f"prob_{positive}_{end}"],
                                   update_probabilities(old[f"prob_{positive}_{end}"], result.intercept, result.slope))
    p_old, p_new = old[f"prob_{positive}"], new[f"prob_{positive}"]
    derivative = result.slope * p_new * (1 - p_new) / (p_old * (1 - p_old))
    moderate = (p_old > 1e-6) & (p_old < 1 - 1e-6)  # nearer 0 or 1, the CSV's digits cannot pin 1 - p down
    assert moderate.sum() >= 5
    np.testing.assert_allclose(new[f"prob_{positive}_sd"][moderate],
                               (old[f"prob_{positive}_sd"] * derivative)[moderate], rtol=1e-6)
    record = json.loads((result.run_dir / "run.json").read_text())["site_recalibration"]["cases"]
    assert record["config"] == "a dict passed in Python" and record["source"] == str(cases)
    assert record["sha256"] == sha256_file(cases)
