import numpy as np
import pytest

from meddl.data import ImageDataset, read_image_folder
from meddl.errors import ConfigError, DataError


def _gray(value, size=(8, 8)):
    return np.full(size, value, dtype=np.uint8)


@pytest.fixture
def xray_folder(tmp_path, png_writer):
    png_writer(tmp_path / "normal" / "a.png", _gray(10))
    png_writer(tmp_path / "normal" / "patient7" / "b.jpg", _gray(20))  # nested + JPEG
    png_writer(tmp_path / "pneumonia" / "c.PNG", _gray(200))
    (tmp_path / "pneumonia" / "notes.txt").write_text("ignored")
    (tmp_path / "pneumonia" / ".hidden.png").write_bytes(b"ignored")
    (tmp_path / ".cache").mkdir()
    return tmp_path


def test_reads_one_subfolder_per_class(xray_folder):
    data = read_image_folder(xray_folder)
    assert isinstance(data, ImageDataset) and len(data) == 3
    assert data.class_names == ["normal", "pneumonia"]
    assert data.images.shape == (3, 8, 8, 1) and data.images.dtype == np.uint8
    np.testing.assert_array_equal(data.labels, [0, 0, 1])
    assert data.labels.dtype == np.int64
    assert [p.rsplit("/", 1)[1] for p in data.paths] == ["a.png", "b.jpg", "c.PNG"]
    assert data.images[0, 0, 0, 0] == 10 and data.images[2, 0, 0, 0] == 200
    assert data.skipped == [] and data.resized_from == {} and not data.resized


def test_color_modes(tmp_path, png_writer):
    rgb = np.zeros((4, 4, 3), dtype=np.uint8)
    rgb[..., 0] = 255
    png_writer(tmp_path / "a" / "red.png", rgb)
    png_writer(tmp_path / "b" / "gray.png", _gray(50, (4, 4)))
    auto = read_image_folder(tmp_path)
    assert auto.images.shape == (2, 4, 4, 3)
    np.testing.assert_array_equal(auto.images[1, 0, 0], [50, 50, 50])
    gray = read_image_folder(tmp_path, color="grayscale")
    assert gray.images.shape == (2, 4, 4, 1) and gray.images[1, 0, 0, 0] == 50


def test_rgb_files_with_equal_channels_count_as_grayscale(tmp_path, png_writer):
    png_writer(tmp_path / "a" / "x.png", np.stack([_gray(70)] * 3, axis=-1))
    assert read_image_folder(tmp_path).images.shape == (1, 8, 8, 1)
    assert read_image_folder(tmp_path, color="rgb").images.shape == (1, 8, 8, 3)


def test_different_sizes_need_image_size(tmp_path, png_writer):
    png_writer(tmp_path / "a" / "small.png", _gray(1, (8, 8)))
    png_writer(tmp_path / "a" / "big.png", _gray(1, (16, 12)))
    png_writer(tmp_path / "b" / "big2.png", _gray(1, (16, 12)))
    with pytest.raises(DataError, match=r"different sizes \(\(16, 12\): 2 .*\(8, 8\): 1.*Pass image_size="):
        read_image_folder(tmp_path)
    data = read_image_folder(tmp_path, image_size=8)
    assert data.images.shape == (3, 8, 8, 1)
    assert data.resized and data.resized_from == {(16, 12): 2}
    assert "Resized 2 images to (8, 8)" in data.notes[0]
    assert read_image_folder(tmp_path, image_size=(10, 6)).images.shape == (3, 10, 6, 1)


def test_corrupt_file_is_named_or_skipped(xray_folder):
    bad = xray_folder / "pneumonia" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(DataError, match=r"Could not read image '.*broken.png'"):
        read_image_folder(xray_folder)
    data = read_image_folder(xray_folder, skip_unreadable=True)
    assert data.skipped == [str(bad)] and len(data) == 3
    assert "broken.png" in data.notes[0]


def test_truncated_jpeg_is_unreadable(tmp_path, png_writer):
    good = png_writer(tmp_path / "a" / "ok.jpg", np.random.default_rng(0).integers(0, 255, (32, 32), dtype=np.uint8))
    (tmp_path / "a" / "cut.jpg").write_bytes(good.read_bytes()[:200])
    data = read_image_folder(tmp_path, skip_unreadable=True)
    assert [p.rsplit("/", 1)[1] for p in data.skipped] == ["cut.jpg"]


def test_sixteen_bit_png_keeps_its_values_as_float32(tmp_path, png_writer):
    png_writer(tmp_path / "a" / "x.png", np.full((4, 4), 40000, dtype=np.uint16))
    data = read_image_folder(tmp_path)
    assert data.images.dtype == np.float32 and data.images.max() == 40000
    png_writer(tmp_path / "b" / "y.png", _gray(3, (4, 4)))
    with pytest.raises(DataError, match="mixes 16-bit images"):
        read_image_folder(tmp_path)


def test_folder_structure_errors(tmp_path, png_writer):
    with pytest.raises(DataError, match="Image folder not found"):
        read_image_folder(tmp_path / "missing")
    png_writer(tmp_path / "loose.png", _gray(1))
    with pytest.raises(DataError, match="has no class subfolders. Expected one folder per class"):
        read_image_folder(tmp_path)
    png_writer(tmp_path / "a" / "x.png", _gray(1))
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DataError, match="Class folder '.*empty_class' has no readable images"):
        read_image_folder(tmp_path)


def test_invalid_arguments(tmp_path):
    message = r"'color' parameter must be one of \['auto', 'grayscale', 'rgb'\]. Got 'grey'"
    with pytest.raises(ConfigError, match=message):
        read_image_folder(tmp_path, color="grey")
    with pytest.raises(ConfigError, match="'image_size' parameter must be a positive int or a tuple of 2"):
        read_image_folder(tmp_path, image_size=(0, 8))
