import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from meddl.data import read_nifti, read_nifti_dataset
from meddl.errors import DataError


def _save(path, array, affine=None, slope=None, inter=None):
    image = nib.Nifti1Image(np.asarray(array), np.eye(4) if affine is None else affine)
    if slope is not None:
        image.header.set_slope_inter(slope, inter)
    nib.save(image, path)
    return path


def test_volume_with_scaling_is_read_as_float32(tmp_path):
    stored = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    volume = read_nifti(_save(tmp_path / "v.nii.gz", stored, slope=2.0, inter=10.0))
    assert volume.dtype == np.float32 and volume.shape == (2, 3, 4)
    np.testing.assert_array_equal(volume, stored * 2 + 10)


def test_2d_image_stored_with_a_trailing_axis_comes_back_2d(tmp_path):
    image = read_nifti(_save(tmp_path / "i.nii", np.ones((5, 7, 1), dtype=np.float32)))
    assert image.shape == (5, 7)


def test_canonical_reorients_to_ras(tmp_path):
    stored = np.arange(8, dtype=np.float32).reshape(2, 2, 2)
    path = _save(tmp_path / "lps.nii.gz", stored, affine=np.diag([-1.0, 1.0, 1.0, 1.0]))
    np.testing.assert_array_equal(read_nifti(path), stored)
    np.testing.assert_array_equal(read_nifti(path, canonical=True), stored[::-1])


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("missing.nii", None, "NIfTI file not found"),
        ("scan.img", b"x", r"'.*scan.img' is not a NIfTI file: expected a name ending in .nii or .nii.gz"),
        ("junk.nii", b"garbage" * 60, r"Could not read NIfTI file '.*junk.nii'"),
        ("junk.nii.gz", b"garbage", r"Could not read NIfTI file '.*junk.nii.gz'"),
    ],
)
def test_bad_files_are_named(tmp_path, name, content, message):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_nifti(tmp_path / name)


def test_truncated_file_and_4d_series(tmp_path):
    path = _save(tmp_path / "t.nii", np.ones((8, 8, 8), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match=r"Could not read NIfTI file '.*t.nii'"):
        read_nifti(path)
    path = _save(tmp_path / "series.nii.gz", np.ones((3, 3, 3, 2), dtype=np.float32))
    with pytest.raises(DataError, match=r"has shape \(3, 3, 3, 2\).*4-D series are not supported"):
        read_nifti(path)


def test_dataset_of_volumes_with_resizing(tmp_path):
    (tmp_path / "vols").mkdir()
    _save(tmp_path / "vols" / "p1.nii.gz", np.full((4, 4, 4), 1.0, dtype=np.float32))
    _save(tmp_path / "vols" / "p2.nii.gz", np.full((8, 8, 8), 2.0, dtype=np.float32))
    labels = pd.DataFrame({"path": ["p1.nii.gz", "p2.nii.gz"], "outcome": [1, 0]})
    data = read_nifti_dataset(tmp_path / "vols", labels, file_column="path", label_column="outcome", image_size=4)
    assert data.images.shape == (2, 4, 4, 4, 1) and data.images.dtype == np.float32
    np.testing.assert_array_equal(data.labels, [1, 0])
    assert data.class_names == ["0", "1"]
    assert data.resized_from == {(8, 8, 8): 1}
    np.testing.assert_allclose(data.images[1], 2.0, atol=1e-5)
    with pytest.raises(DataError, match="different sizes"):
        read_nifti_dataset(tmp_path / "vols", labels, file_column="path", label_column="outcome")
