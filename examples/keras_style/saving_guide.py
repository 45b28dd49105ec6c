"""The kinds of statements of keras.io's "Save, serialize, and export models" guide, in our own program, run
on meddl.

Covers: model.save("x.keras") and keras.models.load_model, get_compile_config / compile_from_config, custom
objects (a registered layer and a registered activation function), custom_objects and custom_object_scope, config-only saving (get_config / from_config,
to_json / model_from_json, serialize_keras_object / deserialize_keras_object), a registered subclassed model
saved to a .keras file through its get_config, weights moved in memory (get_weights / set_weights) between layers and models, weights on disk
(save_weights / load_weights with Keras's ".weights.h5"), and model.export, which meddl refuses clearly.

Run: python examples/keras_style/saving_guide.py [--out folder]
"""

import argparse
import pathlib
import tempfile

import numpy as np

import meddl as keras
from meddl import layers

parser = argparse.ArgumentParser()
parser.add_argument("--out", default=None, help="folder for the saved files (default: a temporary one)")
args = parser.parse_args()
out = pathlib.Path(args.out or tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)
keras.utils.set_random_seed(0)


# Save a whole model to one .keras file and load it back: the same predictions.
def get_model():
    inputs = keras.Input(shape=(32,))
    outputs = layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
    return model


model = get_model()
test_input = np.random.random((128, 32))
test_target = np.random.random((128, 1))
model.fit(test_input, test_target, verbose=0)
model.save(out / "my_model.keras")
reconstructed_model = keras.models.load_model(out / "my_model.keras")
np.testing.assert_allclose(model.predict(test_input, verbose=0), reconstructed_model.predict(test_input, verbose=0),
                           rtol=1e-6)
reconstructed_model.fit(test_input, test_target, verbose=0)  # it comes back compiled: training goes on


# Custom objects: registered, they need nothing at load time.
@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x**2


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def get_custom_model():
    inputs = keras.Input(shape=(4,))
    mid = CustomLayer(0.5)(inputs)
    outputs = layers.Dense(1, activation=custom_fn)(mid)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="mean_squared_error")
    return model


custom_input, custom_target = np.random.random((4, 4)), np.random.random((4, 1))
model = get_custom_model()
model.fit(custom_input, custom_target, verbose=0)
model.save(out / "custom_model.keras")
reconstructed_model = keras.models.load_model(out / "custom_model.keras")
np.testing.assert_allclose(model.predict(custom_input, verbose=0),
                           reconstructed_model.predict(custom_input, verbose=0), rtol=1e-6)
custom_prediction = reconstructed_model.predict(custom_input, verbose=0)


