"""Keras's regularizers: kernel_regularizer=meddl.regularizers.l2(0.01) adds its penalty to the loss, and so do
activity_regularizer, ActivityRegularization and a custom layer's add_loss (each step's own, as in Keras)."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers, regularizers
from meddl.errors import MeddlError


def test_penalties_as_keras_defines_them():
    w = torch.tensor([[1.0, -2.0], [0.5, 0.0]])
    assert float(regularizers.l2(0.01)(w)) == pytest.approx(0.01 * 5.25)
    assert float(regularizers.L1(0.1)(w)) == pytest.approx(0.1 * 3.5)
    assert float(regularizers.l1_l2(l1=0.1, l2=0.01)(w)) == pytest.approx(0.35 + 0.0525)
    assert regularizers.get("l2").get_config() == {"l2": 0.01}  # Keras's default factor
    keras_config = {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.05}, "registered_name": None}
    assert regularizers.get(keras_config).l2 == 0.05
    with pytest.raises(MeddlError, match="Did you mean 'l2'"):
        regularizers.get("l2x")
    with pytest.raises(MeddlError, match="a function cannot be saved with the model"):
        regularizers.get(lambda w: w.sum())
    with pytest.raises(MeddlError, match="'l2' factor of L2 must be a number >= 0"):
        regularizers.L2(-1)


def test_the_training_loss_includes_the_penalty_and_shrinks_the_weights(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    y = x @ rng.normal(size=6).astype(np.float32)
    norms = {}
    for factor in (0.0, 1.0):
        meddl.utils.set_random_seed(0)
        model = meddl.Sequential([layers.Dense(1, input_shape=(6,), kernel_regularizer=regularizers.l2(factor),
                                               bias_regularizer="l1")])
        model.compile(optimizer=meddl.optimizers.Adam(learning_rate=0.05), loss="mse")
        model.fit(x, y, epochs=60, verbose=0)
        norms[factor] = float(np.square(model.get_weights()[0]).sum())
        kernel, bias = model.layers[0].kernel.detach(), model.layers[0].bias.detach()
        penalty = factor * float(kernel.square().sum()) + 0.01 * float(bias.abs().sum())
        mse = float(np.mean((model.predict(x, verbose=0)[:, 0] - y) ** 2))
        assert model.evaluate(x, y) == pytest.approx(mse + penalty, rel=1e-4)  # the loss includes it, as in Keras
        assert float(sum(model.losses).detach()) == pytest.approx(penalty, rel=1e-5)
    assert norms[1.0] < 0.5 * norms[0.0]
    model.save(tmp_path / "model")
    loaded = meddl.load_model(tmp_path / "model")
    assert loaded.layers[0].kernel_regularizer.l2 == 1.0 and loaded.layers[0].bias_regularizer.l1 == 0.01


def test_convolution_layers_take_regularizers():
    conv = layers.Conv2D(2, 3, kernel_regularizer="l2")
    separable = layers.SeparableConv2D(2, 3, depthwise_regularizer="l1", pointwise_regularizer="l2")
    for layer in (conv, separable, layers.Conv2DTranspose(2, 2, kernel_regularizer="l1")):
        layer(np.ones((1, 5, 5, 3), np.float32))
        assert layer.regularization_penalty() is not None and float(layer.regularization_penalty().detach()) > 0
        rebuilt = layers.deserialize(layers.serialize(layer))
        assert layers.serialize(rebuilt)["config"] == layers.serialize(layer)["config"]
    depthwise_only = layers.SeparableConv2D(2, 3, depthwise_regularizer="l1")
    depthwise_only(np.ones((1, 5, 5, 3), np.float32))
    assert float(depthwise_only.regularization_penalty().detach()) == pytest.approx(
        0.01 * float(depthwise_only.depthwise_kernel.detach().abs().sum()))


def test_recurrent_layers_and_embeddings_take_regularizers_and_other_extras_are_refused():
    lstm = layers.LSTM(4, kernel_regularizer="l2", recurrent_regularizer=regularizers.l1(0.1))
    lstm(np.ones((2, 3, 5), np.float32))
    expected = 0.01 * float(lstm.kernel.detach().square().sum()) + 0.1 * float(lstm.recurrent_kernel.detach().abs().sum())
    assert float(lstm.regularization_penalty().detach()) == pytest.approx(expected, rel=1e-5)
    embedding = layers.Embedding(10, 3, embeddings_regularizer="l2")
    embedding(np.zeros((1, 4), np.int64))
    assert layers.serialize(layers.deserialize(layers.serialize(embedding)))["config"]["embeddings_regularizer"] == {
        "class_name": "L2", "config": {"l2": 0.01}}
    for make in (lambda: layers.LSTM(4, kernel_constraint="max_norm"),
                 lambda: layers.LayerNormalization(rms_scaling=True),
                 lambda: layers.Embedding(10, 3, embeddings_constraint="non_neg"),
                 lambda: layers.Concatenate(beta_regularizer="l2")):
        with pytest.raises(MeddlError, match="does not support"):
            make()
    layers.LSTM(4, kernel_constraint=None, seed=3)  # Keras's defaults and harmless extras pass


def test_activity_penalties_are_added_to_the_loss_per_sample_and_saved(tmp_path):
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    y = np.zeros((8, 2), np.float32)
    model = meddl.Sequential([layers.Input((4,)), layers.Dense(5, activation="relu", activity_regularizer="l1"),
                              layers.ActivityRegularization(l1=0.0, l2=0.5),
                              layers.Dense(2, activation="softmax", activity_regularizer=regularizers.l2(0.1))])
    model.compile(optimizer="sgd", loss="mse")
    hidden = meddl.Model(model.inputs, model.layers[0].output).predict(x)
    probabilities = model.predict(x)
    penalty = (0.01 * np.abs(hidden).sum() + 0.5 * np.square(hidden).sum() + 0.1 * np.square(probabilities).sum()) / 8
    mse = np.mean(np.square(probabilities - y))
    assert model.evaluate(x, y, batch_size=8) == pytest.approx(mse + penalty, rel=1e-5)  # on the softmax's output
    model.save(tmp_path / "model")
    loaded = meddl.load_model(tmp_path / "model")
    assert loaded.layers[0].activity_regularizer.l1 == 0.01 and loaded.layers[1].l2 == 0.5
    assert loaded.evaluate(x, y, batch_size=8) == pytest.approx(mse + penalty, rel=1e-5)
    with pytest.raises(MeddlError, match="'l2' factor of L1L2 must be a number >= 0"):
        layers.ActivityRegularization(l2=-1.0)


class KLPenalty(layers.Layer):
    """A layer of one's own that adds a loss on its activations (Keras's add_loss example)."""

    def call(self, x):
        self.add_loss(0.5 * meddl.ops.mean(meddl.ops.square(x)))
        return x


def test_add_loss_joins_each_steps_loss_and_losses_hold_the_latest_call():
    x = np.random.default_rng(1).normal(size=(16, 3)).astype(np.float32)
    y = np.zeros((16, 1), np.float32)
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(4), KLPenalty(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    hidden = meddl.Model(model.inputs, model.layers[0].output).predict(x)
    expected = np.mean(np.square(model.predict(x))) + 0.5 * np.mean(np.square(hidden))
    assert model.evaluate(x, y, batch_size=16) == pytest.approx(expected, rel=1e-5)
    model(x[:4])
    model(x[:2])  # a new call: the previous call's added loss is gone, not piled up
    assert len(model.losses) == 1
    assert float(model.losses[0].detach()) == pytest.approx(0.5 * np.mean(np.square(hidden[:2])), rel=1e-5)
    before = model.get_weights()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    plain = meddl.Sequential([layers.Input((3,)), layers.Dense(4), layers.Dense(1)])
    plain.set_weights(before)
    plain.compile(optimizer="sgd", loss="mse")
    plain.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert not np.allclose(model.get_weights()[0], plain.get_weights()[0])  # the added loss has gradients
    with pytest.raises(MeddlError, match="add_loss takes tensors computed in call.*got float"):
        KLPenalty().add_loss(0.1)
