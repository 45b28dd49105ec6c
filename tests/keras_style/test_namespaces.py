"""meddl's Keras namespaces: utils, callbacks, optimizers (and schedules), losses, metrics, models."""

import csv
import math

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import meddl
from meddl import layers


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, x @ np.array([1.0, -2.0, 0.5, 0.0], dtype=np.float32)


def tiny_model():
    model = meddl.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(1)])
    model.compile(optimizer=meddl.optimizers.SGD(learning_rate=0.01, momentum=0.9, nesterov=True), loss="mse")
    return model


def test_utils_to_categorical_and_set_random_seed():
    np.testing.assert_array_equal(meddl.utils.to_categorical([0, 2, 1]), np.eye(3)[[0, 2, 1]])
    assert meddl.utils.to_categorical(np.array([[1], [0]]), num_classes=4).shape == (2, 4)
    with pytest.raises(meddl.DataError, match="num_classes"):
        meddl.utils.to_categorical([0, 5], num_classes=3)
    meddl.utils.set_random_seed(3)
    first = torch.rand(2)
    meddl.utils.set_random_seed(3)
    assert torch.equal(first, torch.rand(2))


def test_plot_model_as_text_and_png(tmp_path):
    model = tiny_model()
    text = meddl.utils.plot_model(model, tmp_path / "model.txt", show_shapes=True)
    assert "dense_1 (Dense)  (None, 1)  <- dense" in text and (tmp_path / "model.txt").read_text() == text
    meddl.utils.plot_model(model, tmp_path / "model.png")
    assert (tmp_path / "model.png").read_bytes()[:4] == b"\x89PNG"


def test_plot_model_leaves_the_users_matplotlib_alone(tmp_path):
    """A PNG drawing neither switches the user's pyplot backend (here: SVG) nor opens a pyplot figure."""
    before = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        open_figures = plt.get_fignums()
        meddl.utils.plot_model(tiny_model(), tmp_path / "model.png")
        assert matplotlib.get_backend() == "svg" and plt.get_fignums() == open_figures
    finally:
        matplotlib.use(before)


def test_csv_logger_learning_rate_scheduler_and_custom_callback(tmp_path):
    class StopAfterTwo(meddl.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.stop_training = True  # Keras's way to stop

    model = tiny_model()
    scheduler = meddl.callbacks.LearningRateScheduler(lambda epoch, lr: 0.01 / (epoch + 1))
    history = model.fit(*regression_data(), epochs=5, verbose=0, callbacks=[
        meddl.callbacks.CSVLogger(tmp_path / "log.csv"), scheduler, StopAfterTwo()])
    assert len(history.history["loss"]) == 2
    assert history.history["learning_rate"] == pytest.approx([0.01, 0.005])
    rows = list(csv.DictReader((tmp_path / "log.csv").open()))
    assert [row["epoch"] for row in rows] == ["0", "1"] and "loss" in rows[0]


def test_terminate_on_nan_stops_instead_of_raising():
    model = meddl.Sequential([layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer=meddl.optimizers.SGD(learning_rate=1e6), loss="mse")
    x, y = regression_data()
    with pytest.raises(meddl.MeddlError, match="training loss became"):
        model.fit(x, y * 1e6, epochs=5, verbose=0)
    model = meddl.Sequential([layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer=meddl.optimizers.SGD(learning_rate=1e6), loss="mse")
    history = model.fit(x, y * 1e6, epochs=5, verbose=0, callbacks=[meddl.callbacks.TerminateOnNaN()])
    assert len(history.history["loss"]) < 5 and not math.isfinite(history.history["loss"][-1])


def test_optimizers_with_keras_arguments_and_schedules():
    schedule = meddl.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert schedule(10) == pytest.approx(0.05)
    assert meddl.optimizers.schedules.PiecewiseConstantDecay([5], [1.0, 0.5])(6) == 0.5
    assert meddl.optimizers.schedules.CosineDecay(1.0, 10)(10) == pytest.approx(0.0)
    model = meddl.Sequential([layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer=meddl.optimizers.Adam(learning_rate=schedule), loss="mse")
    model.fit(*regression_data(), epochs=1, batch_size=16, verbose=0)  # 4 steps
    assert model._torch_optimizer.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5 ** 0.4)
    assert model.compile_config()["optimizer"]["learning_rate"]["class_name"] == "ExponentialDecay"
    for optimizer in (meddl.optimizers.AdamW(learning_rate=1e-3), meddl.optimizers.RMSprop(momentum=0.1),
                      meddl.optimizers.SGD(momentum=0.9, nesterov=True)):
        model.compile(optimizer=optimizer, loss="mse")
        model.fit(*regression_data(), epochs=1, verbose=0)


def test_loss_classes_and_functions_follow_keras():
    y_true, y_pred = np.array([[1.0], [0.0]]), np.array([[0.8], [0.4]])
    np.testing.assert_allclose(meddl.losses.binary_crossentropy(y_true, y_pred).numpy(),
                               [-np.log(0.8), -np.log(0.6)], rtol=1e-6)
    np.testing.assert_allclose(meddl.losses.mean_squared_error(y_true, y_pred).numpy(), [0.04, 0.16])
    probabilities = np.array([[0.1, 0.7, 0.2]])
    np.testing.assert_allclose(meddl.losses.sparse_categorical_crossentropy([1], probabilities).numpy(),
                               [-np.log(0.7)], rtol=1e-6)
    model = tiny_model()
    model.compile(optimizer="adam", loss=meddl.losses.MeanAbsoluteError())
    model.fit(*regression_data(), epochs=1, verbose=0)


def test_metrics_top_k_precision_recall_auc():
    y_true = np.array([[0, 0, 1], [0, 1, 0]])
    y_pred = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0.0]])
    np.testing.assert_array_equal(meddl.metrics.top_k_categorical_accuracy(y_true, y_pred, k=5).numpy(), [1, 1])
    assert meddl.metrics.TopKCategoricalAccuracy(k=1)(y_true, y_pred) == 0.5
    np.testing.assert_array_equal(meddl.metrics.sparse_top_k_categorical_accuracy([2, 1], y_pred, k=1).numpy(), [0, 1])
    precision, recall = meddl.metrics.Precision(), meddl.metrics.Recall()
    labels, scores = np.array([1, 0, 1, 1]), np.array([0.9, 0.8, 0.2, 0.7])
    assert precision(labels, scores) == pytest.approx(2 / 3) and recall(labels, scores) == pytest.approx(2 / 3)
    assert meddl.metrics.AUC()(labels, scores) == pytest.approx(1 / 3)  # 1 of 3 positive-negative pairs ranked right
    precision.reset_state()
    assert precision.result() == 0.0


