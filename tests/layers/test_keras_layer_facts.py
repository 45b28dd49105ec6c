"""Facts from Keras's own layer tests (keras/src/layers/**/*_test.py), checked on meddl's layers.

The expectations (shapes, weight counts, parameter counts, numbers for given
weights, training vs inference) are Keras's; the test code is ours. Numeric
references are small NumPy implementations written here.
"""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError
from meddl.layers.base import reset_layer_names, snake_case


def run_layer(layer, input_shape, *, training=None, seed=0):
    x = np.random.default_rng(seed).normal(size=input_shape).astype(np.float32)
    y = layer(x) if training is None else layer(x, training=training)
    return x, y.detach().detach().numpy() if isinstance(y, torch.Tensor) else y


def counts(layer):
    return len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights)


# -- core: Dense, Activation, Flatten, Dropout, Reshape ---------------------------------------------------
@pytest.mark.parametrize("input_shape, units, output_shape", [((2, 3), 5, (2, 5)), ((2, 3, 4), 5, (2, 3, 5))])
def test_dense_shapes_and_weight_counts(input_shape, units, output_shape):
    layer = layers.Dense(units)
    _, y = run_layer(layer, input_shape)
    assert y.shape == output_shape
    assert counts(layer) == (2, 2, 0)
    assert layers.Dense(units, use_bias=False)(np.ones(input_shape, np.float32)).shape == output_shape


def test_dense_numbers_for_given_weights():
    layer = layers.Dense(2, activation="relu")
    layer.build_for((3,))
    layer.set_weights([np.array([[1.0, -1.0], [2.0, 0.5], [0.0, 1.0]]), np.array([0.5, -2.0])])
    y = layer(np.array([[1.0, 1.0, 1.0]], np.float32)).detach().numpy()
    np.testing.assert_allclose(y, [[3.5, 0.0]])
    assert layer.count_params() == 8


def test_dense_input_size_mismatch_names_expected_and_received_shapes():
    layer = layers.Dense(4)
    layer(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"expected shape \(None, 3\), but received input with shape \(None, 5\)"):
        layer(np.zeros((2, 5), np.float32))


def test_activation_by_name_and_callable():
    x = np.array([[-1.0, 0.0, 2.0]], np.float32)
    np.testing.assert_allclose(layers.Activation("relu")(x).detach().numpy(), [[0.0, 0.0, 2.0]])
    np.testing.assert_allclose(layers.Activation(torch.tanh)(x).detach().numpy(), np.tanh(x), rtol=1e-6)
    assert layers.Activation(torch.relu).get_config()["activation"] == "relu"
    custom = layers.Activation(lambda t: t * 2)
    np.testing.assert_allclose(custom(x).detach().numpy(), 2 * x)
    custom.name = "double"
    with pytest.raises(MeddlError, match="activation function without a name"):
        custom.get_config()


def test_flatten_keeps_keras_order_and_shapes():
    x = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    np.testing.assert_array_equal(layers.Flatten()(x).detach().numpy(), x.reshape(1, -1))
    assert layers.Flatten()(np.zeros((3, 4, 5), np.float32)).shape == (3, 20)


def test_dropout_acts_only_in_training_and_keeps_the_mean():
    layer = layers.Dropout(0.5)
    x = np.ones((200, 50), np.float32)
    np.testing.assert_array_equal(layer(x).detach().numpy(), x)  # inference by default
    y = layer(x, training=True).detach().numpy()
    assert set(np.unique(y)) <= {0.0, 2.0} and abs(y.mean() - 1.0) < 0.05
    assert counts(layer) == (0, 0, 0)


def test_reshape_with_and_without_minus_one():
    assert layers.Reshape((8, 1))(np.zeros((3, 4, 2), np.float32)).shape == (3, 8, 1)
    assert layers.Reshape((-1, 2))(np.zeros((3, 4, 2), np.float32)).shape == (3, 4, 2)
    with pytest.raises(MeddlError, match="cannot reshape"):
        layers.Reshape((5,))(np.zeros((3, 4), np.float32))


