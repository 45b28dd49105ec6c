"""A legacy .h5 file of a compiled Keras model loads compiled (its training_config), as Keras loads it."""

import json
import shutil
import warnings

import h5py
import numpy as np
import pytest

import meddl

from .test_keras_import import FIXTURES

# Keras 3.15.1's one-epoch fit of compiled_mlp.h5 on these rows (make_keras3_layer_fixtures.py; one batch of 16)
KERAS_FIRST_EPOCH = {"accuracy": 0.1875, "loss": 1.157975435256958}


def _rows():
    return np.random.default_rng(1).normal(size=(16, 4)).astype("float32"), np.arange(16) % 3


def test_the_model_is_compiled_as_keras_saved_it_and_fits_as_keras_does():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything in the file is restored: no warning
        model = meddl.load_model(FIXTURES / "compiled_mlp.h5", device="cpu")
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate == pytest.approx(0.01)
    history = model.fit(*_rows(), epochs=1, batch_size=16, shuffle=False, verbose=0).history
    assert list(history) == ["accuracy", "loss"]
    assert history["accuracy"][0] == pytest.approx(KERAS_FIRST_EPOCH["accuracy"])
    assert history["loss"][0] == pytest.approx(KERAS_FIRST_EPOCH["loss"], rel=1e-5)


def test_compile_false_leaves_it_uncompiled():
    model = meddl.load_model(FIXTURES / "compiled_mlp.h5", device="cpu", compile=False)
    assert getattr(model, "optimizer", None) is None


def _with_training_config(tmp_path, change):
    path = tmp_path / "keras2.h5"
    shutil.copy(FIXTURES / "compiled_mlp.h5", path)
    with h5py.File(path, "r+") as handle:
        config = json.loads(handle.attrs["training_config"])
        change(config)
        handle.attrs["training_config"] = json.dumps(config)
    return path


def test_keras_2_optimizer_settings_are_read(tmp_path):
    def keras2(config):
        settings = config["optimizer_config"]["config"]
        settings["lr"] = settings.pop("learning_rate")
        settings["decay"] = 0.5  # Keras 2's decay: lr / (1 + decay * step)
    model = meddl.load_model(_with_training_config(tmp_path, keras2), device="cpu")
    model.fit(*_rows(), epochs=2, batch_size=16, verbose=0)
    assert model.optimizer.learning_rate == pytest.approx(0.01 / (1 + 0.5 * 2))


def test_an_optimizer_meddl_lacks_leaves_the_model_uncompiled_and_says_so(tmp_path):
    def ftrl(config):
        config["optimizer_config"] = {"class_name": "Ftrl", "config": {"learning_rate": 0.01}}
    with pytest.warns(UserWarning, match="Ftrl"):
        model = meddl.load_model(_with_training_config(tmp_path, ftrl), device="cpu")
    assert getattr(model, "optimizer", None) is None
    assert any("Ftrl" in note for note in model.metadata["keras_import"]["not_restored"])
