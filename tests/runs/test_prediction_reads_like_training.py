"""Predicting a run's own test images from disk reproduces its predictions_test.csv exactly, for every image source.

Before: prediction had its own image reader, which clipped 16-bit PNGs to 8 bits
(``convert("L")``), ignored the DICOM window and ``data.image_size`` of MedMNIST
arrays, and failed with a NumPy traceback on folders mixing grayscale and RGB images.
"""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.errors import DataError
from tests.data.conftest import write_dicom, write_png

N_PER_CLASS = 10


def _pattern(rng, label, size, high):
    image = rng.uniform(0, high * 0.3, (size, size))
    if label == "opacity":
        image[3:9, 3:9] = high * rng.uniform(0.6, 1.0)
    return image


def _png_folder(root, *, bits=8, rgb=False, mixed=False):
    rng = np.random.default_rng(0)
    for label in ("normal", "opacity"):
        for i in range(N_PER_CLASS):
            size = 16 + 4 * (i % 2) if mixed else 16
            high = 4000 if bits == 16 else 255
            image = _pattern(rng, label, size, high)
            if bits == 16:
                array = image.astype(np.uint16)
            elif rgb or (mixed and i % 3 == 0):
                array = np.stack([image, image * 0.5, 255 - image], axis=-1).astype(np.uint8)
            else:
                array = image.astype(np.uint8)
            write_png(root / label / f"{label}_{i}.png", array)
    return {"source": "image_folder", "path": str(root), **({"image_size": 16} if mixed else {})}


def _labelled_files(root, suffix, write):
    rng = np.random.default_rng(1)
    root.mkdir(parents=True)
    rows = []
    for label in ("normal", "opacity"):
        for i in range(N_PER_CLASS):
            name = f"{label}_{i}{suffix}"
            write(root / name, _pattern(rng, label, 16, 3000))
            rows.append({"file": name, "label": label})
    pd.DataFrame(rows).to_csv(root / "labels.csv", index=False)
    return {"path": str(root), "labels_csv": str(root / "labels.csv")}


def _dicom(root):
    return {"source": "dicom", "window": [1500, 3000],
            **_labelled_files(root, ".dcm", lambda p, a: write_dicom(p, a.astype(np.int16)))}


def _nifti(root):
    return {"source": "nifti",
            **_labelled_files(root, ".nii.gz", lambda p, a: nib.save(nib.Nifti1Image(a.astype(np.float32), np.eye(4)), p))}


def _medmnist(root):
    rng = np.random.default_rng(2)
    arrays = {}
    for split, n in (("train", 16), ("val", 8), ("test", 8)):
        labels = np.arange(n) % 2
        arrays[f"{split}_images"] = np.stack([_pattern(rng, "opacity" if y else "normal", 14, 255)
                                              for y in labels]).astype(np.uint8)
        arrays[f"{split}_labels"] = labels[:, None]
    root.mkdir()
    np.savez(root / "tiny.npz", **arrays)
    return {"source": "medmnist", "path": str(root / "tiny.npz"), "image_size": 16}


SOURCES = {
    "image_folder_8bit": lambda root: _png_folder(root),
    "image_folder_16bit": lambda root: _png_folder(root, bits=16),
    "image_folder_rgb": lambda root: _png_folder(root, rgb=True),
    "image_folder_gray_and_rgb_of_two_sizes": lambda root: _png_folder(root, mixed=True),
    "dicom": _dicom,
    "nifti": _nifti,
    "medmnist_npz": _medmnist,
}


def _train(data, out):
    return meddl.train({"task": "diagnosis", "data": {**data, "positive_class": "1" if data["source"] == "medmnist"
                                                      else "opacity"},
                        "model": "seed-cnn", "training": {"epochs": 1, "batch_size": 8, "augmentation": False},
                        "evaluation": {"n_resamples": 0, "conformal_coverage": None}}, out=out)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_predicting_the_runs_own_test_images_reproduces_predictions_test_csv(tmp_path, source):
    data = SOURCES[source](tmp_path / "data")
    run = _train(data, tmp_path / "run")
    saved = pd.read_csv(run.path / "predictions_test.csv", dtype={"row_id": str}, float_precision="round_trip")
    if source == "medmnist_npz":
        predicted = run.predict(data["path"])
    else:
        predicted = meddl.load_run(run.path).predict(saved["row_id"].tolist())
    predicted.to_csv(tmp_path / "again.csv", index=False)
    again = pd.read_csv(tmp_path / "again.csv", dtype={"row_id": str}, float_precision="round_trip")
    columns = [c for c in saved.columns if c.startswith("prob_")] + ["predicted"]
    assert list(again["row_id"]) == list(saved["row_id"])
    pd.testing.assert_frame_equal(again[columns], saved[columns], check_exact=True)


def test_a_folder_of_16_bit_pngs_is_predicted_from_its_full_range(tmp_path):
    data = _png_folder(tmp_path / "data", bits=16)
    run = _train(data, tmp_path / "run")
    saved = pd.read_csv(run.path / "predictions_test.csv", dtype={"row_id": str})
    predicted = run.predict(tmp_path / "data").set_index("row_id").loc[saved["row_id"]]
    np.testing.assert_array_equal(predicted["predicted"].to_numpy(), saved["predicted"].to_numpy())


def test_images_of_different_sizes_without_image_size_are_refused_naming_files(tmp_path):
    _png_folder(tmp_path / "data", mixed=True)
    with pytest.raises(DataError, match=r"different sizes .*_\d\.png.*data\.image_size"):
        _train({"source": "image_folder", "path": str(tmp_path / "data")}, tmp_path / "run")


def test_a_list_mixing_png_and_dicom_files_is_refused_naming_both(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    write_dicom(tmp_path / "b.dcm", np.zeros((4, 4), np.int16))
    with pytest.raises(DataError, match=r"different kinds .*a\.png.*b\.dcm"):
        meddl.data.read_image_files([tmp_path / "a.png", tmp_path / "b.dcm"])
