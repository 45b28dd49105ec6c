"""LambdaCallback takes every hook Keras's does; a misspelt or unknown hook is refused, not silently ignored."""

import numpy as np
import pytest

import meddl
from meddl import callbacks, layers
from meddl.errors import MeddlError


def _fit(callback, epochs=2):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)).astype("float32"), rng.integers(0, 2, 40)
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=[callback])


def test_batch_hooks_run_with_running_logs():
    seen = []
    _fit(callbacks.LambdaCallback(on_train_batch_begin=lambda batch, logs: seen.append(("begin", batch)),
                                  on_train_batch_end=lambda batch, logs: seen.append(("end", batch, sorted(logs)))))
    assert seen[:2] == [("begin", 0), ("end", 0, ["accuracy", "loss"])]
    assert len(seen) == 2 * 3 * 2  # 40 rows in batches of 16: 3 batches, 2 epochs, begin and end


def test_keras_older_batch_names_by_keyword_run_too():
    batches = []
    _fit(callbacks.LambdaCallback(on_batch_end=lambda batch, logs: batches.append(batch)), epochs=1)
    assert batches == [0, 1, 2]


def test_a_misspelt_hook_is_refused_with_a_suggestion():
    with pytest.raises(MeddlError, match=r"\['on_epoch_ends'\], which are not callback hooks. Did you mean "
                                         r"'on_epoch_end'\?"):
        callbacks.LambdaCallback(on_epoch_ends=lambda epoch, logs: None)


def test_a_hook_that_is_not_a_function_is_refused():
    with pytest.raises(MeddlError, match="'on_epoch_end' parameter of LambdaCallback must be a function. Got int"):
        callbacks.LambdaCallback(on_epoch_end=3)


def test_an_evaluate_hook_is_refused_when_fit_starts():
    with pytest.raises(MeddlError, match="on_test_batch_end"):
        _fit(callbacks.LambdaCallback(on_test_batch_end=lambda batch, logs: None), epochs=1)
