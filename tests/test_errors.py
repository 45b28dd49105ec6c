"""Every bad input named in the core issue gets a clear MeddlError (a ValueError)."""

import numpy as np
import pytest

from meddl import DataError, MeddlError, NotFittedError, Sequential
from meddl.layers import Conv2D, Dense, Flatten, Input


def cnn():
    model = Sequential([Conv2D(4, 3, input_shape=(28, 28, 1)), Flatten(), Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def classifier(outputs=3, activation="softmax", loss="sparse_categorical_crossentropy"):
    model = Sequential([Input(shape=(4,)), Dense(outputs, activation=activation)])
    model.compile(optimizer="adam", loss=loss)
    return model


X = np.random.default_rng(0).normal(size=(10, 4)).astype(np.float32)
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])


def test_meddl_error_is_a_value_error():
    assert issubclass(MeddlError, ValueError) and issubclass(DataError, MeddlError)


def test_image_without_channel_axis():
    with pytest.raises(DataError, match=r"expects 'x' of shape \(N, 28, 28, 1\) but got shape \(5, 28, 28\).*x\[..., None\]"):
        cnn().fit(np.zeros((5, 28, 28)), np.zeros(5), verbose=0)


def test_wrong_feature_count():
    with pytest.raises(DataError, match=r"expects 'x' of shape \(N, 4\) but got shape \(10, 5\)"):
        classifier().predict(np.zeros((10, 5)))


def test_x_y_length_mismatch():
    with pytest.raises(DataError, match="'x' and 'y' must have the same number of samples; got 10 and 9"):
        classifier().fit(X, Y[:9], verbose=0)


@pytest.mark.parametrize("where", ["x", "y"])
def test_nan_and_inf(where):
    x, y = X.copy(), Y.astype(np.float64)
    (x if where == "x" else y)[3] = np.nan
    with pytest.raises(DataError, match=f"'{where}' contains .* NaN or infinite values \\(first in row 3\\)"):
        classifier().fit(x, y, verbose=0)
    x[3] = np.inf if where == "x" else 0
    if where == "x":
        with pytest.raises(DataError, match="NaN or infinite"):
            classifier().predict(x)


def test_sparse_labels_out_of_range():
    with pytest.raises(DataError, match=r"'y' has labels outside \[0, 3\) for a model with 3 outputs: \[3, 7\]"):
        classifier().fit(X, np.array([0, 1, 2, 3, 7, 0, 1, 2, 0, 1]), verbose=0)
    with pytest.raises(DataError, match=r"labels outside \[0, 3\).*\[-1\]"):
        classifier().fit(X, -np.ones(10), verbose=0)


def test_non_integer_sparse_labels():
    with pytest.raises(DataError, match="must hold integer class labels"):
        classifier().fit(X, Y + 0.5, verbose=0)


def test_non_numeric_data():
    with pytest.raises(DataError, match="'x' must be numeric; got text values such as 'a'"):
        classifier().fit(np.array([["a", "b", "c", "d"]] * 10), Y, verbose=0)
    import pandas as pd

    frame = pd.DataFrame(X, columns=list("abcd")).assign(d="text")
    with pytest.raises(DataError, match=r"columns \['d'\] are not"):
        classifier().fit(frame, Y, verbose=0)


@pytest.mark.parametrize("kind, kwargs, message", [
    ("optimizer", {"optimizer": "adma", "loss": "mse"}, "Unknown optimizer 'adma'.*Did you mean 'adam'"),
    ("loss", {"loss": "binary_crossentropi"}, "Unknown loss 'binary_crossentropi'.*Did you mean 'binary_crossentropy'"),
    ("metric", {"loss": "mse", "metrics": ["acuracy"]}, "Unknown metric 'acuracy'.*Did you mean 'accuracy'"),
])
def test_unknown_names(kind, kwargs, message):
    with pytest.raises(MeddlError, match=message):
        Sequential([Dense(2)]).compile(**kwargs)


def test_use_before_build_or_compile():
    model = Sequential([Dense(3), Dense(2)])
    with pytest.raises(NotFittedError, match="not built yet.*Call fit"):
        model.predict(X)
    model.compile(loss="mse")
    with pytest.raises(NotFittedError, match="not built yet"):
        model.evaluate(X, np.zeros((10, 2)))
    with pytest.raises(NotFittedError, match="call compile"):
        Sequential([Dense(2, input_shape=(4,))]).fit(X, Y)


def test_wrong_output_size_for_the_loss():
    with pytest.raises(DataError, match=r"The model has 10 outputs but 'y' has shape \(10,\).*Dense\(1\)"):
        classifier(10, "softmax", "binary_crossentropy").fit(X, (Y > 0).astype(float), verbose=0)
    with pytest.raises(DataError, match="needs a model with one output per class"):
        classifier(1, "sigmoid", "sparse_categorical_crossentropy").fit(X, Y, verbose=0)
    with pytest.raises(DataError, match=r"one-hot 'y' of shape \(N, 3\).*sparse_categorical_crossentropy"):
        classifier(3, "softmax", "categorical_crossentropy").fit(X, Y, verbose=0)
    with pytest.raises(DataError, match=r"values in \[0, 1\]"):
        classifier(1, "sigmoid", "binary_crossentropy").fit(X, Y, verbose=0)


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "'epochs' parameter must be an integer >= 1. Got 0"),
    ({"batch_size": -2}, "'batch_size' parameter must be an integer >= 1. Got -2"),
    ({"validation_split": 1.5}, r"'validation_split' must be a float in \(0, 1\). Got 1.5"),
    ({"class_weight": "equal"}, "'class_weight' must be a dict"),
    ({"verbose": 5}, "'verbose' parameter must be 0, 1 or 2"),
])
def test_bad_fit_arguments(kwargs, message):
    with pytest.raises(MeddlError, match=message):
        classifier().fit(X, Y, **{"verbose": 0, **kwargs})


def test_bad_device_and_learning_rate():
    with pytest.raises(MeddlError, match="'device' must be"):
        Sequential([Dense(2)]).compile(loss="mse", device="tpu")
    with pytest.raises(MeddlError, match=r"'learning_rate' parameter of Adam must be a float in the range \(0, inf\). Got -1"):
        Sequential([Dense(2)]).compile(optimizer="adam", loss="mse", learning_rate=-1)


def test_diverging_training_is_reported():
    model = Sequential([Input(shape=(4,)), Dense(1)])
    model.compile(optimizer="sgd", loss="mse", learning_rate=1e6)
    with pytest.raises(MeddlError, match="training loss became"):
        model.fit(X * 1e3, np.ones(10) * 1e3, epochs=30, verbose=0)
