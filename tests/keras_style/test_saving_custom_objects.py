"""Keras's "Save, serialize, and export models" guide on meddl: layers and activation functions of your own in
``.keras`` files (both ways with Keras 3), custom_objects, serialize/deserialize_keras_object, config-only
rebuilding, Keras's public ``layer.build((None, n))``, and ``model.export`` refused by name."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import meddl
from meddl import layers

FIXTURE = Path(__file__).with_name("fixtures") / "custom_objects.keras"
PROBE = np.arange(8, dtype="float32").reshape(2, 4) / 8
# Keras 3.15.1's predictions of the fixture's model for PROBE (fixtures/make_custom_objects.py prints them)
KERAS_PREDICTIONS = [[0.7493066787719727], [3.8391504287719727]]


@meddl.saving.register_keras_serializable(package="GuideTest", name="squared")
def squared(x):
    return x**2


@meddl.saving.register_keras_serializable(package="GuideTest")
class ScaledGain(layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones")

    def call(self, x):
        return x * self.factor * self.gain

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


class Unregistered(layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def cubed(x):
    return x**3


def fixture_model():
    """The fixture's model built in meddl, with the same weights."""
    inputs = meddl.Input(shape=(4,))
    outputs = layers.Dense(1, activation=squared, name="head")(ScaledGain(0.5, name="gain")(inputs))
    model = meddl.Model(inputs, outputs)
    with torch.no_grad():
        model.get_layer("gain").gain.copy_(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    model.get_layer("head").set_weights([np.array([[0.5], [-0.25], [0.125], [1.0]]), np.array([0.1])])
    return model


def test_a_keras_file_with_registered_objects_of_ones_own_loads_with_kerass_predictions():
    model = meddl.models.load_model(FIXTURE)
    assert type(model.get_layer("gain")) is ScaledGain and model.get_layer("gain").factor == 0.5
    np.testing.assert_allclose(model.predict(PROBE, verbose=0), KERAS_PREDICTIONS, rtol=1e-6)


def test_meddl_writes_them_as_keras_does_and_reads_its_own_file_back(tmp_path):
    model = fixture_model()
    np.testing.assert_allclose(model.predict(PROBE, verbose=0), KERAS_PREDICTIONS, rtol=1e-6)
    model.save(tmp_path / "own.keras")
    config = json.loads(zipfile.ZipFile(tmp_path / "own.keras").read("config.json"))["config"]
    by_name = {layer["name"]: layer for layer in config["layers"]}
    # what Keras 3.15.1 writes for the same objects (fixtures/custom_objects.keras)
    assert by_name["gain"]["class_name"] == "ScaledGain" and by_name["gain"]["registered_name"] == "GuideTest>ScaledGain"
    assert by_name["head"]["config"]["activation"] == {"module": "builtins", "class_name": "function",
                                                        "config": "GuideTest>squared", "registered_name": "function"}
    reloaded = meddl.models.load_model(tmp_path / "own.keras")
    np.testing.assert_allclose(reloaded.predict(PROBE, verbose=0), KERAS_PREDICTIONS, rtol=1e-6)


def test_unregistered_objects_load_through_custom_objects_or_a_scope(tmp_path):
    inputs = meddl.Input(shape=(4,))
    model = meddl.Model(inputs, layers.Dense(1, activation=cubed)(Unregistered(0.5)(inputs)))
    model.save(tmp_path / "plain.keras")
    expected = model.predict(PROBE, verbose=0)
    with pytest.raises(meddl.ModelFileError, match=r"of your own class Unregistered: pass "
                                                   r"custom_objects=\{'Unregistered': Unregistered\}"):
        meddl.models.load_model(tmp_path / "plain.keras")
    with pytest.raises(meddl.ModelFileError, match=r"custom_objects=\{'cubed': cubed\}"):
        meddl.models.load_model(tmp_path / "plain.keras", custom_objects={"Unregistered": Unregistered})
    loaded = meddl.models.load_model(tmp_path / "plain.keras",
                                     custom_objects={"Unregistered": Unregistered, "cubed": cubed})
    np.testing.assert_allclose(loaded.predict(PROBE, verbose=0), expected, rtol=1e-6)
    with meddl.saving.custom_object_scope({"Unregistered": Unregistered, "cubed": cubed}):
        in_scope = meddl.models.load_model(tmp_path / "plain.keras")
    np.testing.assert_allclose(in_scope.predict(PROBE, verbose=0), expected, rtol=1e-6)


def test_an_activation_function_of_ones_own_saves_in_meddls_folder_too_and_a_lambda_is_refused(tmp_path):
    model = meddl.Sequential([layers.Input((4,)), layers.Dense(2, activation=squared)])
    model.save(tmp_path / "folder")
    np.testing.assert_allclose(meddl.models.load_model(tmp_path / "folder").predict(PROBE, verbose=0),
                               model.predict(PROBE, verbose=0))
    with pytest.raises(meddl.MeddlError, match="without a name \\(a lambda\\)"):
        layers.Dense(2, activation=lambda x: x * 2).get_config()


def test_serialize_and_deserialize_keras_object():
    spec = meddl.saving.serialize_keras_object(layers.Dense(3, activation="relu", name="d"))
    assert spec["class_name"] == "Dense" and spec["config"]["units"] == 3
    dense = meddl.saving.deserialize_keras_object(spec)
    assert isinstance(dense, layers.Dense) and dense.units == 3 and dense.name == "d"
    own = meddl.saving.serialize_keras_object(Unregistered(2.0))
    assert own["registered_name"] == "Unregistered"
    with pytest.raises(meddl.MeddlError, match=r"Unknown class 'Unregistered': pass custom_objects"):
        meddl.saving.deserialize_keras_object(own)
    rebuilt = meddl.saving.deserialize_keras_object(own, custom_objects={"Unregistered": Unregistered})
    assert type(rebuilt) is Unregistered and rebuilt.factor == 2.0
    function = meddl.saving.serialize_keras_object(squared)
    assert function["config"] == "GuideTest>squared"
    assert meddl.saving.deserialize_keras_object(function) is squared
    with pytest.raises(meddl.MeddlError, match="takes what serialize_keras_object returned"):
        meddl.saving.deserialize_keras_object({"units": 3})


def test_model_from_config_of_a_functional_model_and_a_folder_for_a_subclassed_model_without_build_config(tmp_path):
    inputs = meddl.Input((32,))
    functional = meddl.Model(inputs, layers.Dense(1)(inputs))
    rebuilt = meddl.Model.from_config(functional.get_config())  # Keras's spelling, as for Functional
    assert type(rebuilt).__name__ == "Functional" and rebuilt.input_shape_ == (32,)

    class TwoLayers(meddl.Model):
        def __init__(self, hidden_units, **kwargs):
            super().__init__(**kwargs)
            self.hidden_units = hidden_units
            self.dense_layers = [layers.Dense(u) for u in hidden_units]

        def call(self, x):
            for dense in self.dense_layers:
                x = dense(x)
            return x

        def get_config(self):  # the guide's: without super().get_config(), so without the build shape
            return {"hidden_units": self.hidden_units}

    model = TwoLayers([8, 2])
    x = np.random.default_rng(0).random((3, 5)).astype("float32")
    model(x)  # as the guide does: calling it builds it
    expected = model.predict(x, verbose=0)
    model.save(tmp_path / "two")
    reloaded = meddl.models.load_model(tmp_path / "two", custom_objects={"TwoLayers": TwoLayers})
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-6)


