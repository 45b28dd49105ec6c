"""meddl's Keras namespaces give the values Keras's own documentation shows for the same calls.

Each case is the example in the docstring of the Keras 3 class or function of the
same name (keras.io/api), with Keras's argument order ``(y_true, y_pred)``.
"""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers, losses, metrics
from meddl.errors import MeddlError

CATEGORICAL_TRUE = [[0, 0, 1], [0, 1, 0]]
SCORES = [[0.1, 0.9, 0.8], [0.05, 0.95, 0]]


@pytest.mark.parametrize("metric, y_true, y_pred, expected", [
    (metrics.Accuracy(), [[1], [2], [3], [4]], [[0], [2], [3], [4]], 0.75),
    (metrics.BinaryAccuracy(), [[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]], 0.75),
    (metrics.CategoricalAccuracy(), CATEGORICAL_TRUE, SCORES, 0.5),
    (metrics.SparseCategoricalAccuracy(), [[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]], 0.5),
    (metrics.TopKCategoricalAccuracy(k=1), CATEGORICAL_TRUE, SCORES, 0.5),
    (metrics.SparseTopKCategoricalAccuracy(k=1), [2, 1], SCORES, 0.5),
    (metrics.Precision(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3),
    (metrics.Recall(), [0, 1, 1, 1], [1, 0, 1, 1], 2 / 3),
    (metrics.AUC(), [0, 0, 1, 1], [0, 0.5, 0.3, 0.9], 0.75),
    (metrics.MeanSquaredError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25),
    (metrics.MeanAbsoluteError(), [[0, 1], [0, 0]], [[1, 1], [0, 0]], 0.25),
])
def test_metric_objects_match_kerass_documented_results(metric, y_true, y_pred, expected):
    metric.reset_state()
    metric.update_state(y_true, y_pred)
    assert metric.result() == pytest.approx(expected, abs=1e-6)
    metric.reset_state()
    assert metric.result() == 0.0


def test_metric_objects_accumulate_over_updates_and_mean():
    accuracy = metrics.BinaryAccuracy(threshold=0.7)
    accuracy.update_state([[1], [1]], [[0.98], [0.6]])  # 1 of 2 right at 0.7
    accuracy.update_state([[0], [0]], [[0.0], [0.1]])  # 2 of 2
    assert accuracy.result() == pytest.approx(0.75) and accuracy.name == "binary_accuracy"
    mean = metrics.Mean(name="running")
    mean.update_state([1, 3, 5, 7])
    assert mean.result() == 4.0 and mean.get_config() == {"name": "running"}
    with pytest.raises(MeddlError, match="does not take sample_weight"):
        metrics.Precision().update_state([1], [1], sample_weight=[2.0])


@pytest.mark.parametrize("function, y_true, expected", [
    (metrics.categorical_accuracy, CATEGORICAL_TRUE, [0.0, 1.0]),
    (metrics.sparse_categorical_accuracy, [2, 1], [0.0, 1.0]),
    (lambda t, p: metrics.top_k_categorical_accuracy(t, p, k=3), CATEGORICAL_TRUE, [1.0, 1.0]),
    (lambda t, p: metrics.sparse_top_k_categorical_accuracy(t, p, k=1), [2, 1], [0.0, 1.0]),
])
def test_metric_functions_return_one_value_per_sample_as_keras(function, y_true, expected):
    assert function(y_true, SCORES).tolist() == expected


def test_binary_accuracy_function():
    assert metrics.binary_accuracy([[1], [1], [0], [0]], [[1], [1], [0], [0]]).tolist() == [1.0] * 4


@pytest.mark.parametrize("loss, y_true, y_pred, expected, weighted", [
    (losses.BinaryCrossentropy(from_logits=True), [0, 1, 0, 0], [-18.6, 0.51, 2.94, -12.8], 0.865, None),
    (losses.BinaryCrossentropy(), [[0, 1], [0, 0]], [[0.6, 0.4], [0.4, 0.6]], 0.815, ([1, 0], 0.458)),
    (losses.CategoricalCrossentropy(), [[0, 1, 0], [0, 0, 1]], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], 1.177,
     ([0.3, 0.7], 0.814)),
    (losses.SparseCategoricalCrossentropy(), [1, 2], [[0.05, 0.95, 0], [0.1, 0.8, 0.1]], 1.177, ([0.3, 0.7], 0.814)),
    (losses.MeanSquaredError(), [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]], 0.5, ([0.7, 0.3], 0.25)),
    (losses.MeanAbsoluteError(), [[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 0.0]], 0.5, ([0.7, 0.3], 0.25)),
])
def test_loss_objects_take_y_true_first_and_match_kerass_documented_results(loss, y_true, y_pred, expected,
                                                                              weighted):
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, abs=1e-3)
    if weighted is not None:  # Keras's example weights; the weighted sum over the batch size
        weights, value = weighted
        assert float(loss(y_true, y_pred, sample_weight=weights)) == pytest.approx(value, abs=1e-3)


