"""GroupNormalization and UnitNormalization against their definitions; zero padding and cropping of signals
and volumes, and a small 3-D U-Net that needs them (batch of 2 volumes, group-normalised)."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError


def test_group_normalization_normalises_each_sample_s_channel_groups():
    x = torch.randn(2, 5, 5, 6) * 3 + 1
    layer = layers.GroupNormalization(groups=3, epsilon=1e-5)
    y = layer(x)
    grouped = y.reshape(2, 25, 3, 2)  # positions, groups, channels per group
    torch.testing.assert_close(grouped.mean(dim=(1, 3)), torch.zeros(2, 3), atol=1e-5, rtol=0)
    torch.testing.assert_close(grouped.var(dim=(1, 3), unbiased=False), torch.ones(2, 3), atol=1e-3, rtol=0)
    torch.testing.assert_close(layer(x[:1]), y[:1])  # independent of the rest of the batch
    instance = layers.GroupNormalization(groups=-1)(x)  # one group per channel: instance normalisation
    torch.testing.assert_close(instance.mean(dim=(1, 2)), torch.zeros(2, 6), atol=1e-5, rtol=0)
    with pytest.raises(MeddlError, match="divisible by the groups.*6 channels"):
        layers.GroupNormalization(groups=4)(x)


def test_unit_normalization_as_keras():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    torch.testing.assert_close(layers.UnitNormalization()(x), torch.tensor([[0.6, 0.8], [0.0, 0.0]]))


@pytest.mark.parametrize("layer, shape, expected_shape, check", [
    (layers.ZeroPadding1D(2), (3, 4, 2), (3, 8, 2), lambda x, y: torch.equal(y[:, 2:6], x) and y[:, :2].abs().sum() == 0),
    (layers.ZeroPadding1D((0, 3)), (3, 4, 2), (3, 7, 2), lambda x, y: torch.equal(y[:, :4], x)),
    (layers.Cropping1D((1, 2)), (3, 6, 2), (3, 3, 2), lambda x, y: torch.equal(y, x[:, 1:4])),
    (layers.ZeroPadding3D(((1, 0), (0, 2), (1, 1))), (2, 3, 3, 3, 1), (2, 4, 5, 5, 1),
     lambda x, y: torch.equal(y[:, 1:, :3, 1:4], x)),
    (layers.Cropping3D((1, 0, 2)), (2, 4, 4, 6, 1), (2, 2, 4, 2, 1), lambda x, y: torch.equal(y, x[:, 1:3, :, 2:4])),
])
def test_padding_and_cropping_of_signals_and_volumes(layer, shape, expected_shape, check):
    x = torch.randn(shape)
    y = layer(x)
    assert tuple(y.shape) == expected_shape and check(x, y)
    assert layers.deserialize(layers.serialize(layer)).amounts == layer.amounts


def test_padding_and_cropping_mistakes_are_named():
    with pytest.raises(MeddlError, match="'cropping' parameter of Cropping3D must be"):
        layers.Cropping3D((1, 2))
    with pytest.raises(MeddlError, match="leaves nothing"):
        meddl.Sequential([layers.Input((4, 2)), layers.Cropping1D(2)])
    with pytest.raises(MeddlError, match="'padding' parameter of ZeroPadding1D must be a non-negative int"):
        layers.ZeroPadding1D(-1)


def test_a_small_3d_unet_with_group_normalization_trains_on_two_volumes_and_reloads(tmp_path):
    rng = np.random.default_rng(0)
    volumes = rng.normal(size=(2, 8, 8, 8, 1)).astype("float32")
    masks = (volumes > 0.5).astype("float32")  # a bright-voxel "lesion"
    inputs = meddl.Input((8, 8, 8, 1))
    down = layers.Conv3D(4, 3, padding="valid", activation="relu")(inputs)  # 6^3
    down = layers.GroupNormalization(groups=2)(down)
    bottom = layers.Conv3D(8, 3, padding="same", activation="relu")(layers.MaxPooling3D(2)(down))  # 3^3
    up = layers.ZeroPadding3D(1)(layers.UpSampling3D(2)(bottom))  # 6^3 -> 8^3
    skip = layers.ZeroPadding3D(1)(down)
    merged = layers.Concatenate()([up, skip, inputs])
    outputs = layers.Conv3D(1, 1, activation="sigmoid")(layers.Cropping3D(0)(merged))
    model = meddl.Model(inputs, outputs)
    model.compile(optimizer=meddl.optimizers.Adam(0.02), loss="dice", metrics=["dice"])
    history = model.fit(volumes, masks, epochs=150, batch_size=2, verbose=0, seed=0)
    assert history.history["dice"][-1] > 0.8
    model.save(tmp_path / "model")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict(volumes), model.predict(volumes))


def test_rms_normalization_as_its_definition_and_saved_scale(tmp_path):
    x = torch.randn(3, 5, 8)
    layer = layers.RMSNormalization(epsilon=1e-6)
    expected = x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + 1e-6)
    torch.testing.assert_close(layer(x), expected)
    model = meddl.Sequential([layers.Input((5, 8)), layer, layers.GlobalAveragePooling1D(), layers.Dense(1)])
    model.compile(loss="mse")
    model.fit(x.numpy(), np.ones(3), epochs=2, verbose=0)
    model.save(tmp_path / "model")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict(x.numpy()), model.predict(x.numpy()))
