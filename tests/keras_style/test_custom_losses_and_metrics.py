"""Keras's "Training & evaluation with the built-in methods" guide on meddl: a ``losses.Loss`` subclass with
``call``, and a ``metrics.Metric`` subclass that keeps its state in ``add_variable`` variables."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers, ops


class CustomMSE(meddl.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


class BatchMeanLoss(meddl.losses.Loss):
    def call(self, y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean()  # one value for the whole batch


class CategoricalTruePositives(meddl.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")  # the guide's: y_true a column
        self.true_positives.assign_add(ops.sum(ops.cast(values, "float32")))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        self.true_positives.assign(0.0)


def classification_data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype("float32")
    return x, (x[:, 0] > 0).astype("float32") + (x[:, 1] > 0)


def softmax_model():
    inputs = meddl.Input(shape=(6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    return meddl.Model(inputs, layers.Dense(3, activation="softmax")(hidden))


def test_a_loss_subclass_computes_its_call_per_sample_with_weights():
    loss = CustomMSE()
    y_true = np.array([[0.0, 1.0], [1.0, 0.0]], dtype="float32")
    y_pred = np.array([[0.2, 0.6], [0.9, 0.3]], dtype="float32")
    per_sample = ((y_true - y_pred) ** 2).mean(axis=1) + 0.1 * ((0.5 - y_pred) ** 2).mean(axis=1)
    assert float(loss(y_true, y_pred)) == pytest.approx(per_sample.mean(), rel=1e-6)
    assert float(loss(y_true, y_pred, sample_weight=[2.0, 0.0])) == pytest.approx(per_sample[0], rel=1e-6)
    assert loss.name == "custom_mse" and BatchMeanLoss().name == "batch_mean_loss"  # Keras's default name
    with pytest.raises(meddl.MeddlError, match=r"'batch_mean_loss' must return one value per sample"):
        BatchMeanLoss()(y_true, y_pred, sample_weight=[1.0, 1.0])


def test_a_loss_subclass_trains_a_model_as_the_function_form_does():
    x, labels = classification_data()
    one_hot = meddl.utils.to_categorical(labels, 3)
    losses = []
    for loss in (CustomMSE(regularization_factor=0.0), meddl.losses.MeanSquaredError()):
        meddl.utils.set_random_seed(1)
        model = softmax_model()
        model.compile(optimizer=meddl.optimizers.Adam(), loss=loss)
        losses.append(model.fit(x, one_hot, batch_size=32, epochs=2, verbose=0).history["loss"])
    np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)  # with no regularization it is the MSE


def test_a_loss_subclass_without_call_says_what_it_needs():
    class Empty(meddl.losses.Loss):
        pass

    model = softmax_model()
    model.compile(optimizer="adam", loss=Empty())
    x, labels = classification_data()
    with pytest.raises(NotImplementedError, match=r"Empty must define call\(y_true, y_pred\)"):
        model.fit(x, labels, epochs=1, verbose=0)


def test_a_metric_subclass_keeps_its_state_in_variables():
    metric = CategoricalTruePositives()
    assert [variable.name for variable in metric.variables] == ["ctp"]
    metric.update_state([[0], [2]], [[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]])
    metric.update_state([[1]], [[0.2, 0.7, 0.1]])
    assert float(metric.result()) == 2.0
    metric.reset_state()
    assert float(metric.result()) == 0.0
    counter = meddl.metrics.Metric(name="counter")
    total = counter.add_weight(name="total", shape=(2,), initializer="ones")
    total.assign_add([1.0, 2.0])
    np.testing.assert_array_equal(total.numpy(), [2.0, 3.0])
    assert float((total / 2)[1]) == 1.5  # arithmetic reads the value, as with Keras's variables
    counter.reset_state()  # the base class's reset sets every variable to zeros, as Keras 3's does
    np.testing.assert_array_equal(np.asarray(total), [0.0, 0.0])
    with pytest.raises(meddl.MeddlError, match=r"'initializer' of the metric variable 'bad' must be 'zeros', 'ones'"):
        counter.add_variable(name="bad", initializer="glorot_uniform")


def test_a_metric_subclass_is_logged_by_fit_and_evaluate():
    x, labels = classification_data()
    meddl.utils.set_random_seed(2)
    model = softmax_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=[CategoricalTruePositives()])
    history = model.fit(x, labels.reshape(-1, 1), batch_size=32, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "categorical_true_positives"}
    scores = model.evaluate(x, labels.reshape(-1, 1), verbose=0, return_dict=True)
    correct = int((model.predict(x, verbose=0).argmax(axis=1) == labels).sum())
    assert scores["categorical_true_positives"] == correct  # a count over the rows, as Keras sums it batch by batch
    assert isinstance(scores["categorical_true_positives"], float)


def test_state_variables_follow_the_tensor_they_are_given():
    metric = meddl.metrics.Metric()
    count = metric.add_variable(shape=(), dtype="int32", name="count")
    count.assign_add(torch.tensor(3))
    assert count.dtype == torch.int32 and int(count) == 3
    with pytest.raises(meddl.MeddlError, match="'dtype' of the metric variable 'odd' must be a torch dtype name"):
        metric.add_variable(dtype="not_a_dtype", name="odd")
