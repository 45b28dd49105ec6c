"""The seed's second program, a CNN on 28×28×1 images, with only the imports changed.

Data: learnable synthetic images (a bright square whose position encodes the
class, on noise), so the accuracy printed at the end shows that the model learns.
"""

import os

import numpy as np

from meddl import Sequential
from meddl.layers import Conv2D, Dense, Flatten, MaxPooling2D

# -- learnable synthetic data (not part of the seed program) --
n = int(os.environ.get("MEDDL_EXAMPLE_SAMPLES", 3000))
rng = np.random.default_rng(0)


def make_images(count):
    labels = rng.integers(0, 10, count)
    images = rng.random((count, 28, 28, 1), dtype=np.float32) * 0.5
    for i, label in enumerate(labels):
        row, col = divmod(int(label), 5)
        images[i, 4 + 12 * row:12 + 12 * row, 1 + 5 * col:6 + 5 * col, 0] += 1.0
    return images, labels


x_train, y_train = make_images(n)
x_test, y_test = make_images(1000)

# -- the seed program --
model = Sequential()
model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
model.add(MaxPooling2D((2, 2)))
model.add(Conv2D(64, (3, 3), activation="relu"))
model.add(MaxPooling2D((2, 2)))
model.add(Flatten())
model.add(Dense(10, activation="softmax"))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, epochs=5, batch_size=32)
loss, accuracy = model.evaluate(x_test, y_test)
print(f"test accuracy: {accuracy:.3f} (chance: 0.100)")
