"""The statements of keras.io's "The Sequential model" guide, in our own program, run on meddl.

Covers: making a Sequential model, calling it, its layers, add/pop, naming, building (input
shapes in advance or on first call), summary, the add()+summary() debugging workflow, feature
extraction with a Sequential model, and transfer learning by freezing layers.

Run: python examples/keras_style/sequential_model_guide.py [--epochs 3]
"""

import argparse

import numpy as np
from digits28 import load_data

import meddl as keras
from meddl import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

# A Sequential model is a plain stack of layers, each with one input and one output.
model = keras.Sequential(
    [
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ]
)
x = np.ones((3, 3), dtype="float32")
y = model(x)  # calling the model builds it and runs it (in inference mode)

# The same computation, layer by layer.
layer1, layer2, layer3 = model.layers
assert np.allclose(layer3(layer2(layer1(x))).detach().numpy(), y.detach().numpy())

# add() and pop().
model = keras.Sequential(name="my_sequential")
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(3, activation="relu"))
model.add(layers.Dense(4))
model.pop()
print("layers after pop():", len(model.layers))

# Layers create their weights on first use; an input shape given in advance builds them at once.
layer = layers.Dense(3)
print("weights before building:", layer.weights)
layer(np.ones((1, 4)))
print("weight shapes after building:", [tuple(w.shape) for w in layer.weights])

model = keras.Sequential([layers.Dense(2, activation="relu"), layers.Dense(3, activation="relu"), layers.Dense(4)])
model(np.ones((1, 4)))
print("model weights:", len(model.weights))
model.summary()

model = keras.Sequential()
model.add(keras.Input(shape=(4,)))
model.add(layers.Dense(2, activation="relu"))
model.summary()
print("layers (Input is not one of them):", [layer.name for layer in model.layers])

model = keras.Sequential()
model.add(layers.Dense(2, activation="relu", input_shape=(4,)))
model.build((None, 4))

# The debugging workflow: add layers and watch the output shapes.
model = keras.Sequential()
model.add(keras.Input(shape=(28, 28, 1)))
model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.MaxPooling2D(3))
model.summary()
model.add(layers.Conv2D(32, 3, activation="relu"))
model.add(layers.GlobalMaxPooling2D())
model.add(layers.Dense(10))

# Feature extraction: a model returning every layer's output, and one returning a single layer's.
initial_model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, 5, strides=2, activation="relu"),
        layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
        layers.Conv2D(32, 3, activation="relu"),
    ]
)
feature_extractor = keras.Model(inputs=initial_model.inputs, outputs=[layer.output for layer in initial_model.layers])
features = feature_extractor(np.ones((1, 28, 28, 1), dtype="float32"))
print("feature shapes:", [tuple(f.shape) for f in features])
intermediate = keras.Model(inputs=initial_model.inputs,
                           outputs=initial_model.get_layer(name="my_intermediate_layer").output)
print("intermediate features:", tuple(intermediate(np.ones((1, 28, 28, 1), dtype="float32")).shape))

# Transfer learning: train a small convnet on the digits, then freeze all but the last layer and fine-tune.
(x_train, y_train), _ = load_data()
x_train = (x_train.astype("float32") / 255)[..., None]
model = keras.Sequential(
    [
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(8, 3, strides=2, activation="relu"),
        layers.BatchNormalization(),
        layers.Conv2D(16, 3, strides=2, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, verbose=0)

for layer in model.layers[:-1]:
    layer.trainable = False
frozen_before = [w.copy() for layer in model.layers[:-1] for w in layer.get_weights()]
head_before = model.layers[-1].get_weights()[0].copy()
model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
model.summary()
history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, verbose=0)
frozen_after = [w for layer in model.layers[:-1] for w in layer.get_weights()]
frozen_unchanged = all(np.array_equal(a, b) for a, b in zip(frozen_before, frozen_after))
head_changed = not np.array_equal(head_before, model.layers[-1].get_weights()[0])
print("frozen weights unchanged:", frozen_unchanged, "- head trained:", head_changed)
print("fine-tuned accuracy:", round(history.history["accuracy"][-1], 3))
