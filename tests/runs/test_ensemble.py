"""Ensembles: probability averaging, identical members equal one member, spread columns, saving and loading."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.runs import RunFolder
from meddl.models.ensemble import combine_outputs, spread_columns

from tests.small_data import patient_table, table_config


@pytest.fixture(scope="module")
def ensemble_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    frame = patient_table()
    frame.to_csv(root / "t.csv", index=False)
    run = meddl.train(table_config(root / "t.csv", ensemble=3), out=root / "run")
    return run, frame


def test_identical_members_equal_one_member():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 20, 3)) * 4
    combined, per_member = combine_outputs(np.repeat(logits, 5, axis=0), classification=True)
    single, _ = combine_outputs(logits, classification=True)
    softmax = lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(softmax(combined), softmax(single), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(combined[:, 1] - combined[:, 0], logits[0, :, 1] - logits[0, :, 0], rtol=1e-9)
    spread = spread_columns(per_member, ["a", "b", "c"])
    assert all(np.allclose(v, 0) for k, v in spread.items() if k.endswith("_sd"))
    np.testing.assert_allclose(spread["prob_b_low"], spread["prob_b_high"])
    mean, _ = combine_outputs(np.stack([np.full((2, 1), 1.0), np.full((2, 1), 3.0)]), classification=False)
    assert mean.ravel().tolist() == [2.0, 2.0]


def test_averaging_is_of_probabilities_and_the_interval_brackets_the_members():
    logits = np.array([[[0.0, 2.0]], [[0.0, -2.0]]])
    combined, per_member = combine_outputs(logits, classification=True)
    assert np.exp(combined[0]).tolist() == pytest.approx([0.5, 0.5])
    columns = spread_columns(per_member, ["no", "yes"])
    assert columns["prob_yes_sd"][0] == pytest.approx(np.std(per_member[:, 0, 1], ddof=1))
    assert per_member[:, 0, 1].min() <= columns["prob_yes_low"][0] < columns["prob_yes_high"][0] <= per_member[:, 0, 1].max()


def test_ensemble_run_folder_and_predictions(ensemble_run):
    run, frame = ensemble_run
    assert {"model", "model_1", "model_2", "history_1.csv", "history_2.csv"} <= {p.name for p in run.path.iterdir()}
    assert json.loads((run.path / "run.json").read_text())["ensemble"] == {"members": 3}
    assert len(run.members) == 3
    saved = pd.read_csv(run.path / "predictions_test.csv", float_precision="round_trip")
    assert {"prob_disease_sd", "prob_disease_low", "prob_disease_high"} <= set(saved.columns)
    assert (saved["prob_disease_sd"] > 0).any()                      # members differ (seeds 0, 1, 2)
    split = pd.read_csv(run.path / "split.csv")
    test_rows = frame.loc[split["split"].to_numpy() == "test"]
    predicted = run.predict(test_rows)
    np.testing.assert_allclose(predicted["prob_disease"], saved["prob_disease"], rtol=1e-12)
    np.testing.assert_allclose(predicted["prob_disease_sd"], saved["prob_disease_sd"], rtol=1e-9)
    assert list(predicted.columns[:5]) == ["row_id", "patient_id", "prob_healthy", "prob_disease", "predicted"]
    summary = run.metrics["test"]["ensemble"]
    assert len(summary["members"]) == 3 and summary["metric"] == "auroc"
    assert "Ensemble uncertainty" in (run.path / "report.html").read_text()


def test_an_ensemble_of_copies_of_one_member_predicts_as_that_member(ensemble_run, tmp_path):
    run, frame = ensemble_run
    copy = tmp_path / "copies"
    shutil.copytree(run.path, copy)
    for index in (1, 2):
        shutil.rmtree(copy / f"model_{index}")
        shutil.copytree(copy / "model", copy / f"model_{index}")
    RunFolder(copy).write_manifest()  # the members were replaced on purpose
    ensemble = meddl.load_run(copy)
    assert len(ensemble.members) == 3
    single = meddl.load_run(copy)
    single.members = [single.model]
    together, alone = ensemble.predict(frame), single.predict(frame)
    np.testing.assert_allclose(together["prob_disease"], alone["prob_disease"], rtol=1e-12, atol=1e-15)
    assert list(together["predicted"]) == list(alone["predicted"])
    assert np.allclose(together["prob_disease_sd"], 0)
    assert "prob_disease_sd" not in alone.columns                      # single models: the columns as before


def test_regression_ensemble_reports_the_spread_of_its_predictions(tmp_path):
    config = {"task": "regression", "data": {"source": "builtin", "name": "diabetes-progression"},
              "training": {"epochs": 3, "ensemble": 2}, "evaluation": {"n_resamples": 0}}
    run = meddl.train(config, out=tmp_path / "run")
    saved = pd.read_csv(run.path / "predictions_test.csv")
    assert {"predicted", "predicted_sd", "predicted_low", "predicted_high"} <= set(saved.columns)
    assert (saved["predicted_low"] <= saved["predicted_high"]).all() and (saved["predicted_sd"] > 0).any()
    assert run.metrics["test"]["ensemble"]["metric"] == "mae"
    frame = meddl.data.load_builtin("diabetes-progression").frame.head(4)
    assert {"predicted", "predicted_sd"} <= set(run.predict(frame).columns)


def test_the_interval_of_a_calibrated_ensemble_surrounds_its_calibrated_probability(tmp_path):
    frame = patient_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = table_config(tmp_path / "t.csv", ensemble=3)
    config["evaluation"]["calibration"] = "temperature"
    run = meddl.train(config, out=tmp_path / "run")
    assert run.calibrator is not None
    predicted = run.predict(frame.drop(columns=["label"]))
    inside = (predicted["prob_disease_low"] <= predicted["prob_disease"] + 1e-9) & \
             (predicted["prob_disease"] <= predicted["prob_disease_high"] + 1e-9)
    # Members' probabilities are calibrated like the mean; a point outside their spread is the exception.
    assert inside.mean() >= 0.9
