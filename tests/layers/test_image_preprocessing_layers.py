"""Keras's image preprocessing layers: Resizing and CenterCrop (deterministic, saved with the model), RandomZoom and
RandomTranslation (training only), and Keras's value ranges and defaults for the random intensity layers."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError


def _images(*shape):
    return torch.arange(int(np.prod(shape)), dtype=torch.float32).reshape(shape)


def test_bilinear_resizing_by_half_averages_each_two_by_two_block():
    x = _images(2, 6, 4, 3)
    expected = x.reshape(2, 3, 2, 2, 2, 3).mean(dim=(2, 4))  # half-pixel centres: the block means
    torch.testing.assert_close(layers.Resizing(3, 2)(x), expected)


def test_nearest_resizing_repeats_pixels_and_crop_to_aspect_ratio_takes_the_central_window():
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    up = layers.Resizing(4, 4, interpolation="nearest")(x)[0, :, :, 0]
    torch.testing.assert_close(up, torch.tensor([[1.0, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]))
    tall = _images(1, 6, 4, 1)  # 6x4 to a square: the central 4x4 rows 1-4, then halved
    cropped = layers.Resizing(2, 2, crop_to_aspect_ratio=True)(tall)
    torch.testing.assert_close(cropped, tall[:, 1:5].reshape(1, 2, 2, 2, 2, 1).mean(dim=(2, 4)))


def test_center_crop_takes_kerass_window_and_refuses_small_images():
    x = _images(1, 7, 6, 1)
    torch.testing.assert_close(layers.CenterCrop(4, 3)(x), x[:, 1:5, 1:4])  # starts (7-4)//2, (6-3)//2
    with pytest.raises(MeddlError, match=r"CenterCrop\(8, 3\) needs images at least that large; got 7x6"):
        layers.CenterCrop(8, 3)(x)
    with pytest.raises(MeddlError, match="'height' parameter of Resizing must be a positive integer"):
        layers.Resizing(0, 3)
    with pytest.raises(MeddlError, match="'interpolation' parameter of Resizing"):
        layers.Resizing(3, 3, interpolation="bicubic")


def test_a_model_with_resizing_takes_larger_images_trains_and_reloads_the_same(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((24, 40, 30, 1)).astype("float32")
    y = (x[:, 10:30, 10:20].mean(axis=(1, 2, 3)) > 0.5).astype("int64")
    model = meddl.Sequential([layers.Input((40, 30, 1)), layers.Resizing(24, 24, crop_to_aspect_ratio=True),
                              layers.CenterCrop(20, 20), layers.RandomZoom(0.1), layers.RandomTranslation(0.1, 0.1),
                              layers.Conv2D(4, 3, activation="relu"), layers.GlobalAveragePooling2D(),
                              layers.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(x, y, epochs=2, verbose=0, seed=0)
    assert model.layers[1].output_shape == (None, 20, 20, 1)
    model.save(tmp_path / "model")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict(x), model.predict(x))


@pytest.mark.parametrize("layer", [layers.RandomZoom(0.2), layers.RandomTranslation(0.2, 0.2),
                                   layers.RandomZoom((-0.2, 0.2))])
def test_random_zoom_and_translation_change_images_in_training_only(layer):
    x = torch.rand(8, 16, 16, 1)
    layer.eval()
    assert torch.equal(layer(x), x)
    layer.train()
    meddl.set_seed(0)
    changed = layer(x)
    assert changed.shape == x.shape and not torch.allclose(changed, x)


def test_translation_moves_a_bright_spot_by_at_most_the_factor():
    x = torch.zeros(64, 21, 21, 1)
    x[:, 10, 10] = 1.0
    layer = layers.RandomTranslation(0.1, 0.1)
    layer.train()
    meddl.set_seed(1)
    moved = layer(x)[..., 0]
    rows = (moved.sum(dim=2) * torch.arange(21.0)).sum(dim=1) / moved.sum(dim=(1, 2))
    assert (rows - 10).abs().max() <= 0.1 * 21 + 1e-4 and (rows - 10).abs().max() > 0.5


def test_keras_arguments_of_the_random_layers():
    assert layers.RandomFlip().mode == "horizontal_and_vertical"  # Keras's default
    with pytest.raises(MeddlError, match="must be symmetric"):
        layers.RandomRotation((-0.1, 0.2))
    with pytest.raises(MeddlError, match="fills by reflection"):
        layers.RandomZoom(0.1, fill_mode="constant")
    with pytest.raises(MeddlError, match="keeps the aspect ratio"):
        layers.RandomZoom(0.1, width_factor=0.3)
    with pytest.raises(MeddlError, match="same fraction along both axes"):
        layers.RandomTranslation(0.1, 0.2)
    layers.RandomRotation(0.1, seed=3)  # Keras's seed: meddl.set_seed seeds the draws


def test_random_brightness_follows_the_value_range_and_refuses_to_guess_it():
    images = torch.full((16, 4, 4, 1), 200.0)
    layer = layers.RandomBrightness(0.2)
    layer.train()
    with pytest.raises(MeddlError, match=r"value_range=\(0, 255\)"):
        layer(images)
    layer = layers.RandomBrightness(0.2, value_range=(0, 255))
    layer.train()
    meddl.set_seed(0)
    out = layer(images)
    offsets = out[:, 0, 0, 0] - 200
    assert out.max() <= 255 and offsets.abs().max() <= 0.2 * 255 + 1e-3 and offsets.abs().max() > 5
    assert meddl.layers.deserialize(meddl.layers.serialize(layer)).value_range == (0.0, 255.0)