# -- convolutions (conv_test.py's basic cases) -------------------------------------------------------------
CONV_CASES = [
    (layers.Conv1D, dict(filters=5, kernel_size=2), (3, 5, 4), (3, 4, 5)),
    (layers.Conv1D, dict(filters=6, kernel_size=2, padding="same", dilation_rate=(2,), groups=2), (3, 4, 4), (3, 4, 6)),
    (layers.Conv1D, dict(filters=6, kernel_size=2, padding="causal", dilation_rate=(2,), groups=2), (3, 4, 4), (3, 4, 6)),
    (layers.Conv1D, dict(filters=6, kernel_size=2, strides=(2,), groups=2), (3, 5, 4), (3, 2, 6)),
    (layers.Conv2D, dict(filters=5, kernel_size=2), (3, 5, 5, 4), (3, 4, 4, 5)),
    (layers.Conv2D, dict(filters=6, kernel_size=2, padding="same", dilation_rate=(2, 2), groups=2), (3, 4, 4, 4),
     (3, 4, 4, 6)),
    (layers.Conv2D, dict(filters=6, kernel_size=(2, 2), strides=(2, 1), groups=2), (3, 5, 5, 4), (3, 2, 4, 6)),
    (layers.Conv3D, dict(filters=5, kernel_size=2), (3, 5, 5, 5, 4), (3, 4, 4, 4, 5)),
    (layers.Conv3D, dict(filters=6, kernel_size=2, padding="same", dilation_rate=(2, 2, 2), groups=2),
     (3, 4, 4, 4, 4), (3, 4, 4, 4, 6)),
    (layers.Conv3D, dict(filters=6, kernel_size=(2, 2, 3), strides=(2, 1, 2), groups=2), (3, 5, 5, 5, 4),
     (3, 2, 4, 2, 6)),
]


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape", CONV_CASES)
def test_conv_shapes_and_weights(cls, kwargs, input_shape, output_shape):
    layer = cls(**kwargs)
    _, y = run_layer(layer, input_shape)
    assert y.shape == output_shape
    assert counts(layer) == (2, 2, 0)
    kernel = layer.get_weights()[0]  # Keras's layout (*kernel, in / groups, filters)
    rank = len(input_shape) - 2
    assert kernel.shape == (*layer.kernel_size, input_shape[-1] // layer.groups, layer.filters)
    assert len(kernel.shape) == rank + 2


def numpy_conv2d_valid(x, kernel, bias, strides=(1, 1)):
    """Our reference: a direct sum over the kernel window (channels-last, Keras kernel layout)."""
    kh, kw, _, filters = kernel.shape
    out_h = (x.shape[1] - kh) // strides[0] + 1
    out_w = (x.shape[2] - kw) // strides[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, filters))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, i * strides[0]:i * strides[0] + kh, j * strides[1]:j * strides[1] + kw, :]
            out[:, i, j, :] = np.tensordot(window, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out + bias


def test_conv2d_numbers_for_given_weights_in_keras_layout():
    rng = np.random.default_rng(1)
    layer = layers.Conv2D(3, (2, 3), strides=(2, 1))
    x = rng.normal(size=(2, 6, 5, 2)).astype(np.float32)
    layer(x)
    kernel, bias = rng.normal(size=(2, 3, 2, 3)), rng.normal(size=3)
    layer.set_weights([kernel, bias])
    np.testing.assert_allclose(layer(x).detach().numpy(), numpy_conv2d_valid(x, kernel, bias, (2, 1)), atol=1e-5)
    np.testing.assert_allclose(layer.get_weights()[0], kernel, atol=1e-7)


def test_same_padding_puts_the_extra_pixel_at_the_end_like_tensorflow():
    layer = layers.Conv1D(1, 2, padding="same", use_bias=False)
    layer(np.zeros((1, 3, 1), np.float32))
    layer.set_weights([np.array([[[1.0]], [[10.0]]])])
    y = layer(np.array([[[1.0], [2.0], [3.0]]], np.float32)).detach().numpy()[0, :, 0]
    np.testing.assert_allclose(y, [21.0, 32.0, 3.0])  # the pad is after the last step


def test_causal_padding_sees_only_the_past():
    layer = layers.Conv1D(1, 2, padding="causal", use_bias=False)
    layer(np.zeros((1, 3, 1), np.float32))
    layer.set_weights([np.array([[[1.0]], [[10.0]]])])
    y = layer(np.array([[[1.0], [2.0], [3.0]]], np.float32)).detach().numpy()[0, :, 0]
    np.testing.assert_allclose(y, [10.0, 21.0, 32.0])


@pytest.mark.parametrize("cls, strides, dilation", [(layers.Conv1D, 2, 2), (layers.Conv2D, 2, (2, 1)),
                                                     (layers.Conv3D, (1, 2, 1), 2)])
def test_strides_with_dilation_are_refused_like_keras(cls, strides, dilation):
    with pytest.raises(MeddlError, match="strides > 1 together with dilation_rate > 1"):
        cls(2, 3, strides=strides, dilation_rate=dilation)


def test_bad_conv_arguments():
    with pytest.raises(MeddlError, match="'filters'"):
        layers.Conv1D(0, 1)
    with pytest.raises(MeddlError, match="'kernel_size'"):
        layers.Conv2D(2, (1, 0))
    with pytest.raises(MeddlError, match="'groups'"):
        layers.Conv2D(5, 2, groups=2)
    with pytest.raises(MeddlError, match="channels_last"):
        layers.Conv2D(2, 2, data_format="channels_first")


# -- pooling -------------------------------------------------------------------------------------------
POOL_CASES = [
    (layers.MaxPooling1D, dict(pool_size=2, strides=1, padding="valid"), (3, 5, 4), (3, 4, 4)),
    (layers.MaxPooling1D, dict(pool_size=2, strides=2, padding="same"), (3, 5, 4), (3, 3, 4)),
    (layers.MaxPooling2D, dict(pool_size=2, strides=1, padding="valid"), (3, 5, 6, 4), (3, 4, 5, 4)),
    (layers.MaxPooling2D, dict(pool_size=2, strides=(2, 1), padding="same"), (3, 5, 6, 4), (3, 3, 6, 4)),
    (layers.MaxPooling2D, dict(pool_size=(2, 3), strides=None, padding="valid"), (3, 5, 6, 4), (3, 2, 2, 4)),
    (layers.AveragePooling2D, dict(pool_size=2, strides=2, padding="same"), (3, 5, 5, 4), (3, 3, 3, 4)),
    (layers.MaxPooling3D, dict(pool_size=2, strides=1, padding="valid"), (3, 4, 4, 4, 2), (3, 3, 3, 3, 2)),
    (layers.MaxPooling3D, dict(pool_size=2, strides=2, padding="same"), (3, 5, 5, 5, 2), (3, 3, 3, 3, 2)),
    (layers.GlobalAveragePooling1D, dict(), (3, 5, 4), (3, 4)),
    (layers.GlobalAveragePooling1D, dict(keepdims=True), (3, 5, 4), (3, 1, 4)),
    (layers.GlobalAveragePooling2D, dict(), (3, 5, 6, 4), (3, 4)),
    (layers.GlobalMaxPooling2D, dict(keepdims=True), (3, 5, 6, 4), (3, 1, 1, 4)),
    (layers.GlobalAveragePooling3D, dict(), (3, 5, 6, 2, 4), (3, 4)),
]


@pytest.mark.parametrize("cls, kwargs, input_shape, output_shape", POOL_CASES)
def test_pooling_shapes(cls, kwargs, input_shape, output_shape):
    layer = cls(**kwargs)
    _, y = run_layer(layer, input_shape)
    assert y.shape == output_shape
    assert counts(layer) == (0, 0, 0)
    assert layer.output_shape == (None, *output_shape[1:])


def test_pooling_numbers():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    np.testing.assert_array_equal(layers.MaxPooling2D()(x).detach().numpy()[0, :, :, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(layers.AveragePooling2D()(x).detach().numpy()[0, :, :, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_array_equal(layers.GlobalMaxPooling2D()(x).detach().numpy(), [[15.0]])
    np.testing.assert_array_equal(layers.GlobalAveragePooling2D()(x).detach().numpy(), [[7.5]])
    signal = np.array([[[1.0], [3.0], [2.0]]], np.float32)
    np.testing.assert_array_equal(layers.MaxPooling1D(2, padding="same")(signal).detach().numpy()[0, :, 0], [3.0, 2.0])
    np.testing.assert_array_equal(layers.GlobalAveragePooling1D()(signal).detach().numpy(), [[2.0]])


# -- BatchNormalization (batch_normalization_test.py) --------------------------------------------------------
@pytest.mark.parametrize("center, scale, trainable", [(True, True, 2), (False, False, 0)])
def test_batch_normalization_weight_counts(center, scale, trainable):
    layer = layers.BatchNormalization(center=center, scale=scale)
    _, y = run_layer(layer, (2, 3), training=True)
    assert y.shape == (2, 3)
    assert counts(layer) == (trainable + 2, trainable, 2)


@pytest.mark.parametrize("input_shape", [(10, 3), (5, 2, 3), (5, 3, 3, 2)])
def test_batch_normalization_momentum_zero_makes_training_and_inference_agree(input_shape):
    """Keras's correctness test: with momentum 0 the moving statistics are the last batch's (biased variance)."""
    layer = layers.BatchNormalization(momentum=0.0)
    x = np.random.default_rng(2).normal(5.0, 10.0, size=input_shape).astype(np.float32)
    out = layer(x, training=True).detach().numpy()
    axes = tuple(range(len(input_shape) - 1))
    np.testing.assert_allclose(out.mean(axis=axes), 0.0, atol=1e-3)
    np.testing.assert_allclose(out.std(axis=axes), 1.0, atol=1e-3)
    np.testing.assert_allclose(layer.moving_variance.numpy(), x.var(axis=axes), rtol=1e-4)
    np.testing.assert_allclose(layer(x, training=False).detach().numpy(), out, atol=1e-4)


def test_batch_normalization_not_trainable_runs_in_inference_mode():
    layer = layers.BatchNormalization(momentum=0.8, epsilon=1e-7)
    layer.build_for((4, 4, 3))
    layer.trainable = False
    assert counts(layer) == (4, 0, 4)
    x = np.random.default_rng(3).normal(5.0, 10.0, size=(20, 4, 4, 3)).astype(np.float32)
    np.testing.assert_allclose(layer(x, training=True).detach().numpy(), x, rtol=1e-5)  # moving stats 0 and 1
    layer.trainable = True
    assert counts(layer) == (4, 2, 2)
    for _ in range(3):
        out = layer(x, training=True).detach().numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0.0, atol=1e-3)


def test_batch_normalization_momentum_range():
    layers.BatchNormalization(momentum=0.0)
    layers.BatchNormalization(momentum=1.0)
    for momentum in (-0.1, 1.5):
        with pytest.raises(MeddlError, match="'momentum'"):
            layers.BatchNormalization(momentum=momentum)


# -- recurrent layers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, params", [(layers.LSTM, 4 * (3 * (4 + 3) + 3)), (layers.GRU, 3 * 3 * (4 + 3) + 6 * 3),
                                         (layers.SimpleRNN, 3 * (4 + 3) + 3)])
def test_recurrent_shapes_and_parameter_counts(cls, params):
    layer = cls(3)
    _, y = run_layer(layer, (2, 5, 4))
    assert y.shape == (2, 3) and layer.count_params() == params
    assert counts(layer) == (3, 3, 0)
    sequences = cls(3, return_sequences=True)(np.zeros((2, 5, 4), np.float32))
    assert sequences.shape == (2, 5, 3)
    states = cls(3, return_state=True)(np.zeros((2, 5, 4), np.float32))
    assert len(states) == (3 if cls is layers.LSTM else 2) and all(s.shape == (2, 3) for s in states)


def test_gru_without_reset_after_has_one_bias_row():
    layer = layers.GRU(3, reset_after=False)
    layer(np.zeros((2, 5, 4), np.float32))
    assert layer.count_params() == 3 * 3 * (4 + 3) + 3 * 3


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def test_lstm_numbers_against_the_equations():
    rng = np.random.default_rng(4)
    layer = layers.LSTM(2, return_sequences=True)
    x = rng.normal(size=(1, 3, 2)).astype(np.float32)
    layer(x)
    kernel, recurrent, bias = rng.normal(size=(2, 8)), rng.normal(size=(2, 8)), rng.normal(size=8)
    layer.set_weights([kernel, recurrent, bias])
    h, c, expected = np.zeros(2), np.zeros(2), []
    for t in range(3):
        z = x[0, t] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        expected.append(h)
    np.testing.assert_allclose(layer(x).detach().numpy()[0], expected, atol=1e-5)


def test_lstm_starts_the_forget_gate_bias_at_one():
    layer = layers.LSTM(2)
    layer(np.zeros((1, 3, 2), np.float32))
    np.testing.assert_array_equal(layer.get_weights()[2], [0, 0, 1, 1, 0, 0, 0, 0])


def test_bidirectional_merge_modes():
    x = np.random.default_rng(5).normal(size=(2, 4, 3)).astype(np.float32)
    concat = layers.Bidirectional(layers.LSTM(5, return_sequences=True))
    assert concat(x).shape == (2, 4, 10)
    assert concat.count_params() == 2 * 4 * (5 * (3 + 5) + 5)
    total = layers.Bidirectional(layers.GRU(5), merge_mode="sum")
    assert total(x).shape == (2, 5)
    assert concat.backward_layer.go_backwards and not concat.forward_layer.go_backwards


# -- other new layers -------------------------------------------------------------------------------------
def test_embedding_shapes_parameters_and_range():
    layer = layers.Embedding(10, 4)
    y = layer(np.array([[0, 3, 9]]))
    assert y.shape == (1, 3, 4) and layer.count_params() == 40
    np.testing.assert_allclose(y[0, 1].detach().detach().numpy(), layer.get_weights()[0][3])
    assert np.abs(layer.get_weights()[0]).max() <= 0.05
    with pytest.raises(MeddlError, match=r"outside \[0, 10\)"):
        layer(np.array([[10]]))


def test_layer_normalization_normalises_each_sample():
    layer = layers.LayerNormalization()
    x, y = run_layer(layer, (3, 4, 8))
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=-1), np.sqrt(x.var(axis=-1) / (x.var(axis=-1) + 1e-3)), rtol=1e-4)
    assert layer.count_params() == 16 and layer.epsilon == 1e-3


def test_rescaling_zero_padding_and_spatial_dropout():
    np.testing.assert_allclose(layers.Rescaling(1 / 255, offset=-1)(np.array([[255.0, 0.0]])).detach().numpy(), [[0.0, -1.0]])
    padded = layers.ZeroPadding2D(((1, 2), (3, 4)))(np.ones((2, 3, 3, 1), np.float32)).detach().numpy()
    assert padded.shape == (2, 6, 10, 1) and padded.sum() == 18 and padded[0, 0].sum() == 0
    assert layers.ZeroPadding2D()(np.ones((1, 2, 2, 1), np.float32)).shape == (1, 4, 4, 1)
    dropout = layers.SpatialDropout2D(0.5)
    x = np.ones((8, 4, 4, 16), np.float32)
    np.testing.assert_array_equal(dropout(x).detach().numpy(), x)
    y = dropout(x, training=True).detach().numpy()
    per_channel = y.transpose(0, 3, 1, 2).reshape(8, 16, 16)
    assert all(len(np.unique(channel)) == 1 for sample in per_channel for channel in sample)  # whole maps dropped


def test_merge_layers():
    a, b = np.full((2, 3), 2.0, np.float32), np.full((2, 3), 3.0, np.float32)
    np.testing.assert_array_equal(layers.Add()([a, b]).detach().numpy(), np.full((2, 3), 5.0))
    np.testing.assert_array_equal(layers.Multiply()([a, b]).detach().numpy(), np.full((2, 3), 6.0))
    np.testing.assert_array_equal(layers.Subtract()([a, b]).detach().numpy(), np.full((2, 3), -1.0))
    assert layers.Concatenate()([a, np.zeros((2, 4), np.float32)]).shape == (2, 7)
    assert layers.Concatenate(axis=1)([np.zeros((2, 1, 3)), np.zeros((2, 2, 3))]).shape == (2, 3, 3)
    with pytest.raises(MeddlError, match="same shape"):
        layers.Add()([a, np.zeros((2, 4), np.float32)])


# -- calling layers directly ------------------------------------------------------------------------------------
def test_direct_calls_are_inference_unless_training_is_true():
    model = meddl.Sequential([layers.Dense(32, input_shape=(8,)), layers.Dropout(0.5), layers.Dense(4)])
    x = np.random.default_rng(6).normal(size=(16, 8)).astype(np.float32)
    np.testing.assert_array_equal(model(x).detach().detach().numpy(), model(x).detach().detach().numpy())
    assert not np.allclose(model(x, training=True).detach().detach().numpy(), model(x).detach().detach().numpy())
    assert not model.training and not model.layers[1].training  # the call restored the mode


def test_layers_build_on_first_call_from_numpy_or_tensor():
    from_numpy = layers.Dense(3)
    assert not from_numpy.built
    from_numpy(np.zeros((2, 5)))
    assert from_numpy.built and from_numpy.input_shape == (None, 5) and from_numpy.output_shape == (None, 3)
    from_tensor = layers.Conv2D(2, 3)
    assert from_tensor(torch.zeros(1, 6, 6, 1)).shape == (1, 4, 4, 2)


def test_default_layer_names_are_kerass():
    # Keras 3.15's own default names (keras.layers.Conv2DTranspose(2, 3).name, ...)
    assert [snake_case(name) for name in ("Conv2D", "Conv2DTranspose", "Conv1DTranspose", "ConvLSTM2D", "PReLU",
                                          "GRU", "RMSNormalization", "GlobalAveragePooling2D")] == \
        ["conv2d", "conv2d_transpose", "conv1d_transpose", "conv_lstm2d", "p_re_lu", "gru", "rms_normalization",
         "global_average_pooling2d"]
    reset_layer_names()
    model = meddl.Sequential([layers.Input((4, 4, 1)), layers.Conv2DTranspose(2, 3), layers.Conv2DTranspose(2, 3)])
    assert [layer.name for layer in model.layers] == ["conv2d_transpose", "conv2d_transpose_1"]