def test_kerass_public_layer_build_with_the_batch_axis_builds_the_layer():
    first, second = layers.Dense(4, name="first_dense"), layers.Dense(4, name="second_dense")
    first.build((None, 6))
    second.build((None, 6))
    assert first.built and first.input_shape_ == (6,)
    second.set_weights(first.get_weights())
    np.testing.assert_array_equal(second.get_weights()[0], first.get_weights()[0])
    gain = ScaledGain(1.0)
    gain.build((None, 3))  # a layer of one's own too
    assert gain.built and tuple(gain.gain.shape) == (3,)


def test_model_export_is_refused_by_name(tmp_path):
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(1)])
    with pytest.raises(meddl.MeddlError, match=r"model.export\(format='tf_saved_model'\) is not supported"):
        model.export(tmp_path / "exported")
    with pytest.raises(meddl.MeddlError, match=r"format='onnx'.*meddl export RUN_DIR"):
        model.export(tmp_path / "exported", format="onnx")


def test_get_compile_config_and_compile_from_config_carry_the_compile_settings():
    model = meddl.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    assert model.get_compile_config() is None
    model.compile(optimizer=meddl.optimizers.SGD(learning_rate=0.05, momentum=0.5), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    config = model.get_compile_config()
    twin = meddl.Sequential([layers.Input((4,)), layers.Dense(3, activation="softmax")])
    twin.compile_from_config(config)
    assert twin.get_compile_config() == config and twin.metrics_names == ["loss", "accuracy"]
    assert twin.optimizer.get_config()["momentum"] == 0.5
    with pytest.raises(meddl.MeddlError, match="compile_from_config takes what get_compile_config"):
        twin.compile_from_config({"loss": "mse"})


@meddl.saving.register_keras_serializable(package="GuideTest")
class StackedMLP(meddl.Model):
    def __init__(self, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        self.dense_layers = [layers.Dense(units, activation="tanh") for units in hidden_units]
        self.head = layers.Dense(1)

    def call(self, inputs):
        x = inputs
        for dense in self.dense_layers:
            x = dense(x)
        return self.head(x)

    def get_config(self):
        return {"hidden_units": self.hidden_units}


# Keras 3.15.1's predictions of fixtures/subclassed_mlp.keras for PROBE (make_custom_objects.py prints them)
KERAS_MLP_PREDICTIONS = [[0.26630738377571106], [0.21400271356105804]]


def test_a_registered_subclassed_model_in_a_keras_file_both_ways(tmp_path):
    model = meddl.models.load_model(FIXTURE.with_name("subclassed_mlp.keras"))
    assert type(model) is StackedMLP and model.hidden_units == [3, 2] and model.input_shape_ == (4,)
    np.testing.assert_allclose(model.predict(PROBE, verbose=0), KERAS_MLP_PREDICTIONS, rtol=1e-6)
    model.save(tmp_path / "mlp.keras")  # written as Keras writes it: weights under the attributes' names
    config = json.loads(zipfile.ZipFile(tmp_path / "mlp.keras").read("config.json"))
    assert config["registered_name"] == "GuideTest>StackedMLP" and config["config"] == {"hidden_units": [3, 2]}
    reloaded = meddl.models.load_model(tmp_path / "mlp.keras")
    np.testing.assert_allclose(reloaded.predict(PROBE, verbose=0), KERAS_MLP_PREDICTIONS, rtol=1e-6)


def test_an_unknown_subclassed_model_in_a_keras_file_names_what_to_pass(tmp_path):
    class Unnamed(meddl.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

        def get_config(self):
            return {}

    model = Unnamed()
    model(PROBE)
    model.save(tmp_path / "unnamed.keras")
    with pytest.raises(meddl.ModelFileError, match=r"subclassed model Unnamed.*custom_objects=\{'Unnamed': Unnamed\}"):
        meddl.models.load_model(tmp_path / "unnamed.keras")
    loaded = meddl.models.load_model(tmp_path / "unnamed.keras", custom_objects={"Unnamed": Unnamed})
    np.testing.assert_allclose(loaded.predict(PROBE, verbose=0), model.predict(PROBE, verbose=0), rtol=1e-6)
