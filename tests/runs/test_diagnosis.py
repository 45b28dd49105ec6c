"""Diagnosis end to end on small generated files: every source, the run folder, predict, errors."""

import json

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl import ConfigError, DataError

from .conftest import FAST, diagnosis_config, patient_table, write_png_folder

RUN_FILES = {"config.yaml", "run.json", "model", "preprocessing.json", "metrics.json", "history.csv", "split.csv",
             "predictions_val.csv", "predictions_test.csv", "train.log", "report.html"}


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("table")
    path = root / "patients.csv"
    patient_table(patients=120).to_csv(path, index=False)
    run = meddl.train(diagnosis_config(path, patient_id="patient"), out=root / "run")
    return run, path


def test_run_folder_holds_everything(table_run):
    run, _ = table_run
    assert RUN_FILES <= {p.name for p in run.path.iterdir()}
    info = json.loads((run.path / "run.json").read_text())
    assert info["class_names"] == ["no sepsis", "sepsis"] and info["positive_class"] == "sepsis"
    assert 0 < info["threshold"] < 1
    assert {c["name"]: c["type"] for c in info["input"]["columns"]} == {
        "age": "numeric", "crp": "numeric", "noise": "numeric", "sex": "categorical", "site": "categorical"}
    metrics = run.metrics
    for split in ("val", "test"):
        for name in ("auroc", "accuracy", "sensitivity", "specificity"):
            entry = metrics[split]["metrics"][name]
            assert entry["value"] is not None and entry["ci95"][0] <= entry["value"] <= entry["ci95"][1]
    assert metrics["test"]["metrics"]["auroc"]["value"] > 0.8
    assert metrics["threshold"] == info["threshold"]
    history = pd.read_csv(run.path / "history.csv")
    assert {"epoch", "loss", "val_loss", "val_auc"} <= set(history.columns)
    assert "Decision threshold" in (run.path / "train.log").read_text()


def test_no_patient_crosses_splits(table_run):
    run, _ = table_run
    split = pd.read_csv(run.path / "split.csv")
    assert split.groupby("patient_id")["split"].nunique().max() == 1
    assert set(split["split"]) == {"train", "val", "test"}


def test_predict_on_raw_rows_reproduces_the_test_predictions(table_run):
    run, path = table_run
    raw = pd.read_csv(path)
    split = pd.read_csv(run.path / "split.csv", dtype={"row_id": str})
    test_rows = raw.loc[split["split"].to_numpy() == "test"]
    shuffled_columns = test_rows[["site", "label", "noise", "crp", "sex", "age", "patient"]]  # any order
    predicted = run.predict(shuffled_columns)
    saved = pd.read_csv(run.path / "predictions_test.csv", float_precision="round_trip")
    np.testing.assert_array_equal(predicted["prob_sepsis"].to_numpy(), saved["prob_sepsis"].to_numpy())
    assert list(predicted["predicted"]) == list(saved["predicted"])
    reloaded = meddl.load_run(run.path).predict(path)
    assert len(reloaded) == len(raw) and {"prob_sepsis", "prob_no sepsis", "predicted", "prediction_set"} <= set(reloaded.columns)


def test_predict_errors_name_the_column(table_run):
    run, path = table_run
    raw = pd.read_csv(path).head(5)
    with pytest.raises(DataError, match="crp"):
        run.predict(raw.drop(columns=["crp"]))
    with pytest.raises(DataError, match=r"site.*'Z'"):
        run.predict(raw.assign(site="Z"))
    with pytest.raises(DataError, match="age"):
        run.predict(raw.assign(age="old"))


def test_evaluate_on_new_labelled_data(table_run, tmp_path):
    run, _ = table_run
    other = tmp_path / "other.csv"
    patient_table(n=200, seed=5).to_csv(other, index=False)
    metrics = run.evaluate(other, n_resamples=50)
    assert metrics["n"] == 200 and metrics["metrics"]["auroc"]["value"] > 0.75
    assert metrics["recalibration"]["recommended"] in ("none", "intercept", "logistic")
    # a site where sepsis is four times rarer: the run's risks are too high there, and the test says so
    site = patient_table(n=600, seed=6)
    sepsis = site.index[site["label"] == "sepsis"]
    site = site.drop(sepsis[np.arange(len(sepsis)) % 4 != 0])
    shifted = run.evaluate(site, n_resamples=0)["recalibration"]
    assert shifted["recommended"] in ("intercept", "logistic") and shifted["intercept_update"] < -0.5
    assert shifted["mean_probability"] > shifted["observed_rate"]
    with pytest.raises(DataError, match="no label column 'label'"):
        run.evaluate(pd.read_csv(other).drop(columns=["label"]))


