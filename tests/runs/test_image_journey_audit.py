"""A clinician's images through train, predict and evaluate: what the 2026-12-02 journey audit found."""

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from PIL import Image

import meddl
from meddl.errors import ConfigError, DataError
from meddl.runs.datasets import load_images
from tests.data.conftest import write_dicom
from tests.runs.conftest import write_png_folder

QUICK = {"epochs": 1, "batch_size": 16}


def ct_folder(root, n_per_class=8):
    """CT slices in Hounsfield units (slope 2, intercept -1024): 'benign' at -100 HU, 'malignant' at 60 HU."""
    root.mkdir(parents=True, exist_ok=True)
    rng, rows = np.random.default_rng(0), []
    for label, level in (("benign", -100), ("malignant", 60)):
        for i in range(n_per_class):
            stored = np.round((rng.normal(level, 20, (12, 12)) + 1024) / 2).astype(np.uint16)
            write_dicom(root / f"{label}_{i}.dcm", stored, slope=2.0, intercept=-1024.0)
            rows.append((f"{label}_{i}.dcm", label))
    pd.DataFrame(rows, columns=["file", "label"]).to_csv(root / "labels.csv", index=False)
    return root


def dicom_config(root, **data):
    return {"task": "diagnosis", "data": {"source": "dicom", "path": str(root),
                                          "labels_csv": str(root / "labels.csv"), **data},
            "training": QUICK, "evaluation": {"n_resamples": 20}}


@pytest.fixture(scope="module")
def xray_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("xray")
    write_png_folder(root / "images", n_per_class=10)
    run = meddl.train({"task": "diagnosis", "data": {"source": "image_folder", "path": str(root / "images")},
                       "training": QUICK, "evaluation": {"n_resamples": 20}}, out=root / "run")
    return run, root


def test_a_windowed_dicom_run_keeps_the_window_and_a_raw_one_says_what_it_loses(tmp_path):
    root = ct_folder(tmp_path / "ct")
    windowed = meddl.train(dicom_config(root, window=[40, 400]), out=tmp_path / "windowed")
    assert json.loads((tmp_path / "windowed" / "preprocessing.json").read_text())["scaling"] == "none"
    x, _, _ = windowed.features([str(root / "malignant_0.dcm")])
    # 60 HU in the window 40 +- 200 is (60 - (40 - 200)) / 400 = 0.55: the level reaches the network
    assert abs(float(x.mean()) - 0.55) < 0.03
    raw = meddl.train(dicom_config(root), out=tmp_path / "raw")
    log = (tmp_path / "raw" / "train.log").read_text()
    assert "scaled by per_image_minmax" in log and "not its absolute values" in log and "data.window" in log
    assert raw.preprocessor.scaling_ == "per_image_minmax"


def test_image_options_of_another_source_are_refused_not_ignored(tmp_path):
    write_png_folder(tmp_path / "images", n_per_class=2)
    folder = {"task": "diagnosis", "data": {"source": "image_folder", "path": str(tmp_path / "images")}}
    config = meddl.load_config({**folder, "data": {**folder["data"], "labels_csv": "labels.csv"}})
    with pytest.raises(ConfigError, match=r"data.labels_csv is set .*'image_folder' does not read it.*subfolder"):
        load_images(config.data)
    windowed = {**folder, "data": {**folder["data"], "window": [40, 400]}}
    with pytest.raises(ConfigError, match=r"data.window is set .*'image_folder' does not read it.*'dicom' and 'nifti'"):
        load_images(meddl.load_config(windowed).data)


def test_nifti_volumes_are_refused_naming_a_file(tmp_path):
    rows = []
    for i in range(4):
        nib.save(nib.Nifti1Image(np.random.rand(6, 6, 5).astype(np.float32), np.eye(4)), tmp_path / f"v{i}.nii.gz")
        rows.append((f"v{i}.nii.gz", "tumour" if i % 2 else "healthy"))
    pd.DataFrame(rows, columns=["file", "label"]).to_csv(tmp_path / "labels.csv", index=False)
    config = meddl.load_config({"task": "diagnosis", "data": {"source": "nifti", "path": str(tmp_path),
                                                              "labels_csv": str(tmp_path / "labels.csv")}})
    with pytest.raises(DataError, match=r"holds 3-D volumes \(e.g. '.*v0.nii.gz', 6x6x5\).*2-D images"):
        load_images(config.data)


