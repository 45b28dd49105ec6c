"""The order of History.history's keys and of the epoch's logs, as Keras's.

Checked against Keras 3.15.1 (torch backend); the test does not import Keras. Keras sorts each epoch's logs
by key before its callbacks see them, and History records keys in the order it first sees them: a value a callback
adds (ReduceLROnPlateau's ``learning_rate``) comes after the sorted ones, and validation run every few epochs
(``validation_freq``) adds its keys after those of the first epoch.
"""

import numpy as np

import meddl
from meddl import callbacks, layers


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 3)).astype(np.float32)
    return x, (x[:, :1] > 0).astype(np.float32)


def _model(metrics):
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=metrics)
    return model


def test_history_and_epoch_logs_are_in_keras_s_order():
    x, y = _data()
    seen = []
    history = _model(["accuracy", "mae"]).fit(
        x, y, batch_size=4, epochs=2, verbose=0, validation_data=(x[:6], y[:6]),
        callbacks=[callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(list(logs)))])
    keras_order = ["accuracy", "loss", "mae", "val_accuracy", "val_loss", "val_mae"]  # Keras 3.15.1's
    assert list(history.history) == keras_order
    assert seen == [keras_order] * 2


def test_values_added_by_callbacks_and_later_validation_come_after_as_in_keras():
    x, y = _data()
    model = _model([meddl.metrics.Recall(name="zz"), "accuracy", meddl.metrics.AUC(name="auc")])
    history = model.fit(x, y, batch_size=4, epochs=2, validation_split=0.3, validation_freq=2, verbose=0,
                        callbacks=[callbacks.ReduceLROnPlateau(monitor="loss")])
    # Keras 3.15.1's order for this fit
    assert list(history.history) == ["accuracy", "auc", "loss", "zz", "learning_rate",
                                     "val_accuracy", "val_auc", "val_loss", "val_zz"]


def test_a_model_with_several_outputs_keeps_keras_s_order():
    x, y = _data()
    inputs = layers.Input((3,))
    model = meddl.Model(inputs, [layers.Dense(1, name="b_out")(inputs),
                                 layers.Dense(1, activation="sigmoid", name="a_out")(inputs)])
    model.compile(optimizer="sgd", loss=["mse", "binary_crossentropy"], metrics=[["mae"], ["accuracy"]])
    history = model.fit(x, [y, y], batch_size=4, epochs=1, verbose=0, validation_data=(x, [y, y]))
    # Keras 3.15.1's order for this model
    assert list(history.history) == ["a_out_accuracy", "a_out_loss", "b_out_loss", "b_out_mae", "loss",
                                     "val_a_out_accuracy", "val_a_out_loss", "val_b_out_loss", "val_b_out_mae",
                                     "val_loss"]