# Unregistered objects are passed at load time, as custom_objects or in a custom_object_scope.
class UnregisteredLayer(layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


def cube(x):
    return x**3


inputs = keras.Input(shape=(4,))
outputs = layers.Dense(1, activation=cube)(UnregisteredLayer(0.5)(inputs))
unregistered = keras.Model(inputs, outputs)
unregistered.save(out / "unregistered.keras")
loaded = keras.models.load_model(out / "unregistered.keras",
                                 custom_objects={"UnregisteredLayer": UnregisteredLayer, "cube": cube})
with keras.saving.custom_object_scope({"UnregisteredLayer": UnregisteredLayer, "cube": cube}):
    loaded_in_scope = keras.models.load_model(out / "unregistered.keras")
np.testing.assert_allclose(loaded.predict(custom_input, verbose=0), loaded_in_scope.predict(custom_input, verbose=0))

# The compile settings as plain data, and back.
compiled_twin = get_model()
compiled_twin.compile_from_config(reconstructed_model.get_compile_config())

# Config-only saving: the architecture without the weights.
layer = layers.Dense(3, activation="relu")
layer_config = keras.saving.serialize_keras_object(layer)
new_layer = keras.saving.deserialize_keras_object(layer_config)
sequential = keras.Sequential([keras.Input((32,)), layers.Dense(1)])
new_sequential = keras.Sequential.from_config(sequential.get_config())
inputs = keras.Input((32,))
functional = keras.Model(inputs, layers.Dense(1)(inputs))
new_functional = keras.Model.from_config(functional.get_config())
json_config = sequential.to_json()
from_json = keras.models.model_from_json(json_config)


# A subclassed model is saved through its get_config.
@keras.saving.register_keras_serializable(package="my_package")
class ThreeLayerMLP(keras.Model):
    def __init__(self, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = hidden_units
        self.dense_layers = [layers.Dense(u) for u in hidden_units]

    def call(self, inputs):
        x = inputs
        for dense in self.dense_layers:
            x = dense(x)
        return x

    def get_config(self):
        return {"hidden_units": self.hidden_units}


mlp = ThreeLayerMLP([64, 64, 10])
mlp(np.zeros((1, 32), dtype="float32"))
serialized_mlp = keras.saving.serialize_keras_object(mlp)
deserialized_mlp = keras.saving.deserialize_keras_object(serialized_mlp, custom_objects={"ThreeLayerMLP": ThreeLayerMLP})
mlp.save(out / "mlp.keras")  # its class (registered) and get_config, and its weights by attribute, as Keras
reloaded_mlp = keras.models.load_model(out / "mlp.keras")
mlp_input = np.random.random((2, 32)).astype("float32")
np.testing.assert_allclose(mlp.predict(mlp_input, verbose=0), reloaded_mlp.predict(mlp_input, verbose=0), rtol=1e-6)


# Weights in memory: from one layer (or model) of the same architecture to another.
def create_layer():
    layer = layers.Dense(64, activation="relu", name="dense_2")
    layer.build((None, 784))
    return layer


layer_1, layer_2 = create_layer(), create_layer()
layer_2.set_weights(layer_1.get_weights())


def create_functional_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")


functional_model = create_functional_model()
functional_model.save_weights(out / "pretrained.weights.h5")
pretrained_model = create_functional_model()
pretrained_model.load_weights(out / "pretrained.weights.h5")


class SubclassedModel(keras.Model):
    def __init__(self, output_dim, name=None):
        super().__init__(name=name)
        self.output_dim = output_dim
        self.dense_1 = layers.Dense(64, activation="relu", name="dense_1")
        self.dense_2 = layers.Dense(64, activation="relu", name="dense_2")
        self.dense_3 = layers.Dense(output_dim, name="predictions")

    def call(self, inputs):
        return self.dense_3(self.dense_2(self.dense_1(inputs)))

    def get_config(self):
        return {"output_dim": self.output_dim, "name": self.name}


subclassed_model = SubclassedModel(10)
subclassed_model(np.ones((1, 784), dtype="float32"))  # call it once to create its weights
subclassed_model.set_weights(functional_model.get_weights())
probe = np.random.random((3, 784)).astype("float32")
np.testing.assert_allclose(subclassed_model.predict(probe, verbose=0), functional_model.predict(probe, verbose=0),
                           rtol=1e-5, atol=1e-6)

# A layer without weights changes nothing in the order of the weights.
inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
x = layers.Dropout(0.5)(x)
with_dropout = keras.Model(inputs=inputs, outputs=layers.Dense(10, name="predictions")(x))
with_dropout.set_weights(functional_model.get_weights())

# Weights on disk, and transfer learning: a sub-model's weights into a new model with another head.
sequential_model = keras.Sequential([keras.Input(shape=(784,), name="digits"),
                                     layers.Dense(64, activation="relu", name="dense_1"),
                                     layers.Dense(64, activation="relu", name="dense_2"),
                                     layers.Dense(10, name="predictions")])
sequential_model.save_weights(out / "my_model.weights.h5")
sequential_model.load_weights(out / "my_model.weights.h5")

pretrained = keras.Model(functional_model.inputs, functional_model.layers[-1].input, name="pretrained_model")
pretrained.save_weights(out / "pretrained_model.weights.h5")
model = keras.Sequential([keras.Input(shape=(784,), name="digits"),
                          layers.Dense(64, activation="relu", name="dense_1"),
                          layers.Dense(64, activation="relu", name="dense_2")])
model.load_weights(out / "pretrained_model.weights.h5")
model.add(layers.Dense(5, name="predictions"))
transferred = np.allclose(model.layers[0].get_weights()[0], functional_model.layers[1].get_weights()[0])
print("transferred the pretrained weights:", transferred)

# Exporting a TensorFlow SavedModel for serving is Keras-with-TensorFlow only: meddl says so.
try:
    functional_model.export(out / "exported")
except keras.MeddlError as error:
    export_error = str(error)
    print("export:", export_error)
