"""A simple convnet for handwritten digits, written the way the keras.io "Simple MNIST convnet" example
is: only the import differs (``import meddl as keras``). Data: scikit-learn's digits at 28×28.

Run: python examples/keras_style/mnist_convnet.py [--epochs 15]
"""

import argparse

import numpy as np
from digits28 import load_data

import meddl as keras
from meddl import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=15)
parser.add_argument("--train-samples", type=int, default=None, help="use only this many training images (quick runs)")
args = parser.parse_args()

# Prepare the data: scale to [0, 1], add the channel axis, one-hot encode the labels.
num_classes = 10
input_shape = (28, 28, 1)
(x_train, y_train), (x_test, y_test) = load_data()
x_train, y_train = x_train[:args.train_samples], y_train[:args.train_samples]
x_train = x_train.astype("float32") / 255
x_test = x_test.astype("float32") / 255
x_train = np.expand_dims(x_train, -1)
x_test = np.expand_dims(x_test, -1)
print("x_train shape:", x_train.shape)
print(x_train.shape[0], "train samples")
print(x_test.shape[0], "test samples")
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

# Build the model: two convolution blocks, dropout, a softmax classifier.
model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)
model.summary()

# Train, holding out 10% for validation.
batch_size = 128
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=args.epochs, validation_split=0.1, verbose=2)

# Evaluate on the test images.
score = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", score[0])
print("Test accuracy:", score[1])
