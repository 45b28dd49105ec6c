import numpy as np
import pandas as pd
import pydicom
import pytest
from pydicom.data import get_testdata_file

from meddl.data import read_dicom_dataset, read_dicom_image
from meddl.errors import ConfigError, DataError

CT = get_testdata_file("CT_small.dcm")  # RescaleSlope 1, RescaleIntercept -1024
MR = get_testdata_file("MR_small.dcm")  # WindowCenter 600, WindowWidth 1600


def test_ct_rescale_gives_hounsfield_units():
    dataset = pydicom.dcmread(CT)
    values = read_dicom_image(CT)
    assert values.dtype == np.float32 and values.shape == (128, 128)
    np.testing.assert_array_equal(values, dataset.pixel_array.astype(np.float32) - 1024)


def test_written_file_with_slope_and_intercept(tmp_path, dicom_writer):
    pixels = np.array([[0, 10], [20, 30]], dtype=np.uint16)
    path = dicom_writer(tmp_path / "s.dcm", pixels, slope=2, intercept=-100)
    np.testing.assert_array_equal(read_dicom_image(path), [[-100, -80], [-60, -40]])


def test_window_maps_center_plus_minus_half_width_to_zero_one():
    hu = read_dicom_image(CT)
    windowed = read_dicom_image(CT, window=(40, 400))
    np.testing.assert_allclose(windowed, np.clip((hu + 160) / 400, 0, 1), atol=1e-6)
    assert windowed.min() == 0 and windowed.max() == 1


def test_header_window_uses_the_files_window():
    raw = read_dicom_image(MR)
    np.testing.assert_allclose(read_dicom_image(MR, window="header"), np.clip((raw + 200) / 1600, 0, 1), atol=1e-6)
    with pytest.raises(DataError, match="has no WindowCenter/WindowWidth; pass window="):
        read_dicom_image(CT, window="header")


def test_monochrome1_is_inverted(tmp_path, dicom_writer):
    pixels = np.array([[0, 100], [200, 1000]], dtype=np.uint16)
    mono1 = dicom_writer(tmp_path / "m1.dcm", pixels, photometric="MONOCHROME1")
    mono2 = dicom_writer(tmp_path / "m2.dcm", pixels)
    np.testing.assert_array_equal(read_dicom_image(mono2), pixels)
    np.testing.assert_array_equal(read_dicom_image(mono1), [[1000, 900], [800, 0]])
    windowed = read_dicom_image(mono1, window=(500, 1000))  # window in stored units, then inverted
    np.testing.assert_allclose(windowed, [[1.0, 0.9], [0.8, 0.0]], atol=1e-6)


def test_multiframe_and_colour_files():
    assert read_dicom_image(get_testdata_file("rtdose.dcm")).shape == (15, 10, 10)
    rgb = get_testdata_file("SC_rgb_rle.dcm")
    assert read_dicom_image(rgb).shape == (100, 100, 3)
    with pytest.raises(ConfigError, match="Windowing applies to grayscale images"):
        read_dicom_image(rgb, window=(100, 50))


@pytest.mark.parametrize(
    "path, message",
    [
        (get_testdata_file("reportsi.dcm"), r"has no pixel data \(a SR object, not an image\)"),
        (get_testdata_file("MR_truncated.dcm"), r"Could not decode the pixel data of DICOM file '.*MR_truncated.dcm'"),
    ],
)
def test_files_without_usable_pixels(path, message):
    with pytest.raises(DataError, match=message):
        read_dicom_image(path)


def test_missing_and_non_dicom_files(tmp_path):
    with pytest.raises(DataError, match="DICOM file not found: '.*nope.dcm'"):
        read_dicom_image(tmp_path / "nope.dcm")
    (tmp_path / "photo.dcm").write_bytes(b"\xff\xd8 a jpeg, not DICOM")
    with pytest.raises(DataError, match=r"'.*photo.dcm' is not a DICOM file \(.*DICM"):
        read_dicom_image(tmp_path / "photo.dcm")


@pytest.mark.parametrize("window", [(40,), (40, 0), "auto", ("a", 1)])
def test_invalid_window(window):
    with pytest.raises(ConfigError, match=r"The 'window' parameter must be None, 'header', or a \(center, width\)"):
        read_dicom_image(CT, window=window)


