"""What per-batch hooks receive, as Keras passes it: the epoch's running loss and every compiled metric so far.

The expected values were checked against Keras 3.15.1 (torch backend) with the same data, initial weights,
optimizer and batches (shuffle=False); the test does not import Keras.
"""

import numpy as np
import pytest
import torch

import meddl
from meddl import callbacks, layers
from meddl.training import batch_logs

KERAS_INITIAL_WEIGHTS = [np.array([[-0.3588258624076843], [0.9753235578536987], [-0.7882970571517944]], np.float32),
                         np.zeros(1, np.float32)]

# Keras 3.15.1's on_train_batch_end logs for this fit: two epochs of three batches (4, 4 and 2 rows). Each value
# is the epoch's so far: the loss averaged over the rows seen (each batch's loss weighted by its rows), the
# metrics over those rows; the keys sorted; the running state starts afresh each epoch.
KERAS_BATCH_LOGS = [
    {"accuracy": 0.5, "loss": 0.8015620708465576, "mae": 0.5208554863929749},
    {"accuracy": 0.375, "loss": 0.8907546997070312, "mae": 0.5451853275299072},
    {"accuracy": 0.5, "loss": 0.7918684482574463, "mae": 0.5015574097633362},
    {"accuracy": 0.5, "loss": 0.6067136526107788, "mae": 0.41098833084106445},
    {"accuracy": 0.625, "loss": 0.5512893795967102, "mae": 0.3948511481285095},
    {"accuracy": 0.699999988079071, "loss": 0.49710845947265625, "mae": 0.3646867871284485},
]


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype(np.float32)
    return x, (x[:, :1] > 0).astype(np.float32)


def _model():
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=meddl.optimizers.SGD(0.5), loss="binary_crossentropy", metrics=["accuracy", "mae"])
    model.set_weights(KERAS_INITIAL_WEIGHTS)
    return model


class BatchLogs(callbacks.Callback):
    def __init__(self):
        self.logs, self.older = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.logs.append(dict(logs))
        super().on_train_batch_end(batch, logs)  # Keras's base class calls the older name with the same logs

    def on_batch_end(self, batch, logs=None):
        self.older.append(dict(logs))


def _assert_as_keras(seen):
    assert len(seen) == len(KERAS_BATCH_LOGS)
    for logs, expected in zip(seen, KERAS_BATCH_LOGS):
        assert list(logs) == list(expected)  # the keys, in Keras's (sorted) order
        assert logs == pytest.approx(expected, rel=1e-5)


def test_batch_hooks_get_the_running_loss_and_metrics_keras_gives_on_arrays():
    x, y = _data()
    recorder = BatchLogs()
    history = _model().fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, validation_data=(x[:6], y[:6]),
                           callbacks=[recorder])
    _assert_as_keras(recorder.logs)
    assert recorder.older == recorder.logs
    for epoch, last in enumerate(recorder.logs[2::3]):  # the last batch's logs are the epoch's training values
        assert last == pytest.approx({key: history.history[key][epoch] for key in last}, rel=1e-6)


def test_batch_hooks_get_the_same_running_logs_on_a_data_loader():
    x, y = _data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=4)
    recorder = BatchLogs()
    _model().fit(loader, epochs=2, verbose=0, callbacks=[recorder])
    _assert_as_keras(recorder.logs)


# Keras 3.15.1's logs for the same fit compiled with Precision and Recall, metrics of all the rows so far (not a
# mean over rows, so meddl computes them again over those rows; the other running values are summed by batch)
KERAS_PRECISION_RECALL_LOGS = [
    {"loss": 0.8015620708465576, "precision": 1.0, "recall": 0.3333333432674408},
    {"loss": 0.8907546997070312, "precision": 0.5, "recall": 0.4000000059604645},
    {"loss": 0.7918684482574463, "precision": 0.6000000238418579, "recall": 0.5},
    {"loss": 0.6067136526107788, "precision": 1.0, "recall": 0.3333333432674408},
    {"loss": 0.5512893795967102, "precision": 1.0, "recall": 0.4000000059604645},
    {"loss": 0.49710845947265625, "precision": 1.0, "recall": 0.5},
]


def test_metrics_of_all_the_rows_so_far_run_as_keras_s():
    x, y = _data()
    model = _model()
    model.compile(optimizer=meddl.optimizers.SGD(0.5), loss="binary_crossentropy",
                  metrics=[meddl.metrics.Precision(name="precision"), meddl.metrics.Recall(name="recall")])
    recorder = BatchLogs()
    model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0, callbacks=[recorder])
    assert [list(logs) for logs in recorder.logs] == [["loss", "precision", "recall"]] * 6
    for logs, expected in zip(recorder.logs, KERAS_PRECISION_RECALL_LOGS, strict=True):
        assert logs == pytest.approx(expected, rel=1e-5)


def test_a_model_with_several_outputs_logs_each_output_s_running_loss_and_metrics():
    x, y = _data()
    inputs = layers.Input((3,))
    model = meddl.Model(inputs, [layers.Dense(1, name="b_out")(inputs),
                                 layers.Dense(1, activation="sigmoid", name="a_out")(inputs)])
    model.compile(optimizer="sgd", loss=["mse", "binary_crossentropy"], metrics=[["mae"], ["accuracy"]])
    recorder = BatchLogs()
    history = model.fit(x, [y, y], batch_size=4, epochs=1, verbose=0, callbacks=[recorder])
    # Keras 3.15.1's keys for this model, in its order
    assert [list(logs) for logs in recorder.logs] == [["a_out_accuracy", "a_out_loss", "b_out_loss", "b_out_mae",
                                                       "loss"]] * 3
    assert recorder.logs[-1] == pytest.approx({key: values[0] for key, values in history.history.items()}, rel=1e-6)


def test_a_fit_without_batch_hooks_builds_no_running_logs(monkeypatch, tmp_path):
    """The running logs cost a pass over the rows so far per batch: fits whose callbacks define no per-batch
    hook (bench/seed_throughput.py) must not pay it."""
    built = []
    monkeypatch.setattr(batch_logs.RunningLogs, "logs", lambda self, *args: built.append(1) or {})
    x, y = _data()
    _model().fit(x, y, batch_size=4, epochs=2, verbose=0,
                 callbacks=[callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: None),
                            callbacks.CSVLogger(tmp_path / "log.csv")])
    assert built == []
    _model().fit(x, y, batch_size=4, epochs=2, verbose=0, callbacks=[BatchLogs()])
    assert len(built) == 6
