"""mode="auto" of EarlyStopping, ModelCheckpoint and ReduceLROnPlateau: a monitored value whose direction is not
known is refused, as Keras refuses it, instead of a direction guessed from its name.

Checked against Keras 3.15.1 (torch backend); the test does not import Keras: with mode="auto", ``loss`` and
``val_loss`` are minimised and a compiled metric follows its direction (Recall(name="zz") logs ``zz``, maximised),
while ``val_true_positives`` (a count, no direction), ``val_c_index`` (logged by a callback) and ``lr`` raise
ValueError ("... received monitor=val_true_positives, but Keras isn't able to automatically determine whether that
metric should be maximized or minimized. Pass `mode='max'` ... or pass `mode='min'` ..."). Keras raises after the
first epoch; meddl at the start of fit, before training.
"""

import numpy as np
import pytest

import meddl
from meddl import callbacks, layers
from meddl.errors import MeddlError
from meddl.training.callbacks import stop_after_tolerating


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype(np.float32)
    return x, (x[:, :1] > 0).astype(np.float32)


def _model():
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy",
                  metrics=[meddl.metrics.TruePositives(), meddl.metrics.Recall(name="zz")])
    return model


def _watchers(monitor, tmp_path, **mode):
    return [callbacks.EarlyStopping(monitor=monitor, **mode), callbacks.ReduceLROnPlateau(monitor=monitor, **mode),
            callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor=monitor, save_best_only=True, **mode)]


def _logs(name):
    """A callback that logs ``name`` (as a callback of the user's logs a value compile does not know)."""
    return callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: logs.update({name: 0.5}))


@pytest.mark.parametrize("monitor", ["val_true_positives", "true_positives", "val_c_index", "lr"])
@pytest.mark.parametrize("kind", [0, 1, 2])
def test_mode_auto_refuses_a_monitor_whose_direction_is_unknown_as_keras(monitor, kind, tmp_path):
    x, y = _data()
    watcher = _watchers(monitor, tmp_path)[kind]
    epochs = []
    with pytest.raises(ValueError, match=rf"{type(watcher).__name__} monitors '{monitor}' with mode='auto'.*"
                                         r"Pass mode='max'.*or mode='min'") as raised:
        _model().fit(x, y, epochs=2, verbose=0, validation_split=0.25,
                     callbacks=[_logs(monitor), callbacks.LambdaCallback(on_epoch_end=lambda e, logs: epochs.append(e)),
                                watcher])
    assert isinstance(raised.value, MeddlError)
    assert epochs == []  # refused before training, not after an epoch


@pytest.mark.parametrize("mode", ["min", "max"])
def test_an_explicit_mode_watches_any_logged_value(mode, tmp_path):
    x, y = _data()
    watchers = _watchers("val_c_index", tmp_path, mode=mode)
    history = _model().fit(x, y, epochs=2, verbose=0, validation_split=0.25,
                           callbacks=[_logs("val_c_index"), *watchers])
    assert len(history.history["loss"]) == 2 and [w.mode for w in watchers] == [mode] * 3


@pytest.mark.parametrize("monitor, mode", [("loss", "min"), ("val_loss", "min"), ("zz", "max"), ("val_zz", "max")])
def test_mode_auto_keeps_losses_and_metrics_with_a_direction(monitor, mode, tmp_path):
    x, y = _data()
    watchers = _watchers(monitor, tmp_path)
    _model().fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=watchers)
    assert [w.mode for w in watchers] == [mode] * 3


def test_a_loss_of_meddl_s_own_is_minimised_and_no_name_is_guessed(tmp_path):
    """meddl's models log losses of their parts (``val_factual_loss`` of the treatment models, ``<output>_loss``):
    a loss is minimised (where Keras would ask for a mode). A name is no longer guessed: 'val_acc_custom' was
    maximised for its 'acc'."""
    x, y = _data()
    stop = stop_after_tolerating(2, monitor="val_factual_loss")
    _model().fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[_logs("val_factual_loss"), stop])
    assert stop.mode == "min"
    with pytest.raises(MeddlError, match="monitors 'val_acc_custom' with mode='auto'"):
        _model().fit(x, y, epochs=2, verbose=0, validation_split=0.25,
                     callbacks=[_logs("val_acc_custom"), callbacks.EarlyStopping(monitor="val_acc_custom")])
