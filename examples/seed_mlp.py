"""The seed's first program, a Keras-style MLP, with only the imports changed.

Data: learnable synthetic samples (100 features, 10 classes given by a fixed
linear map), so the accuracy printed at the end shows that the model learns.
"""

import os

import numpy as np

from meddl import Sequential
from meddl.layers import Dense

# -- learnable synthetic data (not part of the seed program) --
n = int(os.environ.get("MEDDL_EXAMPLE_SAMPLES", 5000))
rng = np.random.default_rng(0)
projection = rng.normal(size=(100, 10))
x_train = rng.normal(size=(n, 100)).astype("float32")
y_train = (x_train @ projection).argmax(axis=1)
x_test = rng.normal(size=(1000, 100)).astype("float32")
y_test = (x_test @ projection).argmax(axis=1)

# -- the seed program --
model = Sequential()
model.add(Dense(64, activation="relu", input_dim=100))
model.add(Dense(64, activation="relu"))
model.add(Dense(10, activation="softmax"))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=10, batch_size=32)
loss, accuracy = model.evaluate(x_test, y_test)
print(f"test accuracy: {accuracy:.3f} (chance: 0.100)")
