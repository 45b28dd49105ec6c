"""A CSV of patients on the web page: the run's patient identifier column comes back beside each answer."""

import csv
import io

import meddl
from meddl.serving import ServedModel
from meddl.serving.web.answers import batch_view
from tests.runs.conftest import FAST, patient_table


def test_the_download_echoes_the_patient_id_column_and_does_not_call_it_ignored(tmp_path):
    table = patient_table(n=150, patients=150)
    table.to_csv(tmp_path / "train.csv", index=False)
    meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "train.csv"), "label": "label",
                                               "patient_id": "patient"},
                 "training": {**FAST, "epochs": 2}, "evaluation": {"n_resamples": 10}}, out=tmp_path / "run")
    upload = table.drop(columns=["label"]).iloc[[4, 9, 2]].assign(ward="7B").astype({"crp": object})
    upload.loc[upload.index[1], "crp"] = "abc"  # a row the model cannot take keeps its identifier too
    view = batch_view(ServedModel("dx", tmp_path / "run"), upload.to_csv(index=False).encode())
    rows = list(csv.DictReader(io.StringIO(view.csv_bytes.decode())))
    assert [r["patient"] for r in rows] == ["p004", "p009", "p002"]
    assert list(rows[0])[:2] == ["row", "patient"] and "patient" in view.columns
    assert view.ignored_columns == ["ward"]
    assert rows[0]["prob_sepsis"] and not rows[1]["prob_sepsis"] and "crp" in rows[1]["error"]
