"""The population view flags a planted shortcut: a corner marker that predicts the label."""

import numpy as np
import pytest
import torch

import meddl
from meddl import DataError, Sequential
from meddl.explain import (border_share, grad_cam, grad_cam_plus_plus, image_explainer, population_maps,
                           resolution_layer, shortcut_warning)
from meddl.explain.population import population_figure
from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D

from .conftest import one_thread

SIZE = 24


def marked_images(n=160, corner=True, seed=0):
    """Grey noise; label 1 carries a bright 5 x 5 marker in the top-left corner (or the centre, the control)."""
    rng = np.random.default_rng(seed)
    images = rng.normal(0.4, 0.1, (n, SIZE, SIZE, 1)).astype(np.float32)
    labels = np.arange(n) % 2
    rows = slice(0, 5) if corner else slice(10, 15)
    images[labels == 1, rows, rows] = 1.0
    return np.clip(images, 0, 1), labels


@pytest.fixture(scope="module")
def corner_model():
    with one_thread():  # the same weights whatever the caller's thread count
        return _train(*marked_images())


def _train(images, labels):
    meddl.set_seed(0)
    model = Sequential([Conv2D(8, 3, padding="same", activation="relu", input_shape=(SIZE, SIZE, 1), name="conv_a"),
                        Conv2D(8, 3, padding="same", activation="relu", name="conv_b"),
                        GlobalAveragePooling2D(), Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", learning_rate=0.003)
    model.fit(images, labels, epochs=25, batch_size=32, verbose=0, seed=0)
    model.eval()
    assert (model.predict(images).argmax(axis=1) == labels).mean() > 0.9
    return model


@pytest.mark.parametrize("explain", [lambda m, x: grad_cam(m, x, target=1),
                                     lambda m, x: image_explainer("occlusion")(m, x, np.ones(len(x), int))],
                         ids=["grad_cam", "occlusion"])
def test_explanations_and_the_population_view_flag_a_corner_shortcut(corner_model, explain):
    images, labels = marked_images(40, seed=1)
    maps = explain(corner_model, images)
    warning = shortcut_warning(maps[labels == 1])
    assert warning["warning"] and "corner" in warning["message"] and "shortcut" in warning["message"]
    assert warning["corners_share"] > 2 * warning["corners_area"]
    predicted = corner_model.predict(images).argmax(axis=1)
    groups = population_maps(maps, labels, predicted, class_names=["clear", "marked"])
    marked = groups["class marked"]["map"]
    # the mean map sits on the marker: > 20% of its mass on 4% of the image
    assert marked[:5, :5].sum() > 0.2 and groups["class marked"]["n"] == 20
    assert "true positive" in groups and groups["true positive"]["n"] == 20
    assert population_figure(groups).axes[0].get_title().startswith("class clear")


def test_a_centred_signal_raises_no_warning():
    model = _train(*marked_images(corner=False))
    images, labels = marked_images(40, corner=False, seed=1)
    warning = shortcut_warning(grad_cam(model, images[labels == 1], target=1))
    assert not warning["warning"] and "no sign" in warning["message"]


def test_grad_cam_plus_plus_counts_only_positive_evidence(corner_model):
    """With a global-average-pooling head every position of a channel has the same gradient: Grad-CAM weighs
    channels by it (negative ones subtract), Grad-CAM++ keeps only channels with positive gradients."""
    images, labels = marked_images(8, seed=2)
    plus = grad_cam_plus_plus(corner_model, images, target=1)
    assert plus.shape == (8, SIZE, SIZE) and (plus >= 0).all() and (plus.reshape(8, -1).max(axis=1) > 0).all()
    assert np.isclose(grad_cam(corner_model, images, target=1), 0).mean() >= np.isclose(plus, 0).mean()


def test_border_share_and_errors():
    maps = np.zeros((2, 10, 10))
    maps[0, 5, 5] = 1.0
    shares = border_share(maps)
    assert shares["border"][0] == 0.0 and np.isnan(shares["border"][1])  # an empty map has no share
    assert shares["border_area"] == pytest.approx(0.64)
    assert shortcut_warning(np.zeros((2, 4, 4)))["message"].startswith("The heat maps have no positive mass")
    with pytest.raises(DataError, match=r"\(n, H, W\)"):
        border_share(np.zeros((4, 4)))
    with pytest.raises(DataError, match="one true and one predicted class per map"):
        population_maps(maps, [0], [0, 1], class_names=["a", "b"])


def test_resolution_layer_prefers_a_map_worth_showing(corner_model):
    assert resolution_layer(corner_model) == ("conv_b", (SIZE, SIZE))
    torch.manual_seed(0)
    strided = Sequential([Conv2D(4, 3, padding="same", input_shape=(32, 32, 1), name="fine"),
                          Conv2D(4, 3, strides=2, padding="same", name="half"),
                          Conv2D(4, 3, strides=4, padding="same", name="coarse"), GlobalAveragePooling2D(), Dense(2)])
    assert resolution_layer(strided) == ("half", (16, 16))  # 'coarse' is 4 x 4: under a quarter of the side
