"""The kinds of statements of keras.io's "Training & evaluation with the built-in methods" guide, in our
own program, run on meddl.

Covers: compile/fit/evaluate/predict with validation_data, string identifiers, custom losses (a function
and a ``losses.Loss`` subclass), a custom ``metrics.Metric`` (update_state / result / reset_state),
``add_loss`` in a layer, an endpoint layer that adds its own loss (compile without a loss),
validation_split, PyDataset and a PyTorch DataLoader, class_weight and sample_weight, a model with
two inputs and two outputs (loss and metric lists and dicts, loss_weights, a None loss), callbacks
(EarlyStopping, a custom per-batch callback, ModelCheckpoint, ReduceLROnPlateau,
LearningRateScheduler) and learning-rate schedules (ExponentialDecay and others).

Run: python examples/keras_style/training_guide.py [--epochs 2] [--out folder]
"""

import argparse
import os
import pathlib
import tempfile

import numpy as np
import torch
from digits28 import load_data

import meddl as keras
from meddl import layers, ops

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--out", default=None, help="folder for the checkpoints (default: a temporary one)")
args = parser.parse_args()
out = pathlib.Path(args.out or tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)
keras.utils.set_random_seed(0)

# MNIST-shaped digits: 784 pixels in [0, 1], labels 0-9 as float32 like the guide's.
(x_train, y_train), (x_test, y_test) = load_data()
x_train = x_train.reshape(-1, 784).astype("float32") / 255
x_test = x_test.reshape(-1, 784).astype("float32") / 255
y_train = y_train.astype("float32")
y_test = y_test.astype("float32")
x_val, y_val = x_train[-300:], y_train[-300:]  # hold out the last 300 for validation
x_train, y_train = x_train[:-300], y_train[:-300]


def get_uncompiled_model():
    inputs = keras.Input(shape=(784,), name="digits")
    x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def get_compiled_model():
    model = get_uncompiled_model()
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["sparse_categorical_accuracy"])
    return model


# The end-to-end workflow: objects for optimizer, loss and metrics; validation data as a tuple.
model = get_uncompiled_model()
model.compile(optimizer=keras.optimizers.RMSprop(), loss=keras.losses.SparseCategoricalCrossentropy(),
              metrics=[keras.metrics.SparseCategoricalAccuracy()])
history = model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, validation_data=(x_val, y_val), verbose=0)
print("history:", history.history)
results = model.evaluate(x_test, y_test, batch_size=128, verbose=0)
print("test loss, test acc:", results)
predictions = model.predict(x_test[:3], verbose=0)
print("predictions shape:", predictions.shape)

# Custom losses: a plain function of (y_true, y_pred), and a Loss subclass with a parameter.
def custom_mean_squared_error(y_true, y_pred):
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


class CustomMSE(keras.losses.Loss):
    def __init__(self, regularization_factor=0.1, name="custom_mse"):
        super().__init__(name=name)
        self.regularization_factor = regularization_factor

    def call(self, y_true, y_pred):
        mse = ops.mean(ops.square(y_true - y_pred), axis=-1)
        reg = ops.mean(ops.square(0.5 - y_pred), axis=-1)
        return mse + reg * self.regularization_factor


y_train_one_hot = ops.one_hot(y_train, num_classes=10)  # MSE needs one-hot targets
model = get_uncompiled_model()
model.compile(optimizer=keras.optimizers.Adam(), loss=custom_mean_squared_error)
function_loss = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0).history["loss"]
model = get_uncompiled_model()
model.compile(optimizer=keras.optimizers.Adam(), loss=CustomMSE())
class_loss = model.fit(x_train, y_train_one_hot, batch_size=64, epochs=1, verbose=0).history["loss"]


# A custom metric: state variables, update_state, result, reset_state.
class CategoricalTruePositives(keras.metrics.Metric):
    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.reshape(ops.argmax(y_pred, axis=1), (-1, 1))
        values = ops.cast(y_true, "int32") == ops.cast(y_pred, "int32")
        values = ops.cast(values, "float32")
        if sample_weight is not None:
            values = ops.multiply(values, ops.cast(sample_weight, "float32"))
        self.true_positives.assign_add(ops.sum(values))

    def result(self):
        return self.true_positives.value

    def reset_state(self):
        self.true_positives.assign(0.0)


model = get_uncompiled_model()
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(), metrics=[CategoricalTruePositives()])
# Labels as a column, (N, 1): update_state compares them with a column of predicted classes. (The guide passes
# (N,), which broadcasts to a (batch, batch) comparison in Keras too.)
true_positives = model.fit(x_train, y_train.reshape(-1, 1), batch_size=64, epochs=args.epochs,
                           verbose=0).history["categorical_true_positives"]
print("categorical true positives per epoch:", true_positives)


