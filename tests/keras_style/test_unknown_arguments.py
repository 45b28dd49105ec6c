"""A misspelt or unsupported Keras argument is refused by name, never silently dropped; Keras's
settings that change nothing in meddl still pass; save(overwrite=False) keeps what is there."""

import numpy as np
import pytest

import meddl
from meddl import layers
from meddl.errors import MeddlError, ModelFileError


@pytest.mark.parametrize("make", [
    lambda **kw: layers.LSTM(4, **kw), lambda **kw: layers.GRU(4, **kw), lambda **kw: layers.Embedding(10, 4, **kw),
    lambda **kw: layers.Concatenate(**kw), lambda **kw: layers.Add(**kw), lambda **kw: layers.LayerNormalization(**kw),
    lambda **kw: layers.Bidirectional(layers.LSTM(3), **kw), lambda **kw: layers.Attention(**kw),
    lambda **kw: layers.InputLayer(shape=(3,), **kw),
])
def test_layers_refuse_a_misspelt_argument_by_name(make):
    with pytest.raises(MeddlError, match=r"got unexpected argument\(s\) \['recurent_dropout'\]"):
        make(recurent_dropout=0.2)


def test_layers_accept_kerass_settings_that_change_nothing_here():
    layers.LSTM(4, seed=1, implementation=2, use_cudnn="auto")
    layers.LayerNormalization(beta_initializer="zeros", gamma_initializer="ones")
    with pytest.raises(MeddlError, match="gamma_initializer"):
        layers.LayerNormalization(gamma_initializer="zeros")
    with pytest.raises(MeddlError, match="time_major"):
        layers.GRU(4, time_major=True)


def _model():
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", metrics=["accuracy"], run_eagerly=True, jit_compile=False,
                  steps_per_execution=1)
    return model


def test_compile_evaluate_and_predict_refuse_unknown_arguments_and_callbacks():
    model = _model()
    with pytest.raises(MeddlError, match=r"compile\(\) got unexpected argument\(s\) \['metric'\]"):
        model.compile(loss="mse", metric=["accuracy"])
    x, y = np.zeros((4, 3), np.float32), np.array([0, 1, 0, 1], np.float32)
    with pytest.raises(MeddlError, match=r"evaluate\(\) got unexpected argument\(s\) \['callbacks'\]"):
        model.evaluate(x, y, callbacks=[meddl.callbacks.CSVLogger("log.csv")])
    with pytest.raises(MeddlError, match=r"predict\(\) got unexpected argument\(s\) \['batchsize'\]"):
        model.predict(x, batchsize=2)
    assert model.predict(x, callbacks=None, workers=2, use_multiprocessing=False).shape == (4, 1)


def test_save_with_overwrite_false_keeps_the_saved_model(tmp_path):
    model = _model()
    model.save(tmp_path / "model")
    before = (tmp_path / "model" / "model.json").read_bytes()
    with pytest.raises(ModelFileError, match="already exists and save\\(overwrite=False\\)"):
        _model().save(tmp_path / "model", overwrite=False)
    assert (tmp_path / "model" / "model.json").read_bytes() == before
    model.save_weights(tmp_path / "w.weights.safetensors")
    with pytest.raises(ModelFileError, match="already exists"):
        model.save_weights(tmp_path / "w.weights.safetensors", overwrite=False)
    model.save(tmp_path / "model", overwrite=True, include_optimizer=True)
    with pytest.raises(MeddlError, match=r"\['save_format'\]"):
        model.save(tmp_path / "other", save_format="h5")
