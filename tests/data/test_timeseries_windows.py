"""Keras's timeseries_dataset_from_array: sliding windows over a recording, as Keras's documented examples."""

import numpy as np
import pytest

import meddl
from meddl import layers
from meddl.errors import ConfigError, DataError


def test_kerass_first_example_windows_with_sampling_rate_and_stride():
    loader = meddl.utils.timeseries_dataset_from_array(np.arange(100), None, sequence_length=10, sampling_rate=2,
                                                       sequence_stride=3, batch_size=1000)
    windows = next(iter(loader)).numpy()
    np.testing.assert_array_equal(windows[0], np.arange(0, 20, 2))
    np.testing.assert_array_equal(windows[1], np.arange(3, 23, 2))
    assert len(windows) == len(range(0, 100 - 19 + 1, 3)) and windows[-1][-1] == 99  # every window that fits


def test_kerass_second_example_predicts_the_next_value():
    data = np.arange(100)
    loader = meddl.utils.timeseries_dataset_from_array(data[:-10], data[10:], sequence_length=10, batch_size=16)
    inputs, targets = next(iter(loader))
    np.testing.assert_array_equal(inputs[0].numpy(), np.arange(10))
    assert int(targets[0]) == 10 and len(loader.dataset) == 81


def test_windows_of_vital_signs_train_a_recurrent_model():
    rng = np.random.default_rng(0)
    heart_rate = 70 + np.cumsum(rng.normal(0, 1, size=(600, 1)), axis=0).astype(np.float32)
    deteriorates = (np.roll(heart_rate[:, 0], -5) > heart_rate[:, 0] + 2).astype(np.int64)  # rises within 5 steps
    train = meddl.utils.timeseries_dataset_from_array((heart_rate - 70) / 10, deteriorates, sequence_length=12,
                                                      batch_size=32, shuffle=True, seed=0, end_index=500)
    val = meddl.utils.timeseries_dataset_from_array((heart_rate - 70) / 10, deteriorates, sequence_length=12,
                                                    batch_size=64, start_index=500)
    model = meddl.Sequential([meddl.Input((12, 1)), layers.GRU(8), layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(train, validation_data=val, epochs=2, verbose=0).history
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.predict(val).shape == (len(val.dataset), 2)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(targets=np.zeros(5)), DataError, r"one entry per row of 'data' \(20\); got 5"),
    (dict(sequence_length=0), ConfigError, "'sequence_length' parameter must be a positive integer"),
    (dict(sequence_length=30), DataError, "No window fits: a window spans 30 rows"),
    (dict(start_index=15, end_index=10), ConfigError, "0 <= start_index < end_index <= 20"),
])
def test_bad_arguments_are_named(kwargs, error, match):
    arguments = {"targets": None, "sequence_length": 5, **kwargs}
    with pytest.raises(error, match=match):
        meddl.utils.timeseries_dataset_from_array(np.zeros((20, 2)), **arguments)