# ------------------------------------------------------------------ datasets
@pytest.fixture
def dicom_folder(tmp_path, dicom_writer):
    (tmp_path / "scans").mkdir()
    for index, name in enumerate(["a", "b", "c"]):
        dicom_writer(tmp_path / "scans" / f"{name}.dcm", np.full((6, 6), index * 10, dtype=np.uint16))
    pd.DataFrame({"file": ["a.dcm", "b.dcm", "c.dcm"], "diagnosis": ["benign", "malignant", "benign"]}).to_csv(
        tmp_path / "labels.csv", index=False
    )
    return tmp_path


def test_dataset_from_folder_and_labels_csv(dicom_folder):
    data = read_dicom_dataset(dicom_folder / "scans", dicom_folder / "labels.csv", label_column="diagnosis")
    assert data.images.shape == (3, 6, 6, 1) and data.images.dtype == np.float32
    assert data.class_names == ["benign", "malignant"]
    np.testing.assert_array_equal(data.labels, [0, 1, 0])
    np.testing.assert_array_equal(data.images[:, 0, 0, 0], [0, 10, 20])


def test_dataset_from_a_list_of_files_matched_by_name(dicom_folder):
    files = [dicom_folder / "scans" / "c.dcm", dicom_folder / "scans" / "b.dcm"]
    data = read_dicom_dataset(files, dicom_folder / "labels.csv", label_column="diagnosis")
    np.testing.assert_array_equal(data.labels, [0, 1])
    assert data.paths == [str(f) for f in files]
    other = dicom_folder / "other.dcm"
    other.write_bytes(b"")
    with pytest.raises(DataError, match=r"File '.*other.dcm' has no row in the labels table \(column 'file'\)"):
        read_dicom_dataset([other], dicom_folder / "labels.csv", label_column="diagnosis")


def test_dataset_resizes_with_image_size(dicom_folder, dicom_writer):
    dicom_writer(dicom_folder / "scans" / "b.dcm", np.full((12, 12), 10, dtype=np.uint16))
    with pytest.raises(DataError, match=r"different sizes .*\(12, 12\): 1.*Pass image_size="):
        read_dicom_dataset(dicom_folder / "scans", dicom_folder / "labels.csv", label_column="diagnosis")
    data = read_dicom_dataset(dicom_folder / "scans", dicom_folder / "labels.csv", label_column="diagnosis",
                              image_size=6)
    assert data.images.shape == (3, 6, 6, 1) and data.resized_from == {(12, 12): 1}
    np.testing.assert_allclose(data.images[1], 10, atol=1e-4)  # a constant image stays constant


def test_dataset_skips_or_names_unreadable_files(dicom_folder):
    (dicom_folder / "scans" / "b.dcm").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"'.*b.dcm' is not a DICOM file"):
        read_dicom_dataset(dicom_folder / "scans", dicom_folder / "labels.csv", label_column="diagnosis")
    data = read_dicom_dataset(dicom_folder / "scans", dicom_folder / "labels.csv", label_column="diagnosis",
                              skip_unreadable=True)
    assert len(data) == 2 and data.skipped == [str(dicom_folder / "scans" / "b.dcm")]
    assert data.class_names == ["benign"]


def test_dataset_label_table_errors(dicom_folder):
    labels = dicom_folder / "labels.csv"
    with pytest.raises(DataError, match=r"label_column='diagnosys' is not a column of .* Did you mean 'diagnosis'"):
        read_dicom_dataset(dicom_folder / "scans", labels, label_column="diagnosys")
    table = pd.DataFrame({"file": ["a.dcm", "b.dcm", "zzz.dcm"], "label": ["x", None, "y"]})
    with pytest.raises(DataError, match="1 row has a missing value in label column 'label'"):
        read_dicom_dataset(dicom_folder / "scans", table)
    table = pd.DataFrame({"file": ["a.dcm", "zzz.dcm"], "label": ["x", "y"]})
    with pytest.raises(DataError, match=r"File not found: '.*zzz.dcm' \(listed in column 'file'\)"):
        read_dicom_dataset(dicom_folder / "scans", table)
    table = pd.DataFrame({"file": ["a.dcm", "a.dcm"], "label": ["x", "y"]})
    with pytest.raises(DataError, match="lists files more than once, e.g. 'a.dcm'"):
        read_dicom_dataset(dicom_folder / "scans", table)
    with pytest.raises(DataError, match="Image folder not found"):
        read_dicom_dataset(dicom_folder / "nope", labels, label_column="diagnosis")
