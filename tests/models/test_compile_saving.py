"""A compiled model saves its loss and metrics as they were given and loads them back the same,
including metric objects' arguments and your own functions (``custom_objects``)."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers, metrics
from meddl.errors import MeddlError, ModelFileError


def huber(y_true, y_pred):
    error = (y_true - y_pred).abs()
    return torch.where(error < 1, 0.5 * error ** 2, error - 0.5).mean(dim=-1)


def worst_error(y_true, y_pred):
    return (y_true - y_pred).abs().amax(dim=-1)


class MeanPrediction(metrics.Metric):
    """A metric of your own: the mean predicted value, shifted by ``offset``."""

    def __init__(self, offset=0.0, name="mean_prediction", dtype=None):
        self.offset = offset
        super().__init__(name, dtype)

    def compute(self, y_true, y_pred):
        return y_pred.mean() + self.offset

    def get_config(self):
        return {**super().get_config(), "offset": self.offset}


def binary_data(n=96):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, (x[:, 0] - x[:, 1] > 0).astype(np.float32)


def regression_data(n=128):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    return x, x @ np.array([1.0, -1.0, 2.0, 0.0], np.float32)


def test_metric_objects_keep_their_arguments_through_save_and_load(tmp_path):
    x, y = binary_data()
    model = meddl.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[
        metrics.AUC(curve="PR", name="auprc"), metrics.Precision(thresholds=0.3), metrics.BinaryAccuracy(threshold=0.7),
        "accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "model")
    loaded = meddl.load_model(tmp_path / "model")
    assert loaded.metrics_names == ["loss", "auprc", "precision", "binary_accuracy", "accuracy"]
    expected = model.evaluate(x, y, verbose=0, return_dict=True)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == expected
    p = model.predict(x, verbose=0)[:, 0]
    assert expected["binary_accuracy"] == pytest.approx(np.mean((p > 0.7) == y))  # not the default 0.5
    assert expected["precision"] == pytest.approx(y[p > 0.3].mean())


def test_a_loss_and_metrics_of_your_own_train_save_and_load_with_custom_objects(tmp_path):
    x, y = regression_data()
    model = meddl.Sequential([layers.Dense(16, activation="relu", input_shape=(4,)), layers.Dense(1)])
    model.compile(optimizer="adam", loss=huber, metrics=[worst_error, MeanPrediction(offset=1.0), "mae"])
    history = model.fit(x, y, epochs=15, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] and set(history) == {"loss", "worst_error", "mean_prediction",
                                                                         "mae"}
    p = model.predict(x, verbose=0)
    error = np.abs(y[:, None] - p)
    expected_loss = np.where(error < 1, 0.5 * error ** 2, error - 0.5).mean()
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert results["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert results["worst_error"] == pytest.approx(error.max(axis=1).mean(), rel=1e-5)
    assert results["mean_prediction"] == pytest.approx(p.mean() + 1.0, rel=1e-5)
    model.save(tmp_path / "model")
    with pytest.raises(ModelFileError, match=r"Unknown loss function 'huber': pass custom_objects=\{'huber': huber\}"
                                             r".*compile=False"):
        meddl.load_model(tmp_path / "model")
    with pytest.raises(ModelFileError, match="Unknown metric function 'worst_error'"):
        meddl.load_model(tmp_path / "model", custom_objects={"huber": huber})
    with pytest.raises(ModelFileError, match="Unknown metric class 'MeanPrediction'"):
        meddl.load_model(tmp_path / "model", custom_objects={"huber": huber, "worst_error": worst_error})
    loaded = meddl.load_model(tmp_path / "model", custom_objects={
        "huber": huber, "worst_error": worst_error, "MeanPrediction": MeanPrediction})
    assert loaded.evaluate(x, y, verbose=0, return_dict=True) == results
    uncompiled = meddl.load_model(tmp_path / "model", compile=False)
    np.testing.assert_array_equal(uncompiled.predict(x, verbose=0), p)


def test_a_loss_function_must_give_a_tensor_and_one_value_per_sample_when_weighted():
    x, y = regression_data(32)
    model = meddl.Sequential([layers.Dense(1, input_shape=(4,))])
    model.compile(optimizer="sgd", loss=lambda y_true, y_pred: (y_true - y_pred).pow(2).detach().numpy())
    with pytest.raises(MeddlError, match="must return a torch tensor"):
        model.fit(x, y, epochs=1, verbose=0)

    def batch_mse(y_true, y_pred):
        return (y_true - y_pred).pow(2).mean()

    model.compile(optimizer="sgd", loss=batch_mse)
    assert np.isfinite(model.fit(x, y, epochs=1, verbose=0).history["loss"][0])  # one value: fine unweighted
    with pytest.raises(MeddlError, match=r"'batch_mse' must return one value per sample"):
        model.fit(x, y, epochs=1, verbose=0, sample_weight=np.ones(32, np.float32))


def test_custom_objects_must_be_classes_or_functions_of_the_right_kind(tmp_path):
    with pytest.raises(MeddlError, match=r"custom_objects\['huber'\] must be a class or a function"):
        with meddl.saving.custom_object_scope({"huber": 3}):
            pass
    with meddl.saving.custom_object_scope({"Dense2": huber}):
        with pytest.raises(MeddlError, match=r"must be a subclass of meddl.layers.Layer for the layer 'Dense2'"):
            layers.get_layer_class("Dense2")


@pytest.mark.parametrize("metric", [
    metrics.AUC(curve="PR", name="auprc"), metrics.Precision(thresholds=0.3), metrics.Recall(thresholds=0.2),
    metrics.BinaryAccuracy(threshold=0.7), metrics.TopKCategoricalAccuracy(k=2),
    metrics.SparseTopKCategoricalAccuracy(k=3, name="top3"), metrics.Mean(name="m"), metrics.MeanAbsoluteError(),
    metrics.BinaryIoU(target_class_ids=[1], threshold=0.3), metrics.DiceCoefficient(thresholds=0.4),
])
def test_every_metric_object_rebuilds_from_its_config(metric):
    spec = meddl.training.metrics.serialize(metric)
    name, _ = meddl.training.metrics.get(spec)
    rebuilt = type(metric).from_config(spec["config"])
    assert name == metric.name and rebuilt.get_config() == metric.get_config()
