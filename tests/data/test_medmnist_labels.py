"""Issue 13, item 11: MedMNIST-style labels of -1 or non-integers are refused; odd shapes are reported as given."""

import numpy as np
import pytest

from meddl.data import load_medmnist_npz
from meddl.errors import DataError


def _npz(path, images=None, labels=None):
    arrays = {}
    for split in ("train", "val", "test"):
        arrays[f"{split}_images"] = np.zeros((4, 28, 28), np.uint8) if images is None else images
        arrays[f"{split}_labels"] = np.asarray([[0], [1], [0], [1]]) if labels is None else labels
    np.savez(path, **arrays)
    return path


def test_negative_labels_are_refused_not_read_as_the_last_class(tmp_path):
    path = _npz(tmp_path / "m.npz", labels=np.asarray([[0], [1], [-1], [-1]]))
    with pytest.raises(DataError, match=r"'train_labels' in '.*m.npz' holds 2 negative labels \(e.g. -1\); "
                                        r"expected class indices 0, 1, \.\.\. A label of -1"):
        load_medmnist_npz(path)


@pytest.mark.parametrize("labels, shown", [(np.asarray([0.0, 1.5, 1.0, 0.0]), "1.5"),
                                           (np.asarray([0.0, np.nan, 1.0, 0.0]), "nan")])
def test_non_integer_labels_are_refused_with_a_count(tmp_path, labels, shown):
    with pytest.raises(DataError, match=rf"holds 1 non-integer labels \(e.g. {shown}\)"):
        load_medmnist_npz(_npz(tmp_path / "m.npz", labels=labels))


def test_text_labels_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"'train_labels' .* has dtype <U1; expected integer class indices"):
        load_medmnist_npz(_npz(tmp_path / "m.npz", labels=np.asarray(["a", "b", "a", "b"])))


def test_five_channel_images_are_reported_with_the_shape_as_given(tmp_path):
    path = _npz(tmp_path / "m.npz", images=np.zeros((4, 28, 28, 5), np.uint8))
    with pytest.raises(DataError, match=r"has shape \(4, 28, 28, 5\): 5 channels\. Expected 1 \(grayscale\) or 3"):
        load_medmnist_npz(path)


def test_volumes_and_rgb_still_load(tmp_path):
    assert load_medmnist_npz(_npz(tmp_path / "v.npz", images=np.zeros((4, 28, 28, 28), np.uint8)))["train"][0].shape \
        == (4, 28, 28, 28, 1)
    assert load_medmnist_npz(_npz(tmp_path / "c.npz", images=np.zeros((4, 28, 28, 3), np.uint8)))["train"][0].shape \
        == (4, 28, 28, 3)
