"""Layers of your own, written as in Keras: subclass Layer, add_weight in build, get_config; save and load them."""

import math

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError, ModelFileError


class Scale(layers.Layer):
    """A learned per-feature gain times a fixed factor, plus a non-trainable running count of calls."""

    def __init__(self, factor=1.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, x):
        if self.training:
            self.calls += 1
        return x * self.gain * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def regression_data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return x, x @ np.array([1.0, -2.0, 0.5], np.float32)


def scaled_model():
    model = meddl.Sequential([layers.Dense(4, input_shape=(3,)), Scale(2.0, name="scale"), layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


def test_add_weight_registers_each_weight_once_under_its_attribute_name():
    layer = Scale(2.0)
    out = layer(np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(out.detach().numpy(), np.full((2, 3), 2.0))
    assert list(layer.state_dict()) == ["gain", "calls"]
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(3,)]
    assert [tuple(w.shape) for w in layer.non_trainable_weights] == [()]
    assert layer.count_params() == 4 and len(layer.get_weights()) == 2


def test_fit_trains_the_trainable_weight_only_and_the_model_round_trips(tmp_path):
    model = scaled_model()
    x, y = regression_data()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    scale = model.get_layer("scale")
    assert not torch.equal(scale.gain.detach(), torch.ones(4))  # trained
    assert float(scale.calls) == 12.0  # 3 epochs x 4 batches, never touched by the optimizer
    model.save(tmp_path / "model")
    loaded = meddl.load_model(tmp_path / "model", custom_objects={"Scale": Scale})
    assert isinstance(loaded.get_layer("scale"), Scale) and loaded.get_layer("scale").factor == 2.0
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert float(loaded.get_layer("scale").calls) == 12.0
    with pytest.raises(MeddlError, match="Unknown layer 'Scale'"):  # the scope ends with load_model
        layers.get_layer_class("Scale")


def test_loading_an_unknown_layer_names_it_and_the_two_ways_to_make_it_known(tmp_path):
    model = scaled_model()
    model.fit(*regression_data(), epochs=1, verbose=0)
    model.save(tmp_path / "model")
    with pytest.raises(ModelFileError) as info:
        meddl.load_model(tmp_path / "model")
    message = str(info.value)
    assert "model.json" in message and "Unknown layer 'Scale'" in message
    assert "custom_objects={'Scale': Scale}" in message and "register_layer_class" in message


def test_register_layer_class_as_a_decorator_in_a_functional_model(tmp_path):
    @layers.register_layer_class
    class Shift(layers.Layer):
        def build(self, input_shape):
            self.offset = self.add_weight(shape=(input_shape[-1],), initializer="random_normal")

        def call(self, x):
            return x + self.offset

    inputs = meddl.Input((3,))
    model = meddl.Model(inputs, layers.Dense(1)(Shift(name="shift")(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    x, y = regression_data()
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "functional")
    loaded = meddl.load_model(tmp_path / "functional")
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_a_layer_with_arguments_but_no_get_config_cannot_be_saved_silently_wrong(tmp_path):
    class Forgetful(layers.Layer):
        def __init__(self, factor=1.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def call(self, x):
            return x * self.factor

    model = meddl.Sequential([layers.Dense(2, input_shape=(3,)), Forgetful(5.0)])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(MeddlError, match=r"Forgetful takes \['factor'\] in __init__, so it must override get_config"):
        model.save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_add_weight_initializers_use_keras_fans():
    layer = layers.Layer()
    kernel = layer.add_weight(shape=(30, 50))  # glorot_uniform: limit sqrt(6 / (30 + 50))
    assert kernel.abs().max() <= math.sqrt(6 / 80) and kernel.std() > 0.5 * math.sqrt(6 / 80) / math.sqrt(3)
    conv = layer.add_weight(shape=(3, 3, 4, 8), initializer="he_uniform")  # fan_in = 3 * 3 * 4
    assert conv.abs().max() <= math.sqrt(6 / 36) and conv.abs().max() > 0.8 * math.sqrt(6 / 36)
    assert torch.equal(layer.add_weight(shape=(2,), initializer="zeros"), torch.zeros(2))
    assert list(layer.state_dict()) == ["variable", "variable_1", "variable_2"]
    named = layer.add_weight(shape=(2,), initializer="ones", name="bias", dtype="float64")
    assert named.dtype == torch.float64 and "bias" in layer.state_dict()


def test_frozen_layers_and_reset_weights_keep_the_same_weights():
    layer = Scale(name="frozen_scale")
    layer.trainable = False
    layer(np.ones((1, 3), np.float32))
    assert not layer.gain.requires_grad and layer.trainable_weights == []
    layer.trainable = True
    with torch.no_grad():
        layer.gain.mul_(3.0)
    layer.reset_weights()
    assert list(layer.state_dict()) == ["gain", "calls"] and torch.equal(layer.gain.detach(), torch.ones(3))


@pytest.mark.parametrize("kwargs, match", [
    (dict(shape=(2,), initializer="glorot_unifrom"), "Did you mean 'glorot_uniform'"),
    (dict(shape=(2,), regularizer="l2"), "regularizer and constraint are not supported"),
    (dict(shape=(2,), name="my.weight"), "must be a Python identifier"),
    (dict(shape=(0, 2)), "tuple of positive integers"),
    (dict(shape=(2,), dtype="int8"), "'dtype' of a layer must be one of"),
])
def test_add_weight_refuses_bad_arguments_by_name(kwargs, match):
    with pytest.raises(MeddlError, match=match):
        layers.Layer().add_weight(**kwargs)


def test_custom_object_scope_checks_its_mapping():
    with layers.custom_object_scope({"Scale": Scale}):
        assert layers.get_layer_class("Scale") is Scale
        assert meddl.utils.custom_object_scope is layers.custom_object_scope
    with pytest.raises(MeddlError, match=r"custom_objects\['Scale'\] must be a class or a function"):
        with layers.custom_object_scope({"Scale": 3}):
            pass
    with pytest.raises(MeddlError, match="custom_objects must be a mapping"):
        with layers.custom_object_scope([Scale]):
            pass
    with pytest.raises(MeddlError, match="must be a subclass"):
        layers.register_layer_class(object)


def test_a_layer_called_on_nested_lists_reads_one_batch_as_keras_does():
    dense = layers.Dense(1, kernel_initializer="ones")
    np.testing.assert_array_equal(dense([[1.0, 2.0], [3.0, 4.0]]).detach().numpy(), [[3.0], [7.0]])
    with pytest.raises(MeddlError, match="nested lists of different lengths"):
        layers.Dense(1)([[1.0, 2.0], [3.0]])
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)
    np.testing.assert_array_equal(layers.Add()([a, b]).detach().numpy(), np.full((2, 3), 3.0))  # still two inputs


class Block(layers.Layer):
    """A layer made of other layers, as Keras users compose them: its output shape is found by calling it."""

    def __init__(self, units=8, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.inner = layers.Dense(units, activation="relu")
        self.norm = layers.LayerNormalization()

    def call(self, x):
        return self.norm(self.inner(x))

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class CodeBag(layers.Layer):
    """Wraps an Embedding: its inputs are integer codes, so the shape is found with integer zeros."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.embed = layers.Embedding(20, 3)

    def call(self, codes):
        return self.embed(codes).mean(dim=1)


def test_a_layer_made_of_layers_changes_the_shape_in_sequential_and_functional_models(tmp_path):
    x = np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32)
    model = meddl.Sequential([meddl.Input((4,)), Block(8, name="block"), layers.Dense(1)])
    assert model.get_layer("block").output_shape == (None, 8) and model.count_params() == (4 * 8 + 8 + 16) + 9
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, x.sum(axis=1), epochs=2, verbose=0)
    model.save(tmp_path / "model")
    loaded = meddl.load_model(tmp_path / "model", custom_objects={"Block": Block})
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    codes = meddl.Input((5,), dtype="int32")
    functional = meddl.Model(codes, layers.Dense(1)(CodeBag()(codes)))
    assert functional.output_shape == (None, 1)
    assert functional.predict(np.random.default_rng(1).integers(0, 20, (3, 5)), verbose=0).shape == (3, 1)


def test_call_gets_the_training_flag_when_it_takes_one():
    class Noisy(layers.Layer):
        def call(self, x, training=None):
            return x + 1.0 if training else x

    model = meddl.Sequential([meddl.Input((2,)), Noisy(), layers.Dense(1, kernel_initializer="ones")])
    x = np.zeros((4, 2), np.float32)
    assert model.predict(x, verbose=0).tolist() == [[0.0]] * 4  # inference: no noise
    np.testing.assert_array_equal(model(x, training=True).detach().numpy(), np.full((4, 1), 2.0))
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.full(4, 2.0, np.float32), epochs=1, verbose=0)  # training: the noise is there, the loss is 0
    assert model.history.history["loss"] == [0.0]


def test_a_last_layer_of_your_own_gets_the_mode_when_its_activation_is_folded_into_the_loss():
    class NoisyLogits(layers.Dense):
        def call(self, x, training=None):
            logits = super().call(x)
            return logits + torch.tensor([100.0, 0.0]) if training else logits  # class 0 certain in training

    meddl.utils.set_random_seed(0)
    model = meddl.Sequential([meddl.Input((2,)), NoisyLogits(2, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")  # trains on the logits
    x, y = np.ones((4, 2), np.float32), np.zeros(4, np.int64)
    assert model.evaluate(x, y) > 0.1  # inference: no shift
    training_loss = model.fit(x, y, epochs=1, batch_size=None, verbose=0).history["loss"][0]
    assert training_loss < 1e-6  # the step's loss, on the logits, saw the training-mode shift
