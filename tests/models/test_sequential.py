"""compile / fit / evaluate / predict on the seed's models and variations."""

import numpy as np
import pandas as pd
import pytest
import torch

import meddl
from meddl import Sequential
from meddl.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D, MaxPooling2D
from meddl.training import EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from meddl.training.optimizers import SGD, Adam


def blobs(n=400, features=10, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    centers = rng.normal(scale=3, size=(classes, features))
    return (centers[y] + rng.normal(size=(n, features))).astype(np.float32), y


def mlp(classes=3, activation="softmax"):
    return Sequential([Dense(16, activation="relu"), Dense(classes, activation=activation)])


@pytest.mark.parametrize("optimizer", ["sgd", SGD(learning_rate=0.05, momentum=0.9), "adam", "adamw", "rmsprop",
                                       {"name": "adam", "learning_rate": 0.01}])
def test_every_optimizer_learns(optimizer):
    x, y = blobs()
    model = mlp()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert history.history["accuracy"][-1] > 0.9


def test_losses_and_metrics_by_name():
    x, y = blobs(classes=2)
    binary = Sequential([Dense(8, activation="relu"), Dense(1, activation="sigmoid")])
    binary.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy", "auc", "mse", "mae"])
    binary.fit(x, y, epochs=10, verbose=0)
    logs = binary.evaluate(x, y, return_dict=True)
    assert set(logs) == {"loss", "accuracy", "auc", "mse", "mae"}
    assert logs["auc"] > 0.95 and logs["accuracy"] > 0.9

    onehot = np.eye(2)[y]
    categorical = mlp(2)
    categorical.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy", "auc"])
    categorical.fit(x, onehot, epochs=10, verbose=0)
    assert categorical.evaluate(x, onehot)[1] > 0.9

    target = x[:, :2].sum(axis=1)
    for loss in ("mse", "mae"):
        regression = Sequential([Dense(8, activation="relu"), Dense(1)])
        regression.compile(optimizer="adam", loss=loss, metrics=["mae"])
        history = regression.fit(x, target, epochs=20, verbose=0)
        assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_multiclass_auc_metric_equals_sklearn():
    from sklearn.metrics import roc_auc_score

    x, y = blobs(classes=3)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["auc"])
    model.fit(x, y, epochs=2, verbose=0)
    expected = roc_auc_score(y, model.predict(x), multi_class="ovr")
    assert model.evaluate(x, y, return_dict=True)["auc"] == pytest.approx(expected, abs=1e-6)


def test_inputs_may_be_numpy_pandas_or_torch():
    x, y = blobs()
    results = []
    for x_in, y_in in [(x, y), (pd.DataFrame(x), pd.Series(y)), (torch.from_numpy(x), torch.from_numpy(y))]:
        model = mlp()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x_in, y_in, epochs=2, verbose=0, seed=3)
        results.append(model.predict(x_in))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], results[2])


def test_same_seed_same_weights_and_metrics():
    x, y = blobs()
    runs = []
    for _ in range(2):
        model = Sequential([Dense(16, activation="relu", input_shape=(10,)), Dropout(0.2), Dense(3, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x, y, epochs=3, verbose=0, seed=7, validation_split=0.2)
        runs.append((model.get_weights(), history.history))
    for a, b in zip(runs[0][0], runs[1][0]):
        np.testing.assert_array_equal(a, b)
    assert runs[0][1] == runs[1][1]


def test_validation_data_split_and_history():
    x, y = blobs()
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["val_loss"]) == 3 and history.epoch == [0, 1, 2]
    frame = history.to_frame()
    assert list(frame["epoch"]) == [1, 2, 3]
    model.fit(x[:300], y[:300], validation_data=(x[300:], y[300:]), epochs=1, verbose=0)


def test_class_weight_changes_the_loss():
    x, y = blobs(classes=2)
    losses = {}
    for weights in (None, {0: 1.0, 1: 5.0}, "balanced"):
        model = mlp(2)
        model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
        losses[str(weights)] = model.fit(x, y, epochs=1, verbose=0, seed=1, shuffle=False,
                                           class_weight=weights).history["loss"][0]
    assert losses["None"] != losses[str({0: 1.0, 1: 5.0})]
    assert losses["None"] == pytest.approx(losses["balanced"], rel=0.05)  # classes are about balanced


def test_early_stopping_restores_best_weights():
    x, y = blobs()
    model = mlp()
    model.compile(optimizer=Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy")
    stopper = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    history = model.fit(x[:300], y[:300], validation_data=(x[300:], y[300:]), epochs=60, verbose=0, callbacks=[stopper])
    assert len(history.epoch) < 60
    best = min(history.history["val_loss"])
    assert model.evaluate(x[300:], y[300:]) == pytest.approx(best, rel=1e-5)


def test_model_checkpoint_and_reduce_lr(tmp_path):
    x, y = blobs()
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    reducer = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)
    checkpoint = ModelCheckpoint(str(tmp_path / "ckpt-{epoch:02d}"), monitor="loss")
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[reducer, checkpoint])
    # The first epoch always improves on +inf; every later one misses min_delta=10 and halves the rate.
    assert history.history["learning_rate"] == [0.001, 0.001, 0.0005]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt-01", "ckpt-02", "ckpt-03"]
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "ckpt-03").predict(x), model.predict(x))