def test_models_namespace_and_top_level_names():
    assert meddl.models.load_model is meddl.load_model
    assert isinstance(meddl.Input(shape=(3,)), layers.SymbolicTensor)
    inputs = meddl.Input(shape=(3,))
    assert type(meddl.Model(inputs, layers.Dense(1)(inputs))).__name__ == "Functional"
    assert meddl.models.Sequential is meddl.Sequential


def test_register_keras_serializable_lets_a_model_load_without_custom_objects(tmp_path):
    @meddl.saving.register_keras_serializable(package="Clinic")
    class Doubling(meddl.layers.Layer):
        def call(self, x):
            return 2 * x

    @meddl.utils.register_keras_serializable(package="Clinic", name="mae_times_two")
    def weighted_mae(y_true, y_pred):
        return 2 * (y_true - y_pred).abs().mean(dim=-1)

    model = meddl.Sequential([meddl.layers.Input((3,)), meddl.layers.Dense(2), Doubling()])
    model.compile(optimizer="sgd", loss=weighted_mae)
    x, y = np.ones((4, 3), np.float32), np.zeros((4, 2), np.float32)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "model")
    loaded = meddl.load_model(tmp_path / "model")  # no custom_objects
    np.testing.assert_allclose(loaded.predict(x), model.predict(x))
    assert loaded.evaluate(x, y) == pytest.approx(model.evaluate(x, y))
    assert meddl.utils.get_registered_name(Doubling) == "Clinic>Doubling"
    assert meddl.utils.get_custom_objects()["Clinic>mae_times_two"] is weighted_mae
    assert meddl.utils.get_registered_name(len) == "len"  # not registered: its own name

    @meddl.saving.register_keras_serializable(package="Clinic")
    class Doubling(meddl.layers.Layer):  # noqa: F811 - a notebook cell run again replaces its own class
        def call(self, x):
            return 2 * x

    with pytest.raises(meddl.MeddlError, match="'Doubling' is already registered"):
        meddl.saving.register_keras_serializable(package="Other")(type("Doubling", (meddl.layers.Layer,), {}))
    with pytest.raises(meddl.MeddlError, match="'package' must be a non-empty string without '>'"):
        meddl.saving.register_keras_serializable(package="a>b")
    with pytest.raises(meddl.MeddlError, match="needs a get_config"):
        meddl.saving.register_keras_serializable()(type("Plain", (), {}))
