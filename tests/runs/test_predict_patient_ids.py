"""Predictions carry the input's ``data.patient_id`` column, so they can be joined back to the patients."""

import pandas as pd

import meddl
from meddl.cli import main
from tests.runs.conftest import FAST, patient_table
from tests.runs.test_prognosis_treatment import treatment_table
from tests.serving.runs import TREATMENT_OPTIONS


def test_predict_and_the_cli_carry_the_patient_id_column_after_row_id(tmp_path):
    table = patient_table(n=200).assign(mrn=[f"MRN{i:05d}" for i in range(200)])
    table.to_csv(tmp_path / "train.csv", index=False)
    run = meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "train.csv"),
                                                     "label": "label", "patient_id": "mrn"},
                       "training": {**FAST, "epochs": 2}, "evaluation": {"n_resamples": 10, "calibration": "none"}},
                      out=tmp_path / "run")
    new = table.drop(columns=["label"]).iloc[[7, 3, 150]]
    predicted = run.predict(new)
    assert list(predicted.columns[:2]) == ["row_id", "patient_id"]
    assert predicted["patient_id"].tolist() == ["MRN00007", "MRN00003", "MRN00150"]
    assert predicted.drop(columns="patient_id").equals(run.predict(new.drop(columns="mrn")))  # nothing else moves
    assert "patient_id" in pd.read_csv(tmp_path / "run" / "predictions_test.csv").columns  # the same name

    new.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(tmp_path / "run"), str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    written = pd.read_csv(tmp_path / "p.csv")
    assert written["patient_id"].tolist() == ["MRN00007", "MRN00003", "MRN00150"]


def test_recommendations_carry_the_patient_id_column(tmp_path):
    table = treatment_table(n=200).assign(patient=[f"p{i}" for i in range(200)])
    table.to_csv(tmp_path / "t.csv", index=False)
    run = meddl.train({"task": "treatment", "data": {"source": "csv", "path": str(tmp_path / "t.csv"),
                                                     "treatment": "treated", "outcome": "score",
                                                     "patient_id": "patient"},
                       "model": {"preset": "tarnet", "options": {**TREATMENT_OPTIONS, "max_epochs": 5}},
                       "evaluation": {"n_resamples": 10}}, out=tmp_path / "run")
    recommended = run.recommend(table.drop(columns=["treated", "score"]).tail(4))
    assert list(recommended.columns[:2]) == ["row_id", "patient_id"]
    assert recommended["patient_id"].tolist() == ["p196", "p197", "p198", "p199"]