def test_missing_labels_are_refused_with_a_count(tmp_path):
    frame = patient_table()
    frame.loc[:13, "label"] = np.nan
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="14 rows have a missing value in label column 'label'"):
        meddl.train(diagnosis_config(tmp_path / "t.csv"), out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_unknown_label_or_feature_column(tmp_path):
    patient_table().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="data.label: column 'outcome' is not in"):
        meddl.train({**diagnosis_config(tmp_path / "t.csv"), "data": {"source": "csv", "path": str(tmp_path / "t.csv"),
                                                                    "label": "outcome"}})
    with pytest.raises(DataError, match=r"data.features lists column\(s\) \['bmi'\]"):
        meddl.train(diagnosis_config(tmp_path / "t.csv", features=["age", "bmi"]))
    with pytest.raises(DataError, match=r"data.features lists column\(s\) \['sexx'\].*Did you mean 'sex'"):
        meddl.train(diagnosis_config(tmp_path / "t.csv", features=["age", "sexx"]))
    misspelt_id = {**diagnosis_config(tmp_path / "t.csv")}
    misspelt_id["data"] = {**misspelt_id["data"], "patient_id": "stie"}
    with pytest.raises(DataError, match=r"data.patient_id: column 'stie' is not in .*Did you mean 'site'.*"
                                        r"Available columns: \["):
        meddl.train(misspelt_id)


def test_parquet_and_seed_mlp_and_fixed_threshold(tmp_path):
    patient_table().to_parquet(tmp_path / "t.parquet")
    config = diagnosis_config(tmp_path / "t.parquet")
    config["data"]["source"] = "parquet"
    config["model"] = "seed-mlp"
    config["evaluation"]["threshold"] = {"method": "fixed", "value": 0.3}
    run = meddl.train(config, out=tmp_path / "run")
    assert run.threshold == 0.3
    assert run.info["model"]["preset"] == "seed-mlp"


def test_custom_layers_and_multiclass(tmp_path):
    frame = patient_table()
    frame["label"] = pd.cut(frame["age"], [0, 55, 65, 200], labels=["young", "middle", "old"]).astype(str)
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = diagnosis_config(tmp_path / "t.csv")
    del config["data"]["positive_class"]
    config["model"] = [{"type": "Dense", "units": 16, "activation": "relu"},
                       {"type": "Dense", "units": 3, "activation": "softmax"}]
    run = meddl.train(config, out=tmp_path / "run")
    assert run.info["problem"] == "multiclass" and run.threshold is None
    assert "auroc" in run.metrics["test"]["metrics"]
    assert run.predict(frame.head(4))["predicted"].isin(["young", "middle", "old"]).all()


def test_image_folder_source(tmp_path):
    write_png_folder(tmp_path / "images")
    run = meddl.train({"task": "diagnosis", "data": {"source": "image_folder", "path": str(tmp_path / "images")},
                       "model": "seed-cnn", "training": {**FAST, "epochs": 4}, "evaluation": {"n_resamples": 20}},
                      out=tmp_path / "run")
    assert run.info["input"] == {"kind": "image", "input_shape": [16, 16, 1]}
    predictions = run.predict(tmp_path / "images")
    assert len(predictions) == 48 and set(predictions["predicted"]) <= {"normal", "opacity"}


def test_medmnist_npz_keeps_its_own_split(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 80), ("val", 30), ("test", 30)):
        labels = rng.integers(0, 2, (n, 1)).astype(np.uint8)
        images = rng.integers(0, 80, (n, 28, 28), dtype=np.uint8)
        images[labels[:, 0] == 1, 5:15, 5:15] = 250
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    np.savez(tmp_path / "tiny.npz", **arrays)
    run = meddl.train({"task": "diagnosis",
                       "data": {"source": "medmnist", "path": str(tmp_path / "tiny.npz"), "class_names": ["normal", "pneumonia"]},
                       "model": {"preset": "default", "options": {"width": 8}},
                       "training": {**FAST, "epochs": 3}, "evaluation": {"n_resamples": 20}}, out=tmp_path / "run")
    assert run.info["data_summary"]["split_sizes"] == {"train": 80, "val": 30, "test": 30}
    assert "Used the data's own" in (run.path / "train.log").read_text()
    assert len(run.predict(tmp_path / "tiny.npz")) == 30