def test_loss_objects_are_not_symmetric_in_their_arguments():
    """The order matters for cross-entropy: swapping y_true and y_pred would give another number."""
    bce = losses.BinaryCrossentropy()
    assert float(bce([[1.0], [0.0]], [[0.9], [0.2]])) == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2, rel=1e-5)
    assert float(losses.binary_crossentropy([[1.0], [0.0]], [[0.9], [0.2]]).mean()) == pytest.approx(
        float(bce([[1.0], [0.0]], [[0.9], [0.2]])), rel=1e-5)


def test_loss_and_metric_objects_in_compile():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    model = meddl.Sequential([layers.Dense(8, activation="relu", input_shape=(4,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss=losses.BinaryCrossentropy(),
                  metrics=[metrics.BinaryAccuracy(), metrics.AUC(name="auroc"), metrics.binary_accuracy])
    history = model.fit(x, y, epochs=3, verbose=0)
    assert {"loss", "binary_accuracy", "auroc"} <= set(history.history)
    probabilities = model.predict(x, verbose=0)
    expected_accuracy = float(np.mean((probabilities[:, 0] > 0.5) == y))
    results = model.evaluate(x, y, verbose=0, return_dict=True)
    assert results["binary_accuracy"] == pytest.approx(expected_accuracy, abs=1e-6)
    assert results["loss"] == pytest.approx(float(losses.BinaryCrossentropy()(y, probabilities)), abs=1e-4)


def test_lambda_callback_calls_each_hook():
    calls = []
    callback = meddl.callbacks.LambdaCallback(
        on_train_begin=lambda logs: calls.append("begin"),
        on_epoch_begin=lambda epoch, logs: calls.append(f"epoch {epoch}"),
        on_epoch_end=lambda epoch, logs: calls.append(f"end {epoch} {sorted(logs)}"),
        on_train_end=lambda logs: calls.append("end"))
    model = meddl.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((8, 2), np.float32), np.ones(8, np.float32), epochs=2, verbose=0, callbacks=[callback])
    assert calls == ["begin", "epoch 0", "end 0 ['loss']", "epoch 1", "end 1 ['loss']", "end"]


@pytest.mark.parametrize("alias, layer", [
    ("MaxPool1D", "MaxPooling1D"), ("MaxPool2D", "MaxPooling2D"), ("MaxPool3D", "MaxPooling3D"),
    ("AvgPool1D", "AveragePooling1D"), ("AvgPool2D", "AveragePooling2D"), ("AvgPool3D", "AveragePooling3D"),
    ("GlobalMaxPool1D", "GlobalMaxPooling1D"), ("GlobalMaxPool2D", "GlobalMaxPooling2D"),
    ("GlobalMaxPool3D", "GlobalMaxPooling3D"), ("GlobalAvgPool1D", "GlobalAveragePooling1D"),
    ("GlobalAvgPool2D", "GlobalAveragePooling2D"), ("GlobalAvgPool3D", "GlobalAveragePooling3D"),
])
def test_kerass_pooling_aliases_are_the_same_classes_and_load_by_either_name(alias, layer):
    assert getattr(layers, alias) is getattr(layers, layer)
    assert layers.get_layer_class(alias) is getattr(layers, layer)


@pytest.mark.parametrize("layer, function, dims", [
    (layers.AveragePooling1D, torch.nn.functional.avg_pool1d, 1),
    (layers.AveragePooling3D, torch.nn.functional.avg_pool3d, 3),
    (layers.MaxPooling3D, torch.nn.functional.max_pool3d, 3),
])
def test_pooling_in_one_and_three_dimensions_matches_torch_in_keras_layout(layer, function, dims):
    rng = np.random.default_rng(dims)
    x = rng.normal(size=(2, *([6] * dims), 3)).astype(np.float32)
    channels_first = torch.as_tensor(np.moveaxis(x, -1, 1))
    expected = np.moveaxis(function(channels_first, 2).numpy(), 1, -1)
    np.testing.assert_allclose(layer(pool_size=2)(x).detach().numpy(), expected, rtol=1e-6)


def test_global_max_pooling_and_maximum_merge():
    x = np.arange(2 * 3 * 4 * 5 * 2, dtype=np.float32).reshape(2, 3, 4, 5, 2)
    np.testing.assert_array_equal(layers.GlobalMaxPooling3D()(x).detach().numpy(), x.max(axis=(1, 2, 3)))
    signal = x.reshape(2, 60, 2)
    np.testing.assert_array_equal(layers.GlobalMaxPooling1D()(signal).detach().numpy(), signal.max(axis=1))
    a, b, c = (np.array([[1.0, 5.0, -2.0]], np.float32), np.array([[3.0, 0.0, -1.0]], np.float32),
               np.array([[2.0, 4.0, -3.0]], np.float32))
    np.testing.assert_array_equal(layers.Maximum()([a, b, c]).detach().numpy(), [[3.0, 5.0, -1.0]])
    with pytest.raises(MeddlError, match="list of at least 2 tensors"):
        layers.Maximum()([a])


@pytest.mark.parametrize("metric", [metrics.Accuracy(), metrics.BinaryAccuracy(), metrics.binary_accuracy])
def test_a_metric_that_does_not_fit_the_outputs_names_both_shapes_and_the_right_metric(metric):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, 4)).astype(np.float32), np.arange(32) % 3
    model = meddl.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=[metric])
    with pytest.raises(MeddlError, match=r"cannot compare labels of shape \(32,\) with predictions of shape "
                                         r"\(32, 3\)\. .*SparseCategoricalAccuracy"):
        model.fit(x, y, epochs=1, verbose=0)