def test_progress_output_respects_verbose(capsys):
    x, y = blobs(n=64)
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().err == ""
    model.fit(x, y, epochs=1, verbose=1)
    err = capsys.readouterr().err
    assert "Epoch 1/1" in err and "loss" in err and "accuracy" in err
    model.fit(x, y, epochs=1, verbose=2)
    assert "Epoch 1/1" in capsys.readouterr().err


def test_cnn_with_batchnorm_and_global_pooling_trains():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 128)
    x = rng.random((128, 12, 12, 1), dtype=np.float32)
    x[y == 1, 2:6, 2:6, 0] += 2
    model = Sequential([Conv2D(8, 3, padding="same", activation="relu"), BatchNormalization(momentum=0.9), MaxPooling2D(),
                        Conv2D(8, 3, activation="relu"), GlobalAveragePooling2D(), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"], learning_rate=0.01)
    model.fit(x, y, epochs=15, verbose=0)
    assert model.evaluate(x, y, return_dict=True)["accuracy"] > 0.9
    assert model.predict(x).shape == (128, 1)


def test_device_auto_is_cpu_without_cuda():
    model = mlp()
    model.compile(loss="mse", device="auto")
    assert model.device.type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_seed_examples_learn(monkeypatch, capsys):
    import runpy
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "examples"
    monkeypatch.setenv("MEDDL_EXAMPLE_SAMPLES", "2500")
    for script, floor in (("seed_mlp.py", 0.5), ("seed_cnn.py", 0.8)):
        namespace = runpy.run_path(str(root / script), run_name="__main__")
        assert namespace["accuracy"] > floor, script  # chance is 0.1


def test_early_stopping_breaks_ties_with_a_second_monitor():
    from meddl.training.callbacks import EarlyStopping

    class Trainer:
        stop_training = False

    class Model:
        def state_dict(self):
            return {}

    stopper = EarlyStopping(monitor="val_auc", patience=1, tie_monitor="val_loss", mode="max")  # no compiled metric here
    stopper.set_context(Model(), Trainer())
    stopper.on_train_begin()
    for epoch, (auc, loss) in enumerate([(1.0, 0.5), (1.0, 0.3), (1.0, 0.4), (0.9, 0.2)]):
        stopper.on_epoch_end(epoch, {"val_auc": auc, "val_loss": loss})
    assert stopper.best_epoch == 1 and stopper.trainer.stop_training


def test_memory_does_not_grow_across_epochs():
    from meddl.training import MemoryMonitor

    rng = np.random.default_rng(0)
    x = rng.random((512, 16, 16, 1), dtype=np.float32)
    y = rng.integers(0, 2, 512)
    model = Sequential([Conv2D(8, 3, activation="relu"), MaxPooling2D(), Flatten(), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", "auc"])
    monitor = MemoryMonitor()
    model.fit(x, y, epochs=12, validation_split=0.2, verbose=0, callbacks=[monitor])
    assert len(monitor.memory_mb_) == 12 and monitor.memory_mb_[0] > 0
    assert monitor.growth_mb(skip=3) < 20  # MB, from epoch 3 to epoch 12


def test_sampler_draws_each_epochs_rows_afresh():
    x, y = blobs(n=120, classes=2)
    minority = np.flatnonzero(y == 1)[:10]
    majority = np.flatnonzero(y == 0)
    calls = []

    def sampler(epoch):
        calls.append(epoch)
        rng = np.random.default_rng(epoch)
        return np.concatenate([majority, rng.choice(minority, len(majority))])  # balanced, redrawn each epoch

    model = mlp(2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, verbose=0, sampler=sampler)
    assert calls == [0, 1, 2] and len(history.epoch) == 3
    full = mlp(2)
    full.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    one_class = full.fit(x, y, epochs=1, batch_size=None, verbose=0, sampler=lambda epoch: majority, seed=0)
    reference = mlp(2)
    reference.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    direct = reference.fit(x[majority], y[majority], epochs=1, batch_size=None, shuffle=False, verbose=0, seed=0)
    assert one_class.history["loss"] == pytest.approx(direct.history["loss"], rel=1e-5)
