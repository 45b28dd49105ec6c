"""Keras's activation layers, Normalization with adapt, noise layers, Minimum, and the U-Net layers
(Cropping2D, UpSampling2D, Conv2DTranspose): numbers, shapes, saving and errors."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import DataError, MeddlError, NotFittedError

VALUES = [[-3.0, -1.0, 0.0, 2.0]]


@pytest.mark.parametrize("layer, expected", [  # Keras's documented ReLU and LeakyReLU examples
    (layers.ReLU(), [0.0, 0.0, 0.0, 2.0]),
    (layers.ReLU(max_value=1.0), [0.0, 0.0, 0.0, 1.0]),
    (layers.ReLU(negative_slope=1.0), [-3.0, -1.0, 0.0, 2.0]),
    (layers.ReLU(threshold=1.5), [0.0, 0.0, 0.0, 2.0]),
    (layers.LeakyReLU(), [-0.9, -0.3, 0.0, 2.0]),
    (layers.LeakyReLU(alpha=0.5), [-1.5, -0.5, 0.0, 2.0]),
    (layers.ELU(), [np.expm1(-3.0), np.expm1(-1.0), 0.0, 2.0]),
])
def test_activation_layers(layer, expected):
    np.testing.assert_allclose(layer(VALUES).detach().numpy()[0], expected, rtol=1e-6)


def test_softmax_layer_and_bad_arguments():
    out = layers.Softmax()(np.random.default_rng(0).normal(size=(3, 4, 5))).detach().numpy()
    np.testing.assert_allclose(out.sum(axis=-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(layers.Softmax(axis=1)(np.zeros((2, 4, 5))).detach().numpy(), 0.25)
    with pytest.raises(MeddlError, match="'axis' parameter of Softmax must be a non-zero integer"):
        layers.Softmax(axis=0)
    with pytest.raises(MeddlError, match="'negative_slope' parameter of ReLU must be a number >= 0"):
        layers.ReLU(negative_slope=-1)


def test_prelu_learns_its_negative_slope_and_shares_it_over_image_axes():
    x = np.linspace(-1, 1, 101, dtype=np.float32)[:, None]
    y = np.where(x < 0, 0.5 * x, x)
    model = meddl.Sequential([meddl.Input((1,)), layers.PReLU()])
    assert model.predict(x, verbose=0).min() == 0.0  # alpha starts at zero: a ReLU
    model.compile(optimizer=meddl.optimizers.SGD(learning_rate=0.5), loss="mse")
    model.fit(x, y, epochs=200, batch_size=None, verbose=0)
    assert float(model.layers[0].alpha.detach()) == pytest.approx(0.5, abs=0.01)
    shared = layers.PReLU(shared_axes=[1, 2])
    shared(np.zeros((1, 6, 6, 3), np.float32))
    assert tuple(shared.alpha.shape) == (1, 1, 3) and shared.count_params() == 3


def test_normalization_adapts_standardises_inverts_and_is_saved_with_the_model(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(loc=[50.0, 0.5, -10.0], scale=[12.0, 0.1, 3.0], size=(500, 3)).astype(np.float32)
    norm = layers.Normalization()
    with pytest.raises(NotFittedError, match=r"call layer.adapt\(x_train\)"):
        norm(x)
    norm.adapt(x)
    np.testing.assert_allclose(norm.mean.numpy(), x.astype(np.float64).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(norm.variance.numpy(), x.astype(np.float64).var(axis=0), rtol=1e-5)
    z = norm(x).detach().numpy()
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-4)
    inverse = layers.Normalization(mean=norm.mean.numpy(), variance=norm.variance.numpy(), invert=True)
    np.testing.assert_allclose(inverse(z).detach().numpy(), x, rtol=1e-4, atol=1e-3)
    y = (x[:, 0] > 50).astype(np.int64)
    model = meddl.Sequential([meddl.Input((3,)), norm, layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=30, verbose=0, seed=0)  # a re-seeded fit keeps the adapted statistics
    assert model.evaluate(x, y, return_dict=True)["accuracy"] > 0.9
    assert model.count_params() == 3 + 3 + 1 + 8 and len(model.layers[0].non_trainable_weights) == 3
    model.save(tmp_path / "model")
    loaded = meddl.load_model(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_normalization_over_images_and_its_errors():
    images = np.random.default_rng(1).uniform(0, 255, size=(20, 4, 4, 2))
    per_channel = layers.Normalization()
    per_channel.adapt(images)
    assert tuple(per_channel.mean.shape) == (1, 1, 2)
    np.testing.assert_allclose(per_channel.mean.numpy().ravel(), images.mean(axis=(0, 1, 2)), rtol=1e-6)
    overall = layers.Normalization(axis=None)
    overall.adapt(images)
    assert float(overall.mean) == pytest.approx(images.mean())
    with pytest.raises(DataError, match="NaN or infinite"):
        layers.Normalization().adapt(np.array([[1.0], [np.nan]]))
    with pytest.raises(DataError, match=r"built for samples of shape \(4, 4, 2\); adapt got \(3,\)"):
        per_channel.adapt(np.zeros((5, 3)))
    with pytest.raises(MeddlError, match="needs both 'mean' and 'variance'"):
        layers.Normalization(mean=1.0)
    with pytest.raises(MeddlError, match="has 2 values; the inputs of shape \\(3,\\) have 3 features"):
        layers.Normalization(mean=[1, 2], variance=[1, 1])(np.zeros((1, 3)))


def test_noise_layers_act_only_in_training():
    x = np.ones((20000, 1), np.float32)
    for layer in (layers.GaussianNoise(0.5), layers.GaussianDropout(0.2)):
        np.testing.assert_array_equal(layer(x).detach().numpy(), x)
    noisy = layers.GaussianNoise(0.5)(x, training=True).detach().numpy()
    assert noisy.mean() == pytest.approx(1.0, abs=0.02) and noisy.std() == pytest.approx(0.5, abs=0.02)
    dropped = layers.GaussianDropout(0.2)(x, training=True).detach().numpy()
    assert dropped.mean() == pytest.approx(1.0, abs=0.02) and dropped.std() == pytest.approx(0.5, abs=0.02)


def test_minimum_merge():
    a, b = np.array([[1.0, 5.0]], np.float32), np.array([[3.0, 0.0]], np.float32)
    np.testing.assert_array_equal(layers.Minimum()([a, b]).detach().numpy(), [[1.0, 0.0]])


def test_cropping_and_upsampling():
    x = np.arange(2 * 6 * 8 * 3, dtype=np.float32).reshape(2, 6, 8, 3)
    cropped = layers.Cropping2D(((1, 2), (3, 0)))(x).detach().numpy()
    np.testing.assert_array_equal(cropped, x[:, 1:4, 3:8])
    with pytest.raises(MeddlError, match="leaves nothing"):
        layers.Cropping2D(3)(x)
    nearest = layers.UpSampling2D((2, 3))(x).detach().numpy()
    assert nearest.shape == (2, 12, 24, 3) and np.array_equal(nearest[:, ::2, ::3], x)
    row = np.array([[[[1.0], [2.0]]]], np.float32)  # half-pixel centres, as Keras 3's bilinear resize
    np.testing.assert_allclose(layers.UpSampling2D(2, interpolation="bilinear")(row).detach().numpy()[0, 0, :, 0],
                               [1.0, 1.25, 1.75, 2.0])
    with pytest.raises(MeddlError, match="'interpolation' parameter of UpSampling2D"):
        layers.UpSampling2D(interpolation="bicubic")


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel, stride", [(3, 1), (3, 2), (4, 2), (2, 3), (1, 2), (5, 3)])
def test_conv2d_transpose_is_the_adjoint_of_conv2d(padding, kernel, stride):
    """<Conv2D(x), y> = <x, Conv2DTranspose(y)> with the same Keras-layout kernel: the transposed convolution
    Keras defines, including which side a same-padded convolution pads."""
    rng = np.random.default_rng(kernel * 10 + stride)
    small, channels_big, channels_small = 5, 3, 4
    big = small * stride if padding == "same" else small * stride + max(kernel - stride, 0)
    conv = layers.Conv2D(channels_small, kernel, strides=stride, padding=padding, use_bias=False)
    transpose = layers.Conv2DTranspose(channels_big, kernel, strides=stride, padding=padding, use_bias=False)
    x = rng.normal(size=(1, big, big, channels_big)).astype(np.float32)
    y = rng.normal(size=(1, small, small, channels_small)).astype(np.float32)
    conv(x)
    transpose(y)
    weights = rng.normal(size=(kernel, kernel, channels_big, channels_small)).astype(np.float32)
    conv.set_weights([weights])
    transpose.set_weights([weights])  # Keras's (kh, kw, filters, in) is the same array
    forward = conv(x).detach().numpy()
    backward = transpose(y).detach().numpy()
    assert forward.shape == y.shape and backward.shape == x.shape
    assert transpose.compute_output_shape((small, small, channels_small)) == (big, big, channels_big)
    assert float((forward * y).sum()) == pytest.approx(float((x * backward).sum()), rel=1e-4)


def test_a_small_unet_trains_saves_and_loads(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.normal(size=(16, 8, 8, 1)).astype(np.float32)
    masks = (images > 0.5).astype(np.float32)
    inputs = meddl.Input((8, 8, 1))
    down = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    pooled = layers.MaxPooling2D()(down)
    up = layers.Conv2DTranspose(4, 2, strides=2, padding="same", activation="relu")(pooled)
    merged = layers.Concatenate()([down, up])
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(merged)
    unet = meddl.Model(inputs, outputs)
    assert unet.get_layer(index=3).count_params() == 2 * 2 * 4 * 4 + 4
    assert unet.get_layer(index=3).get_weights()[0].shape == (2, 2, 4, 4)
    unet.compile(optimizer="adam", loss="binary_crossentropy")
    history = unet.fit(images, masks, epochs=20, verbose=0, seed=0).history
    assert history["loss"][-1] < history["loss"][0]
    unet.save(tmp_path / "unet")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "unet").predict(images, verbose=0),
                                  unet.predict(images, verbose=0))


def test_every_new_layer_round_trips_through_its_config():
    for layer in (layers.ReLU(max_value=6.0), layers.LeakyReLU(0.1), layers.ELU(0.5), layers.Softmax(axis=1),
                  layers.PReLU(shared_axes=[1]), layers.Normalization(mean=[1.0], variance=[4.0]),
                  layers.GaussianNoise(0.1), layers.GaussianDropout(0.3), layers.Minimum(), layers.Cropping2D(1),
                  layers.UpSampling2D(3, interpolation="bilinear"), layers.Conv2DTranspose(3, 2, strides=2),
                  layers.Conv3DTranspose(2, 3, padding="same"), layers.UpSampling1D(4),
                  layers.DepthwiseConv2D(3, depth_multiplier=2), layers.SeparableConv2D(4, 3, strides=2)):
        spec = layers.serialize(layer)
        rebuilt = layers.deserialize(spec)
        assert type(rebuilt) is type(layer) and layers.serialize(rebuilt)["config"] == spec["config"]
    assert torch.is_tensor(layers.ReLU()(np.zeros((1, 2))))


def test_targets_per_position_must_match_the_outputs_and_take_no_class_weight():
    model = meddl.Sequential([meddl.Input((4, 4, 1)), layers.Conv2D(1, 1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    images = np.zeros((2, 4, 4, 1), np.float32)
    with pytest.raises(DataError, match=r"one target per position, shape \(2, 2, 2, 1\), but the model's outputs "
                                        r"have shape \(2, 4, 4, 1\)"):
        model.fit(images, np.zeros((2, 2, 2, 1)), verbose=0)
    with pytest.raises(MeddlError, match="'class_weight' weighs whole samples"):
        model.fit(images, np.zeros((2, 4, 4, 1)), class_weight={0: 1.0, 1: 2.0}, verbose=0)
    weights = np.array([1.0, 0.0], np.float32)  # sample weights still weigh whole images
    assert np.isfinite(model.fit(images, np.ones((2, 4, 4, 1)), sample_weight=weights, verbose=0).history["loss"][0])


def test_dice_loss_and_overlap_metrics_for_a_segmentation():
    y_true = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[0.0], [1.0]], [[0.0], [0.0]]]], np.float32)  # (2, 2, 2, 1)
    y_pred = np.array([[[[0.9], [0.4]], [[0.2], [0.0]]], [[[0.0], [0.8]], [[0.6], [0.0]]]], np.float32)
    overlap, total = (y_true * y_pred).sum(), y_true.sum() + y_pred.sum()
    assert float(meddl.losses.Dice()(y_true, y_pred)) == pytest.approx(1 - 2 * overlap / total, rel=1e-6)
    per_image = [1 - 2 * (t * p).sum() / (t.sum() + p.sum()) for t, p in zip(y_true, y_pred)]
    assert float(meddl.losses.Dice()(y_true, y_pred, sample_weight=[1.0, 0.0])) == pytest.approx(
        per_image[0] / 2, rel=1e-6)  # Keras's sum over the batch size
    iou = meddl.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)  # Keras's documented example
    iou.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    assert iou.result() == pytest.approx(1 / 3)
    dice = meddl.metrics.DiceCoefficient()  # at 0.5: TP 2 (0.9, 0.8), FP 1 (0.6), FN 1 (0.4)
    dice.update_state(y_true, y_pred)
    assert dice.result() == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    with pytest.raises(MeddlError, match="'target_class_ids' of BinaryIoU must be 0 and/or 1"):
        meddl.metrics.BinaryIoU(target_class_ids=[2])


def test_a_unet_trains_on_the_dice_loss_with_overlap_metrics_by_name():
    rng = np.random.default_rng(3)
    images = rng.normal(size=(24, 8, 8, 1)).astype(np.float32)
    masks = (images > 0.8).astype(np.float32)
    inputs = meddl.Input((8, 8, 1))
    hidden = layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(hidden)
    model = meddl.Model(inputs, outputs)
    model.compile(optimizer=meddl.optimizers.Adam(learning_rate=0.05), loss="dice", metrics=["dice", "binary_iou"])
    history = model.fit(images, masks, epochs=40, verbose=0, seed=0).history
    assert history["loss"][-1] < 0.5 * history["loss"][0] and history["dice"][-1] > 0.6
    assert 0 < history["binary_iou"][-1] <= 1


@pytest.mark.parametrize("rank, conv, transpose", [(1, layers.Conv1D, layers.Conv1DTranspose),
                                                   (3, layers.Conv3D, layers.Conv3DTranspose)])
@pytest.mark.parametrize("padding, kernel, stride", [("same", 3, 2), ("valid", 3, 2), ("same", 2, 3), ("valid", 1, 1)])
def test_1d_and_3d_transposed_convolutions_are_adjoints_too(rank, conv, transpose, padding, kernel, stride):
    rng = np.random.default_rng(rank)
    small = 3
    big = small * stride if padding == "same" else small * stride + max(kernel - stride, 0)
    forward_layer = conv(2, kernel, strides=stride, padding=padding, use_bias=False)
    backward_layer = transpose(3, kernel, strides=stride, padding=padding, use_bias=False)
    x = rng.normal(size=(1, *([big] * rank), 3)).astype(np.float32)
    y = rng.normal(size=(1, *([small] * rank), 2)).astype(np.float32)
    forward_layer(x)
    backward_layer(y)
    weights = rng.normal(size=(*([kernel] * rank), 3, 2)).astype(np.float32)
    forward_layer.set_weights([weights])
    backward_layer.set_weights([weights])
    forward, backward = forward_layer(x).detach().numpy(), backward_layer(y).detach().numpy()
    assert forward.shape == y.shape and backward.shape == x.shape
    assert float((forward * y).sum()) == pytest.approx(float((x * backward).sum()), rel=1e-4)


def test_upsampling_in_one_and_three_dimensions():
    signal = np.arange(4, dtype=np.float32).reshape(1, 2, 2)
    np.testing.assert_array_equal(layers.UpSampling1D(3)(signal).detach().numpy()[0, :, 0], [0, 0, 0, 2, 2, 2])
    volume = np.random.default_rng(0).normal(size=(1, 2, 3, 4, 1)).astype(np.float32)
    up = layers.UpSampling3D((2, 1, 3))(volume).detach().numpy()
    assert up.shape == (1, 4, 3, 12, 1) and np.array_equal(up[:, ::2, :, ::3], volume)
    assert layers.deserialize(layers.serialize(layers.UpSampling3D(2))).size == (2, 2, 2)


@pytest.mark.parametrize("padding, strides", [("same", 2), ("valid", 1)])
def test_depthwise_and_separable_convolutions_against_their_definitions(padding, strides):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 7, 7, 3)).astype(np.float32)
    depthwise = layers.DepthwiseConv2D(3, strides=strides, padding=padding, depth_multiplier=2, use_bias=False)
    depthwise(x)
    kernel = rng.normal(size=(3, 3, 3, 2)).astype(np.float32)
    depthwise.set_weights([kernel])
    out = depthwise(x).detach().numpy()
    for channel in range(3):  # output channel c·m + j filters input channel c alone, as Keras orders them
        for j in range(2):
            single = layers.Conv2D(1, 3, strides=strides, padding=padding, use_bias=False)
            single(x[..., channel:channel + 1])
            single.set_weights([kernel[:, :, channel:channel + 1, j:j + 1]])
            np.testing.assert_allclose(out[..., channel * 2 + j], single(x[..., channel:channel + 1]).detach()
                                       .numpy()[..., 0], rtol=1e-5, atol=1e-5)
    separable = layers.SeparableConv2D(4, 3, strides=strides, padding=padding, depth_multiplier=2)
    separable(x)
    pointwise, bias = rng.normal(size=(1, 1, 6, 4)).astype(np.float32), rng.normal(size=4).astype(np.float32)
    separable.set_weights([kernel, pointwise, bias])
    mix = layers.Conv2D(4, 1)
    mix(out)
    mix.set_weights([pointwise, bias])
    np.testing.assert_allclose(separable(x).detach().numpy(), mix(out).detach().numpy(), rtol=1e-5, atol=1e-5)
    assert [w.shape for w in separable.get_weights()] == [(3, 3, 3, 2), (1, 1, 6, 4), (4,)]
    assert separable.count_params() == 3 * 3 * 3 * 2 + 6 * 4 + 4


def test_a_mobile_style_network_saves_and_loads(tmp_path):
    images = np.random.default_rng(0).normal(size=(8, 12, 12, 3)).astype(np.float32)
    model = meddl.Sequential([meddl.Input((12, 12, 3)), layers.SeparableConv2D(8, 3, padding="same", activation="relu"),
                              layers.DepthwiseConv2D(3, strides=2, activation="relu"), layers.GlobalAveragePooling2D(),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(images, np.arange(8) % 2, epochs=2, verbose=0)
    model.save(tmp_path / "mobile")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "mobile").predict(images, verbose=0),
                                  model.predict(images, verbose=0))
    with pytest.raises(MeddlError, match="'depth_multiplier' parameter of DepthwiseConv2D must be a positive integer"):
        layers.DepthwiseConv2D(3, depth_multiplier=0)


def test_permute_repeat_vector_identity_and_lambda(tmp_path):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(layers.Permute((2, 1))(x).detach().numpy(), x.transpose(0, 2, 1))
    repeated = layers.RepeatVector(3)(x[:, 0]).detach().numpy()
    assert repeated.shape == (2, 3, 4) and np.array_equal(repeated[:, 2], x[:, 0])
    np.testing.assert_array_equal(layers.Identity()(x).detach().numpy(), x)
    with pytest.raises(MeddlError, match="must be a permutation of 1..2"):
        layers.Permute((0, 1))
    model = meddl.Sequential([meddl.Input((3, 4)), layers.Lambda(lambda t: t.mean(dim=1)), layers.Dense(1)])
    assert model.output_shape == (None, 1)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.ones(2, np.float32), epochs=1, verbose=0)
    with pytest.raises(MeddlError, match="holds Python code, which meddl does not save"):
        model.save(tmp_path / "lambda")
    assert not (tmp_path / "lambda").exists()
    with pytest.raises(MeddlError, match="must return a torch tensor"):
        layers.Lambda(lambda t: t.numpy())(x)
    for layer in (layers.Permute((2, 1)), layers.RepeatVector(5), layers.Identity()):
        assert type(layers.deserialize(layers.serialize(layer))) is type(layer)


def test_attention_against_its_definition_and_in_a_sequence_model(tmp_path):
    rng = np.random.default_rng(2)
    query, value, key = (rng.normal(size=shape).astype(np.float32) for shape in ((2, 3, 4), (2, 5, 4), (2, 5, 4)))
    scores = query @ key.transpose(0, 2, 1)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    np.testing.assert_allclose(layers.Attention()([query, value, key]).detach().numpy(), weights @ value, rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(MeddlError, match="'score_mode' parameter of Attention must be 'dot' or 'concat'"):
        layers.Attention(score_mode="luong")
    with pytest.raises(MeddlError, match=r"called on \[query, value\]"):
        layers.Attention()(query)
    visits = meddl.Input((6, 3))
    states = layers.LSTM(4, return_sequences=True)(visits)
    attended = layers.Attention(use_scale=True)([states, states])
    outputs = layers.Dense(1, activation="sigmoid")(layers.GlobalAveragePooling1D()(attended))
    model = meddl.Model(visits, outputs)
    x, y = rng.normal(size=(32, 6, 3)).astype(np.float32), rng.integers(0, 2, 32).astype(np.float32)
    model.compile(optimizer="adam", loss="binary_crossentropy")
    scale = next(layer for layer in model.layers if isinstance(layer, layers.Attention))
    model.fit(x, y, epochs=3, verbose=0)
    assert float(scale.scale.detach()) != 1.0  # the learnt scale trains
    model.save(tmp_path / "attention")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "attention").predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_additive_attention_is_bahdanaus_score_and_saves_its_scale(tmp_path):
    query, value = torch.randn(2, 3, 4), torch.randn(2, 5, 4)
    layer = layers.AdditiveAttention()
    out = layer([query, value])
    scale = layer.scale.detach()
    scores = torch.stack([torch.stack([(scale * torch.tanh(query[:, i] + value[:, j])).sum(-1) for j in range(5)], -1)
                          for i in range(3)], 1)
    torch.testing.assert_close(out, torch.softmax(scores, -1) @ value)
    inputs = meddl.Input((5, 4))
    model = meddl.Model(inputs, layers.GlobalAveragePooling1D()(layers.AdditiveAttention()([inputs, inputs])))
    model.compile(loss="mse")
    model.save(tmp_path / "model")
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict(x), model.predict(x))