def test_model_checkpoint_names_keras_file_names_before_training_and_saves_weights_only(tmp_path):
    with pytest.raises(MeddlError, match=r"not Keras 2's '.h5': give e.g. '.*best.keras'"):
        meddl.callbacks.ModelCheckpoint(tmp_path / "best.h5")
    with pytest.raises(MeddlError, match=r"e.g. '.*w.weights.h5'"):
        meddl.callbacks.ModelCheckpoint(tmp_path / "w.h5", save_weights_only=True)
    model = meddl.Sequential([layers.Dense(1, input_shape=(2,))])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 2), np.float32), np.ones(8, np.float32)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[meddl.callbacks.ModelCheckpoint(tmp_path / "best.keras"),
                                                    meddl.callbacks.ModelCheckpoint(tmp_path / "best.weights.h5",
                                                                                    save_weights_only=True)])
    np.testing.assert_allclose(meddl.load_model(tmp_path / "best.keras").predict(x), model.predict(x))  # Keras's file
    again = meddl.Sequential([layers.Dense(1, input_shape=(2,))])
    again.load_weights(tmp_path / "best.weights.h5")
    np.testing.assert_allclose(again.predict(x), model.predict(x))
    checkpoint = meddl.callbacks.ModelCheckpoint(tmp_path / "w-{epoch}.weights.safetensors", monitor="loss",
                                                 save_weights_only=True, save_best_only=True,
                                                 initial_value_threshold=0.0)
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[checkpoint])
    assert not list(tmp_path.glob("w-*"))  # no loss beat the threshold 0
    assert history.params == {"verbose": 0, "epochs": 2, "steps": 1} and history.epoch == [0, 1]
    model.fit(x, y, epochs=2, verbose=0, callbacks=[meddl.callbacks.ModelCheckpoint(
        tmp_path / "w-{epoch}.weights.safetensors", save_weights_only=True)])
    fresh = meddl.Sequential([layers.Dense(1, input_shape=(2,))])
    fresh.load_weights(tmp_path / "w-2.weights.safetensors")
    np.testing.assert_array_equal(fresh.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_single_input_model_takes_a_dict_keyed_by_its_input_name():
    inputs = meddl.Input((2,), name="vitals")
    model = meddl.Model(inputs, layers.Dense(1)(inputs))
    x = np.ones((4, 2), np.float32)
    np.testing.assert_array_equal(model.predict({"vitals": x}, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(meddl.DataError, match=r"one input, 'vitals': pass the array, or \{'vitals': array\}"):
        model.predict({"labs": x})


@pytest.mark.parametrize("clip", [{"clipnorm": 0.5}, {"global_clipnorm": 0.5}, {"clipvalue": 0.5}])
def test_gradient_clipping_as_keras_defines_it(clip, tmp_path):
    x = np.full((8, 3), 10.0, np.float32)
    y = np.full(8, 1000.0, np.float32)  # huge gradients
    model = meddl.Sequential([layers.Dense(1, input_shape=(3,), kernel_initializer="zeros")])
    model.compile(optimizer=meddl.optimizers.SGD(learning_rate=1.0, **clip), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=1, batch_size=None, verbose=0)
    steps = [after - start for after, start in zip(model.get_weights(), before)]  # lr 1: the clipped gradients
    if "clipnorm" in clip:
        assert [float(np.linalg.norm(step)) for step in steps] == pytest.approx([0.5, 0.5], rel=1e-5)
    elif "global_clipnorm" in clip:
        assert float(np.sqrt(sum(np.square(step).sum() for step in steps))) == pytest.approx(0.5, rel=1e-5)
    else:
        assert all(np.allclose(np.abs(step), 0.5) for step in steps)
    model.save(tmp_path / "model")
    assert meddl.load_model(tmp_path / "model").optimizer.clipping == clip


def test_optimizer_settings_that_would_change_training_are_refused_not_dropped():
    with pytest.raises(MeddlError, match="only one of clipnorm, clipvalue and global_clipnorm"):
        meddl.optimizers.Adam(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(MeddlError, match=r"does not support \{'use_ema': True\}"):
        meddl.optimizers.Adam(use_ema=True)
    with pytest.raises(MeddlError, match="'clipnorm' parameter of RMSprop must be a float"):
        meddl.optimizers.RMSprop(clipnorm=-1)
    assert meddl.optimizers.RMSprop(weight_decay=0.01).get_config()["weight_decay"] == 0.01


def test_auc_refuses_multi_label_rather_than_pooling_the_labels():
    with pytest.raises(MeddlError, match="multi_label=True and label_weights are not supported"):
        metrics.AUC(multi_label=True)
    assert metrics.AUC(from_logits=True).curve == "ROC"  # a rank statistic: logits or probabilities alike


def test_compile_refuses_weighted_metrics_and_accepts_kerass_execution_settings():
    model = meddl.Sequential([layers.Dense(1, input_shape=(2,))])
    with pytest.raises(MeddlError, match="weighted_metrics=...\\) is not supported"):
        model.compile(optimizer="sgd", loss="mse", weighted_metrics=["mae"])
    model.compile(optimizer="sgd", loss="mse", jit_compile=False, run_eagerly=True, steps_per_execution=1)
    assert model.loss.name == "mean_squared_error"


def test_validation_every_few_epochs_as_keras_logs_it():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 3)).astype(np.float32), rng.integers(0, 2, 64)
    model = meddl.Sequential([layers.Dense(2, activation="softmax", input_shape=(3,))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    stop = meddl.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    history = model.fit(x, y, epochs=5, verbose=0, validation_split=0.25, validation_freq=2, validation_batch_size=4,
                        callbacks=[stop])
    assert len(history.history["loss"]) == 5 and len(history.history["val_loss"]) == 2  # epochs 2 and 4, as Keras
    frame = history.to_frame()
    assert frame["epoch"].tolist() == [1, 2, 3, 4, 5]
    assert frame["val_loss"].isna().tolist() == [True, False, True, False, True]
    with pytest.raises(MeddlError, match="validation_freq"):
        model.fit(x, y, validation_freq=0, verbose=0)
