import hashlib
import re
import urllib.error

import numpy as np
import pytest

from meddl.data import load_medmnist, load_medmnist_npz, medmnist_data_dir, medmnist_info, resolve_medmnist
from meddl.data import medmnist as medmnist_module
from meddl.data.medmnist_info import MEDMNIST_INFO
from meddl.errors import ConfigError, DataError

OFFICIAL_PNEUMONIA_MD5 = "28209eda62fecd6e6a2d98b1501bb15f"


def _write_npz(path, images=None, labels_shape=(1,), drop=(), **overrides):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 6), ("val", 2), ("test", 3)):
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, *(images or (28, 28))), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, 2, (n, *labels_shape), dtype=np.uint8)
    arrays.update(overrides)
    for key in drop:
        del arrays[key]
    np.savez(path, **arrays)
    return path


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------- reading
def test_grayscale_file_gets_a_channel_axis_and_int64_labels(tmp_path):
    splits = load_medmnist_npz(_write_npz(tmp_path / "p.npz"))
    assert list(splits) == ["train", "val", "test"]
    images, labels = splits["train"]
    assert images.shape == (6, 28, 28, 1) and images.dtype == np.uint8
    assert labels.shape == (6,) and labels.dtype == np.int64
    raw = np.load(tmp_path / "p.npz")
    np.testing.assert_array_equal(images[..., 0], raw["train_images"])
    np.testing.assert_array_equal(labels, raw["train_labels"][:, 0])


def test_rgb_and_flat_labels_and_3d_volumes(tmp_path):
    images, labels = load_medmnist_npz(_write_npz(tmp_path / "rgb.npz", images=(28, 28, 3), labels_shape=()))["val"]
    assert images.shape == (2, 28, 28, 3) and labels.shape == (2,)
    volumes, _ = load_medmnist_npz(_write_npz(tmp_path / "vol.npz", images=(8, 8, 8)))["test"]
    assert volumes.shape == (3, 8, 8, 8, 1)


def test_missing_key_names_file_and_key(tmp_path):
    path = _write_npz(tmp_path / "p.npz", drop=("val_labels",))
    with pytest.raises(DataError, match=r"'.*p.npz' has no key 'val_labels'.*Keys found: \['test_images'"):
        load_medmnist_npz(path)


def test_multilabel_and_mismatched_labels_are_refused(tmp_path):
    with pytest.raises(DataError, match=r"'train_labels' in '.*' has shape \(6, 14\).*Multi-label"):
        load_medmnist_npz(_write_npz(tmp_path / "chest.npz", labels_shape=(14,)))
    bad = _write_npz(tmp_path / "short.npz", test_labels=np.zeros((2, 1), dtype=np.uint8))
    with pytest.raises(DataError, match="'test_labels' in '.*' has 2 labels but there are 3 images"):
        load_medmnist_npz(bad)
    bad = _write_npz(tmp_path / "shape.npz", train_images=np.zeros((6, 28), dtype=np.uint8))
    with pytest.raises(DataError, match=r"'train_images' in '.*' has shape \(6, 28\)"):
        load_medmnist_npz(bad)


