"""Save/load without pickle: bit-identical, atomic, and refusing damaged files."""

import json

import numpy as np
import pytest

import meddl
from meddl import ModelFileError, Sequential
from meddl.layers import BatchNormalization, Conv2D, Dense, Dropout, Flatten, MaxPooling2D


def trained_cnn():
    rng = np.random.default_rng(0)
    x = rng.random((64, 10, 10, 1), dtype=np.float32)
    y = rng.integers(0, 3, 64)
    model = Sequential([Conv2D(4, 3, activation="relu", input_shape=(10, 10, 1)), BatchNormalization(),
                        MaxPooling2D(), Flatten(), Dropout(0.3), Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    return model, x, y


def test_round_trip_is_bit_identical(tmp_path):
    model, x, y = trained_cnn()
    model.save(tmp_path / "model", metadata={"class_names": ["a", "b", "c"]})
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["model.json", "model.safetensors"]
    loaded = meddl.load_model(tmp_path / "model")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.metadata == {"class_names": ["a", "b", "c"]}
    assert loaded.evaluate(x, y) == model.evaluate(x, y)
    loaded.fit(x, y, epochs=1, verbose=0)  # compile settings came back too


def test_no_pickle_in_the_files(tmp_path):
    model, _, _ = trained_cnn()
    model.save(tmp_path / "m")
    document = json.loads((tmp_path / "m" / "model.json").read_text())
    assert document["format"] == "meddl.sequential/1" and len(document["weights"]["sha256"]) == 64


def test_interrupted_save_leaves_the_old_model_intact(tmp_path, monkeypatch):
    model, x, _ = trained_cnn()
    model.save(tmp_path / "m")
    before = meddl.load_model(tmp_path / "m").predict(x)
    model.fit(x, np.zeros(len(x)), epochs=1, verbose=0)

    from meddl import saving as saving_core

    def broken(*args, **kwargs):
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(saving_core, "save_file", broken)
    with pytest.raises(KeyboardInterrupt):
        model.save(tmp_path / "m")
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folder left behind
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "m").predict(x), before)


def test_truncated_weights_are_refused(tmp_path):
    model, _, _ = trained_cnn()
    model.save(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    with pytest.raises(ModelFileError, match="does not match the checksum"):
        meddl.load_model(tmp_path / "m")


def test_tampered_weights_are_refused(tmp_path):
    model, _, _ = trained_cnn()
    model.save(tmp_path / "m")
    weights = tmp_path / "m" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="truncated, corrupted or changed"):
        meddl.load_model(tmp_path / "m")


def test_broken_or_missing_json(tmp_path):
    with pytest.raises(ModelFileError, match="No saved meddl model"):
        meddl.load_model(tmp_path / "nothing")
    model, _, _ = trained_cnn()
    model.save(tmp_path / "m")
    config = tmp_path / "m" / "model.json"
    config.write_text(config.read_text()[:50])
    with pytest.raises(ModelFileError, match="not valid JSON"):
        meddl.load_model(tmp_path / "m")
    config.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ModelFileError, match="not a meddl model file"):
        meddl.load_model(tmp_path / "m")


def test_weights_that_do_not_fit_the_architecture(tmp_path):
    model, _, _ = trained_cnn()
    model.save(tmp_path / "m")
    other = Sequential([Dense(2, input_shape=(3,))])
    other.save(tmp_path / "other")
    # Swap in another model's weights with a matching checksum: still refused.
    (tmp_path / "m" / "model.safetensors").write_bytes((tmp_path / "other" / "model.safetensors").read_bytes())
    document = json.loads((tmp_path / "m" / "model.json").read_text())
    document["weights"]["sha256"] = json.loads((tmp_path / "other" / "model.json").read_text())["weights"]["sha256"]
    (tmp_path / "m" / "model.json").write_text(json.dumps(document))
    with pytest.raises(ModelFileError, match="do not fit the saved architecture"):
        meddl.load_model(tmp_path / "m")


def test_saving_an_unbuilt_model_is_an_error(tmp_path):
    with pytest.raises(meddl.NotFittedError, match="not built"):
        Sequential([Dense(2)]).save(tmp_path / "m")


def test_frozen_layers_round_trip(tmp_path):
    model, x, _ = trained_cnn()
    for layer in model.layers:
        layer.set_trainable(False)
    model.save(tmp_path / "m")
    loaded = meddl.load_model(tmp_path / "m")
    assert not any(layer.trainable for layer in loaded.layers)
    assert not any(p.requires_grad for p in loaded.parameters())
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
