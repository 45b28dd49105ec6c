"""The kinds of statements of keras.io's "The Functional API" guide, in our own program, run on meddl.

Covers: Input and layers called on symbolic tensors, Model(inputs, outputs), summary, plot_model,
training and evaluation, saving and loading, one graph for several models (encoder / autoencoder),
models called like layers, ensembling, several inputs and outputs, a small ResNet with Add,
shared layers, and feature extraction.

Run: python examples/keras_style/functional_api_guide.py [--epochs 2] [--out folder]
"""

import argparse
import pathlib
import tempfile

import numpy as np
from digits28 import load_data

import meddl as keras
from meddl import layers

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--out", default=None, help="folder for the saved model and drawings (default: a temporary one)")
args = parser.parse_args()
out = pathlib.Path(args.out or tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)

# A model is a graph of layers: start from an Input, call layers on it, then wrap inputs and outputs.
inputs = keras.Input(shape=(784,))
dense = layers.Dense(64, activation="relu")
x = dense(inputs)
x = layers.Dense(64, activation="relu")(x)
outputs = layers.Dense(10)(x)
model = keras.Model(inputs=inputs, outputs=outputs, name="digits_model")
model.summary()
keras.utils.plot_model(model, out / "digits_model.png")
print(keras.utils.plot_model(model, out / "digits_model_with_shapes.txt", show_shapes=True))

# Training, evaluation and inference work as for Sequential models.
(x_train, y_train), (x_test, y_test) = load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              optimizer=keras.optimizers.RMSprop(), metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, validation_split=0.2, verbose=0)
test_scores = model.evaluate(x_test, y_test, verbose=0)
print("Test loss:", test_scores[0], "- test accuracy:", test_scores[1])

# Save and load (a folder: architecture as JSON, weights as safetensors).
model.save(out / "digits_model")
del model
model = keras.models.load_model(out / "digits_model")
reloaded_accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
print("Reloaded accuracy:", reloaded_accuracy)

# One graph of layers, two models: an encoder and an autoencoder.
encoder_input = keras.Input(shape=(28, 28, 1), name="img")
x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
x = layers.Conv2D(32, 3, activation="relu")(x)
x = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(16, 3, activation="relu")(x)
encoder_output = layers.GlobalMaxPooling2D()(x)
encoder = keras.Model(encoder_input, encoder_output, name="encoder")
encoder.summary()
x = layers.Dense(49, activation="relu")(encoder_output)
decoder_output = layers.Reshape((28, 28, 1))(layers.Dense(784, activation="sigmoid")(x))
autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
autoencoder.summary()

# Models are callable like layers: a decoder model applied to the encoder's output.
decoder_input = keras.Input(shape=(16,), name="encoded_img")
x = layers.Dense(784, activation="sigmoid")(decoder_input)
decoder = keras.Model(decoder_input, layers.Reshape((28, 28, 1))(x), name="decoder")
autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
autoencoder = keras.Model(autoencoder_input, decoder(encoder(autoencoder_input)), name="autoencoder")
autoencoder.summary()


# Ensembling: several models averaged into one.
def get_model():
    model_input = keras.Input(shape=(128,))
    return keras.Model(model_input, layers.Dense(1)(model_input))


model1, model2, model3 = get_model(), get_model(), get_model()
ensemble_input = keras.Input(shape=(128,))
ensemble_output = layers.Average()([model1(ensemble_input), model2(ensemble_input), model3(ensemble_input)])
ensemble_model = keras.Model(inputs=ensemble_input, outputs=ensemble_output)

# Several inputs and outputs: a ticket's title, body and tags give a priority and a department.
num_tags, num_words, num_departments = 12, 1000, 4
title_input = keras.Input(shape=(10,), name="title")
body_input = keras.Input(shape=(30,), name="body")
tags_input = keras.Input(shape=(num_tags,), name="tags")
title_features = layers.LSTM(32)(layers.Embedding(num_words, 32)(title_input))
body_features = layers.LSTM(16)(layers.Embedding(num_words, 16)(body_input))
x = layers.Concatenate()([title_features, body_features, tags_input])
priority_pred = layers.Dense(1, name="priority")(x)
department_pred = layers.Dense(num_departments, name="department")(x)
ticket_model = keras.Model(inputs=[title_input, body_input, tags_input], outputs=[priority_pred, department_pred])
keras.utils.plot_model(ticket_model, out / "multi_input_and_output_model.png", show_shapes=True)
rng = np.random.default_rng(0)
title_data = rng.integers(num_words, size=(64, 10))
body_data = rng.integers(num_words, size=(64, 30))
tags_data = rng.integers(2, size=(64, num_tags)).astype("float32")
priority_targets = rng.random(size=(64, 1))
department_targets = rng.integers(2, size=(64, num_departments)).astype("float32")
ticket_model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                     loss={"priority": keras.losses.BinaryCrossentropy(from_logits=True),
                           "department": keras.losses.CategoricalCrossentropy(from_logits=True)},
                     loss_weights={"priority": 1.0, "department": 0.2})
ticket_history = ticket_model.fit({"title": title_data, "body": body_data, "tags": tags_data},
                                  {"priority": priority_targets, "department": department_targets},
                                  epochs=args.epochs, batch_size=32, verbose=0)
priority, department = ticket_model.predict({"title": title_data, "body": body_data, "tags": tags_data})
print("ticket outputs:", priority.shape, department.shape, "- loss:", ticket_history.history["loss"])

# A small ResNet: the Add layer makes the skip connections.
inputs = keras.Input(shape=(28, 28, 1), name="img")
x = layers.Conv2D(16, 3, activation="relu")(inputs)
x = layers.Conv2D(32, 3, activation="relu")(x)
block_1_output = layers.MaxPooling2D(3)(x)
x = layers.Conv2D(32, 3, activation="relu", padding="same")(block_1_output)
x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
block_2_output = layers.Add()([x, block_1_output])
x = layers.Conv2D(32, 3, activation="relu")(block_2_output)
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dense(64, activation="relu")(x)
x = layers.Dropout(0.5)(x)
outputs = layers.Dense(10)(x)
resnet = keras.Model(inputs, outputs, name="toy_resnet")
resnet.summary()
resnet.compile(optimizer=keras.optimizers.RMSprop(1e-3),
               loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["acc"])
resnet.fit(x_train.reshape(-1, 28, 28, 1)[:512], y_train[:512], batch_size=64, epochs=1, validation_split=0.2,
           verbose=0)

# Shared layers: one embedding for two text inputs.
shared_embedding = layers.Embedding(1000, 128)
text_input_a = keras.Input(shape=(12,), dtype="int32")
text_input_b = keras.Input(shape=(12,), dtype="int32")
encoded_input_a = shared_embedding(text_input_a)
encoded_input_b = shared_embedding(text_input_b)

# Feature extraction: a model returning every intermediate activation of another.
features_list = [layer.output for layer in resnet.layers]
feat_extraction_model = keras.Model(inputs=resnet.input, outputs=features_list)
features = feat_extraction_model(np.random.random((1, 28, 28, 1)).astype("float32"))
print("extracted", len(features), "feature maps")
