"""Grad-CAM: the evidence lies where the signal is; layer choice and its errors."""

import numpy as np
import pytest
import torch

from meddl import ConfigError, DataError, Sequential
from meddl.explain import conv_layers, find_target_layer, grad_cam
from meddl.layers import (BatchNormalization, Conv2D, Dense, Flatten, GlobalAveragePooling2D, MaxPooling2D,
                          ResidualBlock)

from .conftest import one_thread


def quadrant_images(n=160, seed=0):
    """Noise images; class 1 has a bright 4x4 square somewhere in the top-left 8x8 quadrant."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.3, (n, 16, 16, 1)).astype(np.float32)
    y = np.arange(n) % 2
    for i in np.flatnonzero(y):
        row, col = rng.integers(0, 5, 2)
        x[i, row:row + 4, col:col + 4, 0] = 1.0
    return x, y


@pytest.fixture(scope="module")
def trained():
    with one_thread():
        return _train_quadrant_model()


def _train_quadrant_model():
    x, y = quadrant_images()
    model = Sequential([Conv2D(8, 3, padding="same", activation="relu", input_shape=(16, 16, 1), name="early"),
                        MaxPooling2D(2), Conv2D(8, 3, padding="same", activation="relu", name="late"),
                        GlobalAveragePooling2D(), Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", learning_rate=0.01)
    model.fit(x, y, epochs=12, verbose=0, seed=0)
    assert (model.predict(x).argmax(axis=1) == y).mean() > 0.95
    return model


def test_grad_cam_mass_lies_in_the_signal_region(trained):
    x, y = quadrant_images(n=40, seed=1)
    positives = x[y == 1]
    for layer in (None, "early"):
        maps = grad_cam(trained, positives, target=1, layer=layer)
        assert maps.shape == (len(positives), 16, 16) and maps.min() >= 0
        inside = maps[:, :8, :8].sum(axis=(1, 2)) / maps.sum(axis=(1, 2))
        assert np.median(inside) > 0.7, inside  # the quadrant is 25% of the image


def test_default_target_is_the_predicted_class(trained):
    x, _ = quadrant_images(n=6, seed=2)
    predicted = trained.predict(x).argmax(axis=1)
    np.testing.assert_array_equal(grad_cam(trained, x), grad_cam(trained, x, target=predicted))


def test_batching_does_not_change_the_maps(trained):
    x, _ = quadrant_images(n=5, seed=3)
    np.testing.assert_allclose(grad_cam(trained, x, target=1, batch_size=2), grad_cam(trained, x, target=1),
                               atol=1e-6)


def test_layer_choice_finds_the_last_convolution():
    model = Sequential([Conv2D(4, 3, padding="same", use_bias=False, input_shape=(8, 8, 1), name="stem"),
                        BatchNormalization(), ResidualBlock(4), ResidualBlock(8, strides=2),
                        GlobalAveragePooling2D(), Dense(2, activation="softmax")])
    assert conv_layers(model) == ["stem", "residual_block", "residual_block_1"]
    assert find_target_layer(model) == "residual_block_1"
    assert grad_cam(model, np.random.default_rng(0).random((2, 8, 8, 1)), layer="residual_block").shape == (2, 8, 8)


def test_layer_errors_list_the_convolution_layers(trained):
    with pytest.raises(ConfigError, match=r"'lat'\. Did you mean 'late'\? Convolution layers: 'early', 'late'"):
        grad_cam(trained, np.zeros((1, 16, 16, 1)), layer="lat")
    with pytest.raises(ConfigError, match=r"image-shaped output.*'dense' outputs \(2,\).*'early', 'late'"):
        find_target_layer(trained, "dense")


def test_models_without_convolutions_are_pointed_to_other_methods():
    dense = Sequential([Flatten(input_shape=(8, 8, 1)), Dense(2, activation="softmax")])
    with pytest.raises(ConfigError, match="has none.*'integrated_gradients' or 'occlusion' instead"):
        grad_cam(dense, np.zeros((1, 8, 8, 1)))
    with pytest.raises(ConfigError, match="needs a meddl Sequential.*'integrated_gradients' or 'occlusion'"):
        grad_cam(torch.nn.Conv2d(1, 2, 3), np.zeros((1, 8, 8, 1)))


def test_bad_images_and_targets(trained):
    with pytest.raises(DataError, match=r"\(n, H, W, C\).*images\[\.\.\., None\]"):
        grad_cam(trained, np.zeros((2, 16, 16)))
    with pytest.raises(DataError, match=r"expects 'images' of shape \(N, 16, 16, 1\)"):
        grad_cam(trained, np.zeros((2, 12, 12, 1)))
    with pytest.raises(ConfigError, match=r"output\(s\) of 'f' \(0 to 1\)\. Got 2"):
        grad_cam(trained, np.zeros((2, 16, 16, 1)), target=2)
