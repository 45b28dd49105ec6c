"""Every layer through one harness: shapes, parameter counts (Keras's), config round trip."""

import numpy as np
import pytest
import torch

from meddl import MeddlError, Sequential
from meddl.layers import (Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, Flatten,
                          GlobalAveragePooling2D, Input, MaxPool2D, MaxPooling2D, activations, deserialize,
                          get_layer_class, serialize)

# (layer factory, input shape, expected output shape, Keras's parameter count)
CASES = [
    (lambda: Dense(64), (100,), (64,), 6464),
    (lambda: Dense(3, use_bias=False), (5,), (3,), 15),
    (lambda: Conv2D(32, (3, 3)), (28, 28, 1), (26, 26, 32), 320),
    (lambda: Conv2D(64, 3), (13, 13, 32), (11, 11, 64), 18496),
    (lambda: Conv2D(8, 3, strides=2, padding="same"), (28, 28, 3), (14, 14, 8), 224),
    (lambda: Conv2D(4, 5, padding="same"), (7, 9, 2), (7, 9, 4), 204),
    (lambda: MaxPooling2D((2, 2)), (26, 26, 32), (13, 13, 32), 0),
    (lambda: MaxPool2D(2, padding="same"), (5, 5, 3), (3, 3, 3), 0),
    (lambda: AveragePooling2D(3, strides=1), (6, 6, 2), (4, 4, 2), 0),
    (lambda: AveragePooling2D(2, padding="same"), (5, 5, 2), (3, 3, 2), 0),
    (lambda: GlobalAveragePooling2D(), (7, 7, 16), (16,), 0),
    (lambda: Flatten(), (5, 5, 64), (1600,), 0),
    (lambda: Dropout(0.5), (10,), (10,), 0),
    (lambda: BatchNormalization(), (8, 8, 16), (8, 8, 16), 64),
    (lambda: BatchNormalization(), (12,), (12,), 48),
    (lambda: Activation("softmax"), (10,), (10,), 0),
]


@pytest.mark.parametrize("factory, input_shape, output_shape, params", CASES)
def test_layer_shapes_params_and_config(factory, input_shape, output_shape, params):
    layer = factory()
    model = Sequential([Input(shape=input_shape), layer])
    assert layer.output_shape_ == output_shape
    assert model.count_params() == params
    y = model(torch.rand(3, *input_shape))
    assert tuple(y.shape) == (3, *output_shape)
    clone = deserialize(serialize(layer))
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()


def test_seed_models_match_keras_parameter_counts():
    mlp = Sequential([Dense(64, activation="relu", input_shape=(100,)), Dense(64, activation="relu"),
                      Dense(10, activation="softmax")])
    cnn = Sequential([Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)), MaxPooling2D((2, 2)),
                      Conv2D(64, (3, 3), activation="relu"), MaxPooling2D((2, 2)), Flatten(),
                      Dense(10, activation="softmax")])
    assert mlp.count_params() == 11274
    assert cnn.count_params() == 34826
    text = cnn.summary(print_fn=None)
    for expected in ["(None, 26, 26, 32)", "(None, 13, 13, 32)", "(None, 11, 11, 64)", "(None, 5, 5, 64)",
                     "(None, 1600)", "(None, 10)", "18,496", "16,010", "Total params: 34,826"]:
        assert expected in text


def test_conv_matches_a_direct_channels_first_convolution():
    layer = Conv2D(4, 3, padding="same")
    Sequential([Input(shape=(6, 6, 2)), layer])
    x = torch.rand(2, 6, 6, 2)
    expected = torch.nn.functional.conv2d(x.permute(0, 3, 1, 2), layer.kernel, layer.bias, padding=1).permute(0, 2, 3, 1)
    torch.testing.assert_close(layer(x), expected)


def test_same_average_pooling_leaves_padding_out_of_the_mean():
    x = torch.arange(25, dtype=torch.float32).reshape(1, 5, 5, 1)
    y = Sequential([Input(shape=(5, 5, 1)), AveragePooling2D(2, padding="same")])(x)
    assert y[0, 2, 2, 0].item() == 24.0  # the corner window holds one real pixel
    assert y[0, 0, 0, 0].item() == pytest.approx((0 + 1 + 5 + 6) / 4)


def test_flatten_uses_keras_height_width_channel_order():
    x = torch.arange(8, dtype=torch.float32).reshape(1, 2, 2, 2)
    assert Sequential([Input(shape=(2, 2, 2)), Flatten()])(x).tolist() == [list(range(8))]


def test_dropout_is_identity_at_inference_and_scales_in_training():
    model = Sequential([Input(shape=(1000,)), Dropout(0.5)])
    x = torch.ones(4, 1000)
    model.eval()
    assert torch.equal(model(x), x)
    model.train()
    y = model(x)
    assert set(torch.unique(y).tolist()) <= {0.0, 2.0}
    assert 0.4 < (y == 0).float().mean().item() < 0.6


