"""A layer called with training=True or False inside a functional model keeps that mode: Keras's Monte Carlo
dropout (predictions that vary, for an uncertainty estimate) and a frozen base model whose BatchNormalization
keeps its statistics while the head is fine-tuned."""

import numpy as np
import torch

import meddl
from meddl import layers


def test_monte_carlo_dropout_stays_on_at_prediction_and_survives_saving(tmp_path):
    inputs = meddl.Input((8,))
    hidden = layers.Dropout(0.5)(layers.Dense(32, activation="relu")(inputs), training=True)
    model = meddl.Model(inputs, layers.Dense(1, activation="sigmoid")(hidden))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    x = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    draws = np.stack([model.predict(x) for _ in range(30)])
    assert draws.std(axis=0).min() > 0  # a different dropout mask each time: a spread to estimate uncertainty
    model.save(tmp_path / "model")
    again = meddl.load_model(tmp_path / "model")
    assert np.stack([again.predict(x) for _ in range(5)]).std(axis=0).min() > 0
    assert again.get_config()["nodes"][1]["training"] is True


def test_a_base_model_called_with_training_false_keeps_its_batch_statistics_while_the_head_trains():
    base = meddl.Sequential([layers.Input((6,)), layers.Dense(8), layers.BatchNormalization(), layers.Dropout(0.5)],
                            name="base")
    inputs = meddl.Input((6,))
    model = meddl.Model(inputs, layers.Dense(1)(base(inputs, training=False)))
    model.compile(optimizer="sgd", loss="mse")
    statistics = [tensor.clone() for tensor in base.layers[1].buffers()]
    rng = np.random.default_rng(1)
    x, y = rng.normal(3.0, 2.0, size=(64, 6)).astype("float32"), rng.normal(size=64).astype("float32")
    before = model.layers[-1].get_weights()[0].copy()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    for kept, now in zip(statistics, base.layers[1].buffers()):
        torch.testing.assert_close(kept, now)  # moving mean and variance untouched by fit
    assert not np.allclose(before, model.layers[-1].get_weights()[0])  # the head trained
    assert model.training is False and base.training is False
    np.testing.assert_array_equal(model.predict(x), model.predict(x))  # dropout in the base stays off


def test_without_a_fixed_mode_prediction_is_deterministic():
    inputs = meddl.Input((8,))
    model = meddl.Model(inputs, layers.Dropout(0.5)(inputs))
    x = np.ones((2, 8), np.float32)
    np.testing.assert_array_equal(model.predict(x), x)