# A loss that needs no targets: a layer adds it with add_loss, and fit adds it to the compiled loss.
class ActivityRegularizationLayer(layers.Layer):
    def call(self, inputs):
        self.add_loss(ops.sum(inputs) * 0.1)
        return inputs  # pass-through


inputs = keras.Input(shape=(784,), name="digits")
x = layers.Dense(64, activation="relu", name="dense_1")(inputs)
x = ActivityRegularizationLayer()(x)
x = layers.Dense(64, activation="relu", name="dense_2")(x)
outputs = layers.Dense(10, name="predictions")(x)
model = keras.Model(inputs=inputs, outputs=outputs)
model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
regularized_loss = model.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0).history["loss"]
print("loss with the activity regularization:", regularized_loss)


# An endpoint layer takes targets and logits as inputs and adds its loss: compile needs no loss.
class LogisticEndpoint(layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weights))
        return ops.softmax(logits)


inputs = keras.Input(shape=(3,), name="inputs")
targets = keras.Input(shape=(10,), name="targets")
logits = layers.Dense(10)(inputs)
probabilities = LogisticEndpoint(name="predictions")(targets, logits)  # two tensors, two arguments
endpoint_model = keras.Model(inputs=[inputs, targets], outputs=probabilities)
endpoint_model.compile(optimizer="adam")  # no loss argument
data = {"inputs": np.random.random((3, 3)), "targets": np.random.random((3, 10))}
endpoint_loss = endpoint_model.fit(data, epochs=1, verbose=0).history["loss"]
print("endpoint loss:", endpoint_loss)

# A validation set held out from the training arrays.
model = get_compiled_model()
model.fit(x_train, y_train, batch_size=64, validation_split=0.2, epochs=1, verbose=0)


# Data from a PyDataset and from a PyTorch DataLoader.
class ExamplePyDataset(keras.utils.PyDataset):
    def __init__(self, x, y, batch_size, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return int(np.ceil(len(self.x) / float(self.batch_size)))

    def __getitem__(self, idx):
        rows = slice(idx * self.batch_size, (idx + 1) * self.batch_size)
        return self.x[rows], self.y[rows]


model = get_compiled_model()
model.fit(ExamplePyDataset(x_train, y_train, batch_size=32), epochs=1, verbose=0,
          validation_data=ExamplePyDataset(x_val, y_val, batch_size=32))
print("evaluate on a PyDataset:", model.evaluate(ExamplePyDataset(x_val, y_val, batch_size=32), verbose=0))


class ExampleTorchDataset(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


train_dataloader = torch.utils.data.DataLoader(ExampleTorchDataset(x_train, y_train), batch_size=32, shuffle=True)
val_dataloader = torch.utils.data.DataLoader(ExampleTorchDataset(x_val, y_val), batch_size=32, shuffle=True)
model = get_compiled_model()
model.fit(train_dataloader, epochs=1, validation_data=val_dataloader, verbose=0)

# Class weights and sample weights: class 5 counts twice.
class_weight = {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 2.0, 6: 1.0, 7: 1.0, 8: 1.0, 9: 1.0}
model = get_compiled_model()
model.fit(x_train, y_train, class_weight=class_weight, batch_size=64, epochs=1, verbose=0)
sample_weight = np.ones(shape=(len(y_train),))
sample_weight[y_train == 5] = 2.0
model = get_compiled_model()
model.fit(x_train, y_train, sample_weight=sample_weight, batch_size=64, epochs=1, verbose=0)

# Two inputs (an image and a time series) and two outputs (a score and a class). The guide leaves the series'
# length open, shape=(None, 10); meddl fixes every input dimension (and says so for None), so it is given.
image_input = keras.Input(shape=(32, 32, 3), name="img_input")
timeseries_input = keras.Input(shape=(20, 10), name="ts_input")
x1 = layers.GlobalMaxPooling2D()(layers.Conv2D(3, 3)(image_input))
x2 = layers.GlobalMaxPooling1D()(layers.Conv1D(3, 3)(timeseries_input))
x = layers.concatenate([x1, x2])
score_output = layers.Dense(1, name="score_output")(x)
class_output = layers.Dense(5, name="class_output")(x)
multi_model = keras.Model(inputs=[image_input, timeseries_input], outputs=[score_output, class_output])
keras.utils.plot_model(multi_model, out / "multi_input_and_output_model.txt", show_shapes=True)

img_data = np.random.random_sample(size=(100, 32, 32, 3))
ts_data = np.random.random_sample(size=(100, 20, 10))
score_targets = np.random.random_sample(size=(100, 1))
class_targets = np.random.random_sample(size=(100, 5))

multi_model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                    loss=[keras.losses.MeanSquaredError(), keras.losses.CategoricalCrossentropy()],
                    metrics=[[keras.metrics.MeanAbsolutePercentageError(), keras.metrics.MeanAbsoluteError()],
                             [keras.metrics.CategoricalAccuracy()]])
list_history = multi_model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1,
                               verbose=0)