def test_not_an_npz_file(tmp_path):
    with pytest.raises(DataError, match="MedMNIST file not found"):
        load_medmnist_npz(tmp_path / "missing.npz")
    (tmp_path / "text.npz").write_text("not numpy")
    with pytest.raises(DataError, match="Could not read '.*text.npz' as a NumPy .npz archive"):
        load_medmnist_npz(tmp_path / "text.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(DataError, match="holds a single array"):
        load_medmnist_npz(tmp_path / "single.npy")


# --------------------------------------------------------- name resolution
def test_md5_table_is_well_formed_and_has_the_official_pneumonia_checksum():
    assert MEDMNIST_INFO["pneumoniamnist"]["md5"][28] == OFFICIAL_PNEUMONIA_MD5
    for info in MEDMNIST_INFO.values():
        assert all(re.fullmatch(r"[0-9a-f]{32}", md5) for md5 in info["md5"].values())
    all_md5 = [md5 for info in MEDMNIST_INFO.values() for md5 in info["md5"].values()]
    assert len(set(all_md5)) == len(all_md5)


def test_medmnist_info_and_data_dir(monkeypatch, tmp_path):
    info = medmnist_info("medmnist:pneumoniamnist")
    assert info["class_names"] == ["normal", "pneumonia"] and info["n_channels"] == 1
    monkeypatch.delenv("MEDDL_DATA", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert medmnist_data_dir() == tmp_path / ".meddl" / "data"
    monkeypatch.setenv("MEDDL_DATA", str(tmp_path / "elsewhere"))
    assert medmnist_data_dir() == tmp_path / "elsewhere"


def test_local_file_with_wrong_md5_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDDL_DATA", str(tmp_path))
    path = _write_npz(tmp_path / "pneumoniamnist.npz")
    with pytest.raises(DataError, match=rf"has MD5 {_md5(path)}, but the official pneumoniamnist.npz has "
                                        rf"{OFFICIAL_PNEUMONIA_MD5}.*verify_md5=False"):
        resolve_medmnist("medmnist:pneumoniamnist")
    assert load_medmnist("pneumoniamnist", verify_md5=False)["train"][0].shape == (6, 28, 28, 1)


def test_local_file_with_matching_md5_is_used(tmp_path, monkeypatch):
    path = _write_npz(tmp_path / "pneumoniamnist_64.npz", images=(64, 64))
    entry = dict(MEDMNIST_INFO["pneumoniamnist"], md5={64: _md5(path)})
    monkeypatch.setitem(MEDMNIST_INFO, "pneumoniamnist", entry)
    assert resolve_medmnist("pneumoniamnist_64", data_dir=tmp_path) == path
    assert resolve_medmnist("pneumoniamnist", size=64, data_dir=tmp_path) == path


def _failing_download(url, destination):
    destination.write_bytes(b"half a file")  # a partial download must not be left behind
    raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")


def test_offline_message_says_which_file_from_where_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr(medmnist_module, "_download", _failing_download)
    monkeypatch.setenv("MEDDL_DATA", str(tmp_path / "cache"))
    with pytest.raises(DataError) as info:
        load_medmnist("medmnist:breastmnist")
    message = str(info.value)
    assert "'breastmnist.npz' is not in" in message and "could not be downloaded" in message
    assert "name resolution" in message
    assert "https://zenodo.org/records/10519652/files/breastmnist.npz?download=1" in message
    assert f"save it as '{tmp_path / 'cache' / 'breastmnist.npz'}'" in message
    assert "MEDDL_DATA" in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_broken_transfer_is_reported_like_offline(tmp_path, monkeypatch):
    import http.client

    def broken(url, destination):
        raise http.client.IncompleteRead(b"partial")

    monkeypatch.setattr(medmnist_module, "_download", broken)
    with pytest.raises(DataError, match="could not be downloaded .*IncompleteRead"):
        resolve_medmnist("pneumoniamnist", data_dir=tmp_path)


def test_download_is_verified_then_moved_into_place(tmp_path, monkeypatch):
    source = _write_npz(tmp_path / "official.npz")
    entry = dict(MEDMNIST_INFO["dermamnist"], md5={28: _md5(source)})
    monkeypatch.setitem(MEDMNIST_INFO, "dermamnist", entry)
    calls = []

    def fake_download(url, destination):
        calls.append((url, destination.name))
        destination.write_bytes(source.read_bytes())

    monkeypatch.setattr(medmnist_module, "_download", fake_download)
    splits = load_medmnist("dermamnist", data_dir=tmp_path / "cache")
    assert calls == [("https://zenodo.org/records/10519652/files/dermamnist.npz?download=1", "dermamnist.npz.part")]
    assert splits["test"][0].shape == (3, 28, 28, 1)
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["dermamnist.npz"]
    load_medmnist("dermamnist", data_dir=tmp_path / "cache")
    assert len(calls) == 1, "a verified local file is not downloaded again"


def test_download_with_wrong_md5_is_deleted(tmp_path, monkeypatch):
    monkeypatch.setattr(medmnist_module, "_download", lambda url, dest: dest.write_bytes(b"corrupted"))
    with pytest.raises(DataError, match=rf"has MD5 {hashlib.md5(b'corrupted').hexdigest()}, expected "
                                        rf"{OFFICIAL_PNEUMONIA_MD5}.*it was deleted"):
        resolve_medmnist("pneumoniamnist", data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_download_false_reports_the_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"'octmnist_128.npz' not found in .*Download it from "
                                        r"https://zenodo.org/records/10519652/files/octmnist_128.npz"):
        resolve_medmnist("octmnist", size=128, data_dir=tmp_path, download=False)


def test_names_and_sizes_are_checked(tmp_path):
    with pytest.raises(ConfigError, match="Unknown MedMNIST dataset 'pneumonamnist'.*Did you mean 'pneumoniamnist'"):
        resolve_medmnist("medmnist:pneumonamnist", data_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"comes in sizes \[28, 64, 128, 224\]. Got size=100"):
        resolve_medmnist("pathmnist", size=100, data_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"comes in sizes \[28, 64\]"):
        resolve_medmnist("nodulemnist3d_128", data_dir=tmp_path)
    with pytest.raises(ConfigError, match="says size 64 but size=128"):
        resolve_medmnist("pathmnist_64", size=128, data_dir=tmp_path)


def test_a_users_own_file_in_the_data_folder_is_used_unchecked(tmp_path):
    path = _write_npz(tmp_path / "mymnist.npz")
    assert resolve_medmnist("medmnist:mymnist", data_dir=tmp_path) == path
