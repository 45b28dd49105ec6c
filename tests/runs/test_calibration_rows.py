"""evaluation.calibration_rows: the calibration map fitted on cross-fitted out-of-fold logits or on validation."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

import meddl
import meddl.runs.calibration_rows as calibration_rows_module
import meddl.runs.supervised as supervised
from meddl import ConfigError
from meddl.runs import RunFolder, rebuild_report
from meddl.runs.calibration_rows import (CALIBRATION_FOLDS, CALIBRATION_ROWS, SMALL_VALIDATION_ROWS, CalibrationRows,
                                         feasible_folds, resolve_calibration_rows)
from meddl.report.model_card import recalibration_text

from tests.small_data import image_config, patient_table, table_config


@pytest.fixture(scope="module")
def cross_fitted_run(tmp_path_factory):
    """A small table run with the default settings (auto), recording the rows of every preprocessing fit."""
    root = tmp_path_factory.mktemp("oof")
    patient_table().to_csv(root / "t.csv", index=False)
    seen = []
    original = supervised._fit_features

    def recording(data, splits, config, log):
        seen.append(splits)
        return original(data, splits, config, log)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(supervised, "_fit_features", recording)
        run = meddl.train(table_config(root / "t.csv"), out=root / "run")
    return run, seen


def test_auto_fits_the_map_on_out_of_fold_rows_of_a_small_table(cross_fitted_run):
    run, _ = cross_fitted_run
    sizes = run.info["data_summary"]["split_sizes"]
    development = sizes["train"] + sizes["val"]
    fitted_on = run.info["calibration_choice"]["fitted_on"]
    assert fitted_on["rows"] == "cross_fitted" and fitted_on["folds"] == CALIBRATION_FOLDS
    assert fitted_on["n_rows"] == development
    words = f"{CALIBRATION_FOLDS}-fold out-of-fold predictions on {development} development rows"
    assert fitted_on["description"] == words and "auto" in fitted_on["reason"]
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["calibration"]["fitted_on"] == words
    assert "calibration_slope" in metrics["test"]["before_calibration"]  # before/after kept
    log = (run.path / "train.log").read_text()
    assert f"Calibration fold {CALIBRATION_FOLDS}/{CALIBRATION_FOLDS}" in log and f"Calibration rows: {words}" in log
    epochs = fitted_on["fold_epochs"]  # the fold models train as long as the final model's best epoch
    assert f"best epoch {epochs} (" in log and f"trained {epochs} epochs on" in log
    assert words in (run.path / "report.html").read_text()


def test_the_folds_cover_the_development_rows_and_never_a_test_row(cross_fitted_run):
    run, seen = cross_fitted_run
    split = run.folder.read_split()["split"].to_numpy()
    development, test = np.flatnonzero(split != "test"), np.flatnonzero(split == "test")
    run_rows, folds = seen[0], seen[1:]
    np.testing.assert_array_equal(np.sort(run_rows.test), test)
    assert len(folds) == CALIBRATION_FOLDS
    held_out = np.concatenate([fold.test for fold in folds])
    np.testing.assert_array_equal(np.sort(held_out), development)  # every development row once
    for fold in folds:
        assert len(fold.val) == 0  # no early stopping: the fold trains the final model's epoch count
        assert len(np.intersect1d(np.concatenate([fold.train, fold.test]), test)) == 0
        assert len(np.intersect1d(fold.train, fold.test)) == 0
        np.testing.assert_array_equal(np.union1d(fold.train, fold.test), development)


@pytest.mark.parametrize("setting, kind, n_validation, expected", [
    ("auto", "table", 85, "cross_fitted"),
    ("auto", "table", SMALL_VALIDATION_ROWS - 1, "cross_fitted"),
    ("auto", "table", SMALL_VALIDATION_ROWS, "validation"),
    ("auto", "image", 24, "validation"),
    ("validation", "table", 85, "validation"),
    ("cross_fitted", "image", 24, "cross_fitted"),
])
def test_auto_chooses_by_data_kind_and_validation_size(setting, kind, n_validation, expected):
    chosen, reason = resolve_calibration_rows(setting, kind=kind, n_validation=n_validation)
    assert chosen == expected and reason
    assert set(CALIBRATION_ROWS) == {"auto", "validation", "cross_fitted"}


def test_an_image_run_fits_the_map_on_its_validation_split(image_npz, tmp_path):
    run = meddl.train(image_config(image_npz), out=tmp_path / "images")
    fitted_on = run.info["calibration_choice"]["fitted_on"]
    assert fitted_on == {"rows": "validation", "folds": 0, "n_rows": 24, "description": "the 24 validation rows",
                         "reason": "auto: an image run (cross-fitting would train a CNN per fold)"}
    assert "Calibration fold" not in (run.path / "train.log").read_text()


def test_an_ensemble_cross_fits_single_members_and_an_explicit_method_records_its_rows(tmp_path, monkeypatch):
    patient_table().to_csv(tmp_path / "t.csv", index=False)
    members = []
    original = calibration_rows_module.fit_models

    def recording(config, **kwargs):
        members.append(config.ensemble_members)
        return original(config, **kwargs)

    monkeypatch.setattr(calibration_rows_module, "fit_models", recording)
    config = table_config(tmp_path / "t.csv", ensemble=2)
    config["evaluation"]["calibration"] = "temperature"
    run = meddl.train(config, out=tmp_path / "run")
    assert members == [1] * CALIBRATION_FOLDS
    choice = run.info["calibration_choice"]
    assert choice["method"] == "temperature" and choice["fitted_on"]["rows"] == "cross_fitted"
    assert run.info["calibration"]["type"] == "TemperatureScaler"


def test_validation_rows_when_asked(tmp_path):
    patient_table(n=120, patients=40).to_csv(tmp_path / "t.csv", index=False)
    config = table_config(tmp_path / "t.csv")
    config["evaluation"]["calibration_rows"] = "validation"
    run = meddl.train(config, out=tmp_path / "run")
    n_val = run.info["data_summary"]["split_sizes"]["val"]
    fitted_on = run.info["calibration_choice"]["fitted_on"]
    assert fitted_on["rows"] == "validation" and fitted_on["n_rows"] == n_val
    assert f"on the {n_val} validation rows (" in (run.path / "train.log").read_text()


def test_a_bad_setting_names_the_key(tmp_path):
    config = table_config(tmp_path / "t.csv")
    config["evaluation"]["calibration_rows"] = "oof"
    with pytest.raises(ConfigError, match=r"evaluation\.calibration_rows"):
        meddl.load_config(config)


def test_a_folder_written_before_calibration_rows_still_loads_and_predicts(cross_fitted_run, tmp_path):
    run, _ = cross_fitted_run
    old = tmp_path / "old"
    shutil.copytree(run.path, old)
    info = json.loads((old / "run.json").read_text())
    assert set(info["calibration"]) >= {"type"}  # the calibrator is saved as before
    del info["calibration_choice"]["fitted_on"]
    (old / "run.json").write_text(json.dumps(info))
    config = yaml.safe_load((old / "config.yaml").read_text())
    del config["evaluation"]["calibration_rows"]
    (old / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    RunFolder(old).write_manifest()
    loaded = meddl.load_run(old)
    frame = pd.read_csv(run.path / "predictions_test.csv", dtype={"row_id": str})
    data = patient_table().iloc[frame["row_id"].astype(int)]
    np.testing.assert_allclose(loaded.predict(data)["prob_disease"], frame["prob_disease"], rtol=1e-6)
    assert "the map fitted on the validation split" in rebuild_report(old).read_text()


def test_recalibration_text_and_rows_record():
    assert recalibration_text({"calibration": None}) == ""
    rows = CalibrationRows(np.zeros((3, 2)), np.array([0, 1, 1]), "cross_fitted", np.arange(3), folds=3)
    text = recalibration_text({"calibration": {"type": "PlattScaler"},
                               "calibration_choice": {"fitted_on": rows.to_dict()}})
    assert text.startswith("Probabilities recalibrated (PlattScaler)") and "3-fold out-of-fold" in text


def test_fewer_folds_when_a_class_has_fewer_development_rows(tmp_path):
    frame = patient_table(n=120, patients=120, positive_share=0.035)  # 4 positives: 3 or 4 in development
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = table_config(tmp_path / "t.csv")
    config["evaluation"]["calibration_rows"] = "cross_fitted"
    run = meddl.train(config, out=tmp_path / "run")
    balance = run.info["data_summary"]["class_balance"]
    positives = balance["train"]["disease"] + balance["val"]["disease"]
    fitted_on = run.info["calibration_choice"]["fitted_on"]
    assert positives < CALIBRATION_FOLDS
    assert fitted_on["rows"] == "cross_fitted" and fitted_on["folds"] == positives


def test_an_image_run_cross_fits_when_asked(image_npz, tmp_path):
    config = image_config(image_npz)
    config["evaluation"]["calibration_rows"] = "cross_fitted"
    run = meddl.train(config, out=tmp_path / "images")
    fitted_on = run.info["calibration_choice"]["fitted_on"]
    assert fitted_on["rows"] == "cross_fitted" and fitted_on["n_rows"] == 64 + 24  # its own train and val images


def test_feasible_folds_shrink_with_a_small_class_or_few_patients():
    y = np.array([0] * 10 + [1] * 3)
    assert feasible_folds(y, None, 2) == 3
    assert feasible_folds(np.array([0] * 10 + [1] * 10), np.array(["a", "b"] * 10), 2) == 2
    assert feasible_folds(y, None, 3) == 0  # a class without rows: no cross-fitting
