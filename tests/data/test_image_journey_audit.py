"""A clinician's image files through the data readers: what the 2026-12-02 journey audit found."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from meddl.data import ImagePreprocessor, image_file_kind, list_image_files, load_medmnist_npz, read_image_folder
from meddl.errors import ConfigError, DataError
from tests.data.conftest import write_dicom


def test_windowed_values_are_kept_not_min_max_scaled_per_image():
    # two windowed CT slices, one at the window's low end and one at its high end: their level is the signal
    low = np.full((2, 4, 4, 1), 0.2, dtype=np.float32)
    low[1] = 0.8
    low[:, 0, 0] += 0.1
    kept = ImagePreprocessor(scaling="none").fit(low)
    assert kept.scaling_ == "none"
    np.testing.assert_allclose(kept.transform(low), low)
    auto = ImagePreprocessor().fit(low)  # float images, no window: each image to its own 0..1
    assert auto.scaling_ == "per_image_minmax"
    assert auto.transform(low)[0].max() == auto.transform(low)[1].max() == 1.0
    restored = ImagePreprocessor.from_dict(kept.to_dict())
    np.testing.assert_allclose(restored.transform(low), low)


def test_a_windowed_model_given_8_bit_or_raw_values_scales_them_and_says_so():
    preprocessor = ImagePreprocessor(scaling="none").fit(np.full((2, 4, 4, 1), 0.5, dtype=np.float32))
    png = np.full((1, 4, 4, 1), 51, dtype=np.uint8)
    np.testing.assert_allclose(preprocessor.transform(png), 0.2)
    assert "8-bit image(s) divided by 255" in preprocessor.notes_[0]
    hounsfield = np.linspace(-1000, 1000, 16, dtype=np.float32).reshape(1, 4, 4, 1)
    scaled = preprocessor.transform(hounsfield)
    assert scaled.min() == 0 and scaled.max() == 1
    assert "not windowed as the training images were" in preprocessor.notes_[0]


def test_unknown_scaling_is_refused_by_name():
    with pytest.raises(ConfigError, match=r"'scaling' parameter of ImagePreprocessor must be one of .*Got 'minmax'"):
        ImagePreprocessor(scaling="minmax").fit(np.zeros((1, 4, 4, 1), dtype=np.uint8))


def test_volumes_are_refused_as_volumes_not_as_a_shape_puzzle():
    preprocessor = ImagePreprocessor().fit(np.zeros((2, 8, 8, 1), dtype=np.float32))
    with pytest.raises(DataError, match=r"3-D volumes .*NIfTI volumes or multi-frame DICOM.*2-D images"):
        preprocessor.transform(np.zeros((1, 8, 8, 8, 1), dtype=np.float32))


def _mixed_folder(root):
    rng = np.random.default_rng(0)
    for label in ("normal", "pneumonia"):
        (root / label).mkdir(parents=True)
        for i in range(3):
            grey = rng.integers(0, 255, (8, 8), dtype=np.uint8)
            Image.fromarray(grey).save(root / label / f"grey{i}.PNG")
        colour = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(colour, "RGB").save(root / label / "colour.JPG")
    return root


def test_a_folder_mixing_grey_and_colour_says_so(tmp_path):
    data = read_image_folder(_mixed_folder(tmp_path / "xray"))
    assert data.images.shape[-1] == 3
    (note,) = [n for n in data.notes if "grayscale" in n]
    assert "6 of 8 images are grayscale" in note and "2 in colour" in note and "colour.JPG" in note
    assert "data.color" in note
    grey = read_image_folder(tmp_path / "xray", color="grayscale")
    assert grey.images.shape[-1] == 1 and not [n for n in grey.notes if "grayscale" in n]


def _split(n, rng):
    return rng.integers(0, 255, (n, 8, 8), dtype=np.uint8), rng.integers(0, 2, (n, 1))


def test_an_npz_of_new_cases_may_hold_one_split(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = _split(5, rng)
    np.savez(tmp_path / "new.npz", test_images=images, test_labels=labels)
    with pytest.raises(DataError, match="no key 'train_images'"):
        load_medmnist_npz(tmp_path / "new.npz")  # a training file needs its three splits
    splits = load_medmnist_npz(tmp_path / "new.npz", all_splits=False)
    assert list(splits) == ["test"] and splits["test"][0].shape == (5, 8, 8, 1)
    np.savez(tmp_path / "half.npz", test_images=images)
    with pytest.raises(DataError, match="no key 'test_labels'"):
        load_medmnist_npz(tmp_path / "half.npz", all_splits=False)


def test_dicom_files_named_by_uid_or_without_suffix_are_found_in_a_folder(tmp_path):
    series = tmp_path / "export" / "series1"
    series.mkdir(parents=True)
    write_dicom(series / "1.2.840.113619.2.55.3.5", np.full((4, 4), 100, dtype=np.uint16))
    write_dicom(series / "IM0001", np.full((4, 4), 100, dtype=np.uint16))
    write_dicom(tmp_path / "export" / "DICOMDIR", np.full((4, 4), 100, dtype=np.uint16))  # an index, not an image
    (series / "notes.5").write_text("not an image")
    assert image_file_kind(series / "1.2.840.113619.2.55.3.5") == "dicom"
    assert image_file_kind(series / "notes.5") is None
    assert [Path(p).name for p in list_image_files(tmp_path / "export")] == ["1.2.840.113619.2.55.3.5", "IM0001"]