def test_regression_on_builtin_diabetes(tmp_path):
    run = meddl.train({"task": "regression", "data": {"source": "builtin", "name": "diabetes-progression"},
                       "training": {"epochs": 30}, "evaluation": {"n_resamples": 50}}, out=tmp_path / "run")
    metrics = run.metrics["test"]["metrics"]
    assert {"mse", "mae", "r2"} <= set(metrics) and metrics["r2"]["value"] > 0.2
    frame = meddl.data.load_builtin("diabetes-progression").frame
    assert run.predict(frame.head(3))["predicted"].between(0, 500).all()


def test_task_and_source_mismatch(tmp_path):
    write_png_folder(tmp_path / "images", n_per_class=3)
    with pytest.raises(ConfigError, match="holds images"):
        meddl.train({"task": "regression", "data": {"source": "image_folder", "path": str(tmp_path / "images")}})


def _scan(rng, label, size=20):
    pixels = rng.integers(0, 200, (size, size)).astype(np.uint16)
    if label == "lesion":
        pixels[4:10, 4:10] += 900
    return pixels


def test_dicom_source_with_labels_csv(tmp_path):
    from ..data.conftest import write_dicom

    rng = np.random.default_rng(0)
    rows = []
    (tmp_path / "scans").mkdir()
    for i in range(40):
        label = "lesion" if i % 2 else "normal"
        write_dicom(tmp_path / "scans" / f"s{i}.dcm", _scan(rng, label), slope=1, intercept=-1024)
        rows.append({"file": f"s{i}.dcm", "finding": label})
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    run = meddl.train({"task": "diagnosis",
                       "data": {"source": "dicom", "path": str(tmp_path / "scans"), "labels_csv": str(tmp_path / "labels.csv"),
                                "label_column": "finding", "image_size": 16},
                       "model": "seed-cnn", "training": {**FAST, "epochs": 3},
                       "evaluation": {"n_resamples": 0, "conformal_coverage": None}}, out=tmp_path / "run")
    assert run.info["input"]["input_shape"] == [16, 16, 1]
    assert run.info["data_summary"]["n_rows"] == 40
    assert len(run.predict(tmp_path / "scans" / "s1.dcm")) == 1


def test_nifti_source_with_labels_csv(tmp_path):
    import nibabel

    rng = np.random.default_rng(1)
    rows = []
    (tmp_path / "nii").mkdir()
    for i in range(40):
        label = "lesion" if i % 2 else "normal"
        nibabel.save(nibabel.Nifti1Image(_scan(rng, label).astype(np.float32), np.eye(4)), tmp_path / "nii" / f"v{i}.nii.gz")
        rows.append({"file": f"v{i}.nii.gz", "label": label})
    pd.DataFrame(rows).to_csv(tmp_path / "labels.csv", index=False)
    run = meddl.train({"task": "diagnosis",
                       "data": {"source": "nifti", "path": str(tmp_path / "nii"), "labels_csv": str(tmp_path / "labels.csv")},
                       "model": "seed-cnn", "training": {**FAST, "epochs": 3},
                       "evaluation": {"n_resamples": 0, "conformal_coverage": None}}, out=tmp_path / "run")
    assert run.info["input"]["input_shape"] == [20, 20, 1]


def test_corrupt_image_fails_with_its_path_or_is_skipped(tmp_path):
    write_png_folder(tmp_path / "images", n_per_class=12)
    (tmp_path / "images" / "normal" / "broken.png").write_bytes(b"not a png at all")
    config = {"task": "diagnosis", "data": {"source": "image_folder", "path": str(tmp_path / "images")},
              "model": "seed-cnn", "training": {**FAST, "epochs": 1},
              "evaluation": {"n_resamples": 0, "conformal_coverage": None}}
    with pytest.raises(DataError, match="broken.png"):
        meddl.train(config, out=tmp_path / "run")
    config["data"]["skip_unreadable"] = True
    run = meddl.train(config, out=tmp_path / "run")
    log = (run.path / "train.log").read_text()
    assert "1 unreadable file(s) skipped" in log and run.info["data_summary"]["n_rows"] == 24


def test_images_are_resized_to_the_model_input_with_a_note(tmp_path):
    write_png_folder(tmp_path / "images", n_per_class=12, size=24)
    run = meddl.train({"task": "diagnosis", "data": {"source": "image_folder", "path": str(tmp_path / "images"),
                                                     "image_size": 16},
                       "model": "seed-cnn", "training": {**FAST, "epochs": 1},
                       "evaluation": {"n_resamples": 0, "conformal_coverage": None}}, out=tmp_path / "run")
    assert run.info["input"]["input_shape"] == [16, 16, 1]
    assert "resized" in (run.path / "train.log").read_text().lower()
    write_png_folder(tmp_path / "bigger", n_per_class=2, size=32)
    assert len(run.predict(tmp_path / "bigger")) == 4  # 32-px images resized to the model's 16 px