def test_batch_normalization_uses_keras_momentum_and_freezes():
    layer = BatchNormalization()
    model = Sequential([Input(shape=(3,)), layer])
    model.train()
    model(torch.full((4, 3), 10.0))
    torch.testing.assert_close(layer.moving_mean, torch.full((3,), 0.1))  # 0.99 * 0 + 0.01 * 10
    layer.set_trainable(False)
    model(torch.full((4, 3), 10.0))
    torch.testing.assert_close(layer.moving_mean, torch.full((3,), 0.1))
    assert not layer.gamma.requires_grad


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
def test_every_activation_by_name(name):
    x = torch.linspace(-3, 3, 12).reshape(2, 6)
    y = Sequential([Input(shape=(6,)), Activation(name)])(x)
    assert y.shape == x.shape and torch.isfinite(y).all()


def test_activation_values():
    x = torch.tensor([[-1.0, 0.0, 2.0]])
    f = activations.get
    torch.testing.assert_close(f("relu")(x), torch.tensor([[0.0, 0.0, 2.0]]))
    torch.testing.assert_close(f("softmax")(x).sum(), torch.tensor(1.0))
    torch.testing.assert_close(f("leaky_relu")(x), torch.tensor([[-0.2, 0.0, 2.0]]))
    torch.testing.assert_close(f("linear")(x), x)


def test_unknown_names_suggest_a_fix():
    with pytest.raises(MeddlError, match="Unknown activation 'rleu'.*Did you mean 'relu'"):
        Dense(3, activation="rleu")
    with pytest.raises(MeddlError, match="Unknown layer 'Dens'.*Did you mean 'Dense'"):
        get_layer_class("Dens")


@pytest.mark.parametrize("make, message", [
    (lambda: Dense(0), "'units' parameter of Dense must be a positive integer. Got 0"),
    (lambda: Conv2D(8, (3, 0)), "'kernel_size' parameter of Conv2D"),
    (lambda: Conv2D(8, 3, padding="full"), "'padding' parameter of Conv2D must be 'valid' or 'same'. Got 'full'"),
    (lambda: Dropout(1.5), r"'rate' parameter of Dropout must be a float in the range \[0, 1\). Got 1.5"),
    (lambda: Dense(3, input_shape=(0,)), "'input_shape' must be a tuple of positive integers"),
])
def test_bad_layer_arguments(make, message):
    with pytest.raises(MeddlError, match=message):
        make()


def test_conv_on_images_without_channel_axis_explains_the_fix():
    with pytest.raises(MeddlError, match=r"add the channel axis, e.g. x\[..., None\]"):
        Sequential([Conv2D(4, 3, input_shape=(28, 28))])


def test_kernel_too_large_for_input():
    with pytest.raises(MeddlError, match="output would be empty"):
        Sequential([Input(shape=(2, 2, 1)), Conv2D(4, 3)])


def test_layers_are_built_lazily_and_names_are_unique():
    model = Sequential([Dense(4), Dense(4), Dense(2)])
    assert not model.built
    model.predict_tensor  # attribute exists before build
    x = np.random.default_rng(0).normal(size=(5, 7)).astype("float32")
    model.compile(loss="mse")
    model.fit(x, np.zeros((5, 2)), verbose=0)
    assert model.built and model.input_shape_ == (7,)
    assert [layer.name for layer in model.layers] == ["dense", "dense_1", "dense_2"]


def test_residual_block_shapes_params_and_shortcut():
    from meddl.layers import ResidualBlock

    model = Sequential([Input(shape=(8, 8, 4)), ResidualBlock(4), ResidualBlock(8, strides=2)])
    assert model.output_shape == (None, 4, 4, 8)
    # block 1: 2 convs 3x3x4x4 (no bias) + 2 BN(4); block 2: 3x3x4x8 + 3x3x8x8 + 1x1x4x8 + 3 BN(8)
    assert model.count_params() == (2 * 144 + 2 * 16) + (288 + 576 + 32 + 3 * 32)
    model.eval()
    assert model(torch.rand(2, 8, 8, 4)).min() >= 0  # ends in relu
    clone = deserialize(serialize(model.layers[1]))
    assert clone.get_config() == model.layers[1].get_config()
    model.layers[1].set_trainable(False)
    assert not any(p.requires_grad for p in model.layers[1].parameters())


@pytest.mark.parametrize("name", ["RandomFlip", "RandomRotation", "RandomContrast", "RandomBrightness"])
def test_augmentation_layers_act_only_in_training_and_are_seeded(name):
    import meddl
    from meddl import layers

    x = torch.rand(6, 10, 10, 1)
    model = Sequential([Input(shape=(10, 10, 1)), getattr(layers, name)()])
    model.eval()
    assert torch.equal(model(x), x)
    model.train()
    meddl.set_seed(3)
    first = model(x)
    meddl.set_seed(3)
    assert torch.equal(model(x), first)
    assert not torch.equal(first, x)