print("two outputs, losses and metrics as lists:", sorted(list_history.history))
multi_model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                    loss={"score_output": keras.losses.MeanSquaredError(),
                          "class_output": keras.losses.CategoricalCrossentropy()},
                    metrics={"score_output": [keras.metrics.MeanAbsolutePercentageError(),
                                              keras.metrics.MeanAbsoluteError()],
                             "class_output": [keras.metrics.CategoricalAccuracy()]},
                    loss_weights={"score_output": 2.0, "class_output": 1.0})
dict_history = multi_model.fit({"img_input": img_data, "ts_input": ts_data},
                               {"score_output": score_targets, "class_output": class_targets},
                               batch_size=32, epochs=1, verbose=0)
print("two outputs, losses and metrics as dicts:", sorted(dict_history.history))
multi_model.compile(optimizer=keras.optimizers.RMSprop(1e-3), loss=[None, keras.losses.CategoricalCrossentropy()])
none_loss = multi_model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1,
                            verbose=0).history["loss"]
# Keras 3 (as meddl) wants every output in a loss dict: None for one that is not trained.
multi_model.compile(optimizer=keras.optimizers.RMSprop(1e-3),
                    loss={"score_output": None, "class_output": keras.losses.CategoricalCrossentropy()})
multi_model.fit([img_data, ts_data], [score_targets, class_targets], batch_size=32, epochs=1, verbose=0)

# Callbacks: stop early, record per-batch losses, checkpoint the best model, slow the learning rate.
model = get_compiled_model()
early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=1e-2, patience=2, verbose=1)
model.fit(x_train, y_train, epochs=20, batch_size=64, callbacks=[early_stopping], validation_split=0.2, verbose=0)
print("early stopping stopped after epoch", early_stopping.stopped_epoch)


class LossHistory(keras.callbacks.Callback):
    def on_train_begin(self, logs):
        self.per_batch_losses = []

    def on_batch_end(self, batch, logs):
        self.per_batch_losses.append(logs.get("loss"))


loss_history = LossHistory()
model.fit(x_train, y_train, epochs=1, batch_size=64, callbacks=[loss_history], verbose=0)
print("per-batch losses recorded:", len(loss_history.per_batch_losses))

model = get_compiled_model()
checkpoint = keras.callbacks.ModelCheckpoint(filepath=str(out / "mymodel_{epoch}.keras"), save_best_only=True,
                                             monitor="val_loss", verbose=1)
model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, callbacks=[checkpoint], validation_split=0.2,
          verbose=0)


def make_or_restore_model(checkpoint_dir):
    """Resume from the newest checkpoint, or start afresh."""
    checkpoints = [os.path.join(checkpoint_dir, name) for name in os.listdir(checkpoint_dir)]
    if checkpoints:
        return keras.models.load_model(max(checkpoints, key=os.path.getctime))
    return get_compiled_model()


checkpoint_dir = out / "ckpt"
checkpoint_dir.mkdir(exist_ok=True)
model = make_or_restore_model(checkpoint_dir)
model.fit(x_train, y_train, epochs=1, verbose=0, callbacks=[
    keras.callbacks.ModelCheckpoint(filepath=str(checkpoint_dir) + "/model-loss={loss:.2f}.keras", save_freq=10)])
restored = make_or_restore_model(checkpoint_dir)
restored_accuracy = restored.evaluate(x_test, y_test, verbose=0)[1]
print(len(os.listdir(checkpoint_dir)), "checkpoints; the newest restored has accuracy", restored_accuracy)

model = get_compiled_model()
plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=0, min_lr=1e-5)
scheduler = keras.callbacks.LearningRateScheduler(lambda epoch, lr: lr if epoch < 1 else lr * 0.9)
lr_history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=64, validation_split=0.2, verbose=0,
                       callbacks=[plateau, scheduler]).history["learning_rate"]
print("learning rates:", lr_history)

# Learning-rate schedules are passed to the optimizer as its learning rate.
lr_schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=100000, decay_rate=0.96, staircase=True)
optimizer = keras.optimizers.RMSprop(learning_rate=lr_schedule)
schedules = [lr_schedule,
             keras.optimizers.schedules.PiecewiseConstantDecay([10, 20], [0.1, 0.01, 0.001]),
             keras.optimizers.schedules.PolynomialDecay(0.1, decay_steps=100),
             keras.optimizers.schedules.InverseTimeDecay(0.1, decay_steps=10, decay_rate=0.5)]
model = get_uncompiled_model()
model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
model.fit(x_train, y_train, epochs=1, batch_size=64, verbose=0)
print("schedules at step 30:", [float(schedule(30)) for schedule in schedules])