def test_data_color_reads_a_mixed_folder_as_grayscale(tmp_path):
    root = write_png_folder(tmp_path / "images", n_per_class=8)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8), "RGB").save(
        root / "normal" / "screenshot.JPG")
    config = {"task": "diagnosis", "data": {"source": "image_folder", "path": str(root), "color": "grayscale"},
              "training": QUICK, "evaluation": {"n_resamples": 20}}
    run = meddl.train(config, out=tmp_path / "run")
    assert run.info["input"]["input_shape"][-1] == 1


def test_predict_names_a_missing_file_and_a_volume(xray_run, tmp_path):
    run, _ = xray_run
    with pytest.raises(DataError, match=r"Image file or folder not found: '.*nowhere.png'"):
        run.predict(str(tmp_path / "nowhere.png"))
    with pytest.raises(DataError, match=r"Image file not found: '.*gone.png'"):
        run.predict([str(tmp_path / "gone.png")])
    nib.save(nib.Nifti1Image(np.random.rand(16, 16, 4).astype(np.float32), np.eye(4)), tmp_path / "vol.nii.gz")
    with pytest.raises(DataError, match=r"'.*vol.nii.gz' holds a 3-D image of 16x16x4 .*2-D images are expected"):
        run.predict(str(tmp_path / "vol.nii.gz"))


def test_evaluate_takes_a_folder_of_class_folders_and_names_an_unseen_class(xray_run, tmp_path):
    run, root = xray_run
    direct = run.evaluate(str(root / "images"), n_resamples=20)
    via_config = run.evaluate({"task": "diagnosis", "data": {"source": "image_folder", "path": str(root / "images")}},
                              n_resamples=20)
    assert direct["n"] == via_config["n"] == 20
    assert direct["metrics"]["auroc"]["value"] == pytest.approx(via_config["metrics"]["auroc"]["value"])
    new = write_png_folder(tmp_path / "new", n_per_class=2)
    (new / "covid").mkdir()
    Image.fromarray(np.zeros((16, 16), dtype=np.uint8)).save(new / "covid" / "c0.png")
    with pytest.raises(DataError, match=r"class\(es\) \['covid'\] that the run was not trained on .*covid/c0.png"):
        run.evaluate(str(new))


def test_an_npz_of_new_cases_with_only_a_test_split_is_predicted_and_evaluated(tmp_path):
    rng = np.random.default_rng(0)

    def split(n):
        labels = rng.integers(0, 2, (n, 1))
        return (np.clip(rng.normal(60 + 120 * labels[:, :, None], 20, (n, 12, 12)), 0, 255).astype(np.uint8),
                labels)
    parts = {name: split(n) for name, n in (("train", 24), ("val", 12), ("test", 12))}
    np.savez(tmp_path / "cells.npz", **{f"{k}_{kind}": v[i] for k, v in parts.items()
                                         for i, kind in enumerate(("images", "labels"))})
    run = meddl.train({"task": "diagnosis", "data": {"source": "medmnist", "path": str(tmp_path / "cells.npz"),
                                                     "class_names": ["normal", "blast"]},
                       "training": QUICK, "evaluation": {"n_resamples": 20}}, out=tmp_path / "run")
    images, labels = split(6)
    np.savez(tmp_path / "new.npz", test_images=images, test_labels=labels)
    predictions = run.predict(str(tmp_path / "new.npz"))
    assert list(predictions["row_id"]) == [f"test-{i}" for i in range(6)]
    assert run.evaluate(str(tmp_path / "new.npz"), n_resamples=20)["n"] == 6


def test_ct_stored_as_nifti_slices_can_be_windowed_too(tmp_path):
    slices, rows = tmp_path / "slices", []
    slices.mkdir()
    for i in range(12):
        label, level = ("tumour", 60.0) if i % 2 else ("healthy", -100.0)
        nib.save(nib.Nifti1Image(np.full((10, 10), level, dtype=np.float32), np.eye(4)), slices / f"s{i}.nii.gz")
        rows.append((f"s{i}.nii.gz", label))
    pd.DataFrame(rows, columns=["file", "label"]).to_csv(slices / "labels.csv", index=False)
    config = {"task": "diagnosis", "data": {"source": "nifti", "path": str(slices), "window": [40, 400],
                                            "labels_csv": str(slices / "labels.csv")},
              "training": QUICK, "evaluation": {"n_resamples": 20}}
    run = meddl.train(config, out=tmp_path / "run")
    assert run.preprocessor.scaling_ == "none"
    x, _, _ = run.features([str(slices / "s1.nii.gz"), str(slices / "s0.nii.gz")])
    np.testing.assert_allclose(x.reshape(2, -1).mean(axis=1), [0.55, 0.15], atol=1e-5)  # (HU - (40 - 200)) / 400
