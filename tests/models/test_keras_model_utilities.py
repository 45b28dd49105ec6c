"""Keras's model utilities: train_on_batch, test_on_batch, to_json / model_from_json, clone_model."""

import json

import numpy as np
import pytest

import meddl
from meddl import layers
from meddl.errors import MeddlError

from .custom_layers import Gain


def data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 5)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64)


def compiled(seed=0):
    meddl.utils.set_random_seed(seed)
    model = meddl.Sequential([layers.Dense(4, activation="relu", input_shape=(5,)), Gain(0.5),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_train_on_batch_is_one_full_batch_step_and_test_on_batch_is_evaluate():
    x, y = data()
    stepped, fitted = compiled(), compiled()
    loss, accuracy = stepped.train_on_batch(x, y)
    expected = fitted.fit(x, y, batch_size=None, epochs=1, shuffle=False, verbose=0).history
    assert loss == pytest.approx(expected["loss"][0]) and accuracy == pytest.approx(expected["accuracy"][0])
    for a, b in zip(stepped.get_weights(), fitted.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert stepped.history is None  # a step is not a fit
    assert stepped.train_on_batch(x, y, return_dict=True).keys() == {"loss", "accuracy"}
    assert stepped.test_on_batch(x, y, return_dict=True) == stepped.evaluate(x, y, return_dict=True)
    with pytest.raises(MeddlError, match="reports the unweighted loss and metrics; it takes no sample_weight"):
        stepped.test_on_batch(x, y, sample_weight=np.ones(len(y)))
    with pytest.raises(MeddlError, match="takes no sample_weight"):
        stepped.evaluate(x, y, sample_weight=np.ones(len(y)))


def test_model_from_json_rebuilds_the_architecture_with_fresh_weights():
    model = compiled()
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Sequential"
    with pytest.raises(MeddlError, match="Unknown layer 'Gain'"):
        meddl.models.model_from_json(text)
    again = meddl.models.model_from_json(text, custom_objects={"Gain": Gain})
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]
    assert again.count_params() == model.count_params() and again.loss is None
    assert not np.array_equal(again.get_weights()[0], model.get_weights()[0])
    inputs = meddl.Input((5,))
    functional = meddl.Model(inputs, layers.Dense(1)(layers.Dense(3)(inputs)))
    assert meddl.models.model_from_json(functional.to_json()).count_params() == functional.count_params()
    with pytest.raises(MeddlError, match="needs the JSON text model.to_json"):
        meddl.models.model_from_json("{not json")
    with pytest.raises(MeddlError, match="'class_name' and 'config'"):
        meddl.models.model_from_json('{"layers": []}')


def test_clone_model_copies_the_architecture_of_your_own_layers_and_models():
    model = compiled()
    clone = meddl.models.clone_model(model)  # Gain is not registered: cloning needs no custom_objects
    assert clone is not model and clone.summary(print_fn=None) == model.summary(print_fn=None) and clone.loss is None
    assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
    clone.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    clone.fit(*data(), epochs=1, verbose=0)

    class Small(meddl.Model):
        def __init__(self, units=3, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    small = Small(units=2)
    small.build((5,))
    copy = meddl.models.clone_model(small)
    assert isinstance(copy, Small) and copy.units == 2 and copy.built and copy.count_params() == 12


@pytest.mark.parametrize("name, suggestion", [("w.keras", "w.weights.h5"), ("model.h5", "model.weights.h5")])
def test_save_weights_to_another_file_name_suggests_the_weights_name(tmp_path, name, suggestion):
    with pytest.raises(MeddlError, match=f"Got '{name}' instead, e.g. use '{suggestion}'"):
        compiled().save_weights(tmp_path / name)
    assert not (tmp_path / name).exists()
