"""Callbacks as Keras runs them: EarlyStopping's patience and baseline, verbose messages, per-batch hooks,
and hooks meddl never calls refused rather than skipped."""

import numpy as np
import pytest
import torch

import meddl
from meddl import callbacks, layers
from meddl.errors import MeddlError
from meddl.training.callbacks import stop_after_tolerating


def _data(n=32):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, x.sum(axis=1)


def _model():
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _scripted(values):
    """Replaces the logged loss with ``values`` (before the callbacks after it read it)."""
    return callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update(loss=values[epoch]))


LOSSES = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.4, 0.3, 0.2, 0.1]


def test_early_stopping_stops_after_patience_epochs_without_improvement_as_keras():
    x, y = _data()
    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[
        _scripted(LOSSES), callbacks.EarlyStopping(monitor="loss", patience=3)])
    assert len(history.history["loss"]) == 5  # best at epoch 2; epochs 3, 4, 5 bring nothing: stop


def test_early_stopping_with_a_baseline_keeps_counting_until_it_is_beaten():
    x, y = _data()
    stop = callbacks.EarlyStopping(monitor="loss", patience=2, baseline=0.5)
    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[_scripted(LOSSES), stop])
    assert len(history.history["loss"]) == 3 and stop.stopped_epoch == 2
    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[
        _scripted(LOSSES), callbacks.EarlyStopping(monitor="loss", patience=2)])
    assert len(history.history["loss"]) == 4


def test_meddls_runs_keep_counting_patience_as_epochs_tolerated():
    x, y = _data()
    history = _model().fit(x, y, epochs=10, verbose=0, callbacks=[
        _scripted(LOSSES), stop_after_tolerating(2, monitor="loss")])
    assert len(history.history["loss"]) == 5  # two epochs tolerated, the third stops


def test_verbose_callbacks_say_what_they_did(capsys):
    x, y = _data()
    _model().fit(x, y, epochs=10, verbose=0, callbacks=[
        _scripted(LOSSES), callbacks.EarlyStopping(monitor="loss", patience=1, verbose=1, restore_best_weights=True),
        callbacks.ReduceLROnPlateau(monitor="loss", patience=1, verbose=1)])
    err = capsys.readouterr().err
    assert "Epoch 3: early stopping (loss did not improve for 1 epochs)" in err
    assert "Epoch 3: ReduceLROnPlateau reducing the learning rate to 0.001" in err
    assert "Restoring the weights of the best epoch, 2." in err


class BatchRecorder(callbacks.Callback):
    def __init__(self):
        self.begun, self.losses, self.weights = [], [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.begun.append(batch)
        self.weights.append(self.model.get_weights())

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(logs["loss"])


def test_batch_hooks_see_every_step_and_its_loss_on_arrays_and_on_a_data_loader():
    x, y = _data(32)
    recorder = BatchRecorder()
    _model().fit(x, y, epochs=2, batch_size=10, shuffle=False, verbose=0, callbacks=[recorder])
    assert recorder.begun == [0, 1, 2, 3] * 2
    batch_losses = []
    for step, (kernel, bias) in enumerate(recorder.weights):  # the loss of the weights the step started from
        rows = slice(10 * (step % 4), 10 * (step % 4) + 10)
        batch_losses.append(np.mean((x[rows] @ kernel + bias - y[rows, None]) ** 2))
        # as Keras, the epoch's running mean so far, each batch weighted by its rows (10, 10, 10, 2)
        epoch_so_far = batch_losses[step - step % 4:step + 1]
        expected = np.average(epoch_so_far, weights=[10, 10, 10, 2][:len(epoch_so_far)])
        assert recorder.losses[step] == pytest.approx(expected, rel=1e-5)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y[:, None])),
                                         batch_size=16)
    streamed = BatchRecorder()
    _model().fit(loader, epochs=3, verbose=0, callbacks=[streamed])
    assert streamed.begun == [0, 1] * 3 and len(streamed.losses) == 6


def test_kerass_older_batch_hook_names_and_stopping_from_a_batch():
    class StopOnFirstBatch(callbacks.Callback):
        calls = 0

        def on_batch_end(self, batch, logs=None):
            StopOnFirstBatch.calls += 1
            self.model.stop_training = True

    x, y = _data(32)
    model = _model()
    assert model.stop_training is False
    history = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[StopOnFirstBatch()])
    assert len(history.history["loss"]) == 1 and StopOnFirstBatch.calls == 4  # stops at the epoch's end


def test_hooks_that_fit_never_calls_are_refused():
    class ValidationLogger(callbacks.Callback):
        def on_test_end(self, logs=None):
            pass

    x, y = _data()
    with pytest.raises(MeddlError, match=r"defines \['on_test_end'\], which meddl never calls"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[ValidationLogger()])


def _scripted_metric(name, values):
    return callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update({name: values[epoch]}))


@pytest.mark.parametrize("metric, logged", [
    (meddl.metrics.Precision(), "precision"), ("recall", "recall"), (meddl.metrics.F1Score(threshold=0.5), "f1_score"),
    (meddl.metrics.SensitivityAtSpecificity(0.9), "sensitivity_at_specificity"), ("dice", "dice"),
    (meddl.metrics.Recall(name="rec"), "rec")])
def test_mode_auto_maximises_a_metric_keras_maximises(metric, logged, tmp_path):
    """Keras reads the metric's direction; guessing from the name ('acc', 'auc') minimised these, so
    EarlyStopping stopped on improvement and restored the worst weights."""
    x, y = _data()
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=[metric])
    stop = callbacks.EarlyStopping(monitor=logged, patience=2)
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "best-{epoch}.keras"), monitor=logged, save_best_only=True)
    plateau = callbacks.ReduceLROnPlateau(monitor=logged, patience=2)
    rising = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    history = model.fit(x, (y > 0).astype(np.float32), epochs=6, verbose=0,
                        callbacks=[_scripted_metric(logged, rising), stop, plateau, checkpoint])
    assert len(history.history["loss"]) == 6 and stop.best == 0.6 and stop.stopped_epoch == 0
    assert (stop.mode, plateau.mode, checkpoint.mode) == ("max", "max", "max")
    assert len(list(tmp_path.iterdir())) == 6  # each epoch beat the last


def test_mode_auto_minimises_losses_and_error_metrics():
    x, y = _data()
    model = _model()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", meddl.metrics.RootMeanSquaredError()])
    watchers = [callbacks.EarlyStopping(monitor=name) for name in ("val_mae", "val_root_mean_squared_error", "loss")]
    model.fit(x, y, epochs=1, verbose=0, validation_split=0.25, callbacks=watchers)
    assert [watcher.mode for watcher in watchers] == ["min", "min", "min"]


def test_callbacks_get_keras_s_logs_at_epoch_begin_and_train_end():
    x, y = _data()
    seen = {}
    hooks = callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.setdefault("begin", logs),
                                     on_train_end=lambda logs: seen.setdefault("end", logs))
    history = _model().fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[hooks])
    assert seen["begin"] == {}
    assert seen["end"] == {key: values[-1] for key, values in history.history.items()}
    assert set(seen["end"]) == {"loss", "val_loss"}


def test_early_stopping_s_stopped_epoch_is_zero_when_training_runs_to_the_end():
    x, y = _data()
    stop = callbacks.EarlyStopping(monitor="loss", patience=50)
    _model().fit(x, y, epochs=2, verbose=0, callbacks=[stop])
    assert stop.stopped_epoch == 0 and not stop.stopped_epoch > 0  # Keras programs compare it with 0
