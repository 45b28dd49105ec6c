"""Keras's pad_sequences and normalize, and padded visit codes through an Embedding + LSTM model."""

import numpy as np
import pytest

import meddl
from meddl import layers
from meddl.errors import DataError
from meddl.utils import normalize, pad_sequences

SEQUENCES = [[1], [2, 3], [4, 5, 6]]


@pytest.mark.parametrize("options, expected", [  # Keras's documented examples
    ({}, [[0, 0, 1], [0, 2, 3], [4, 5, 6]]),
    ({"value": -1}, [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]),
    ({"padding": "post"}, [[1, 0, 0], [2, 3, 0], [4, 5, 6]]),
    ({"maxlen": 2}, [[0, 1], [2, 3], [5, 6]]),
    ({"maxlen": 2, "truncating": "post", "padding": "post"}, [[1, 0], [2, 3], [4, 5]]),
])
def test_pad_sequences_as_keras_documents_it(options, expected):
    padded = pad_sequences(SEQUENCES, **options)
    assert padded.tolist() == expected and padded.dtype == np.int32


def test_pad_sequences_keeps_value_shapes_and_empty_sequences_and_refuses_cutting_lab_values():
    padded = pad_sequences([np.ones((2, 3)), [], np.zeros((1, 3))], dtype="float32")
    assert padded.shape == (3, 2, 3) and padded[1].sum() == 0 and padded[2, 0].sum() == 0
    assert pad_sequences([[7.4, 7.3], [7.1]], dtype="float32")[1].tolist() == pytest.approx([0.0, 7.1])
    with pytest.raises(DataError, match="sequence 0 holds non-integer values \\(such as 7.4\\).*dtype='float32'"):
        pad_sequences([[7.4, 7.3], [7.1]])
    with pytest.raises(DataError, match="'padding' parameter of pad_sequences must be 'pre' or 'post'"):
        pad_sequences(SEQUENCES, padding="both")
    with pytest.raises(DataError, match="item 1 is a single value"):
        pad_sequences([[1, 2], 3])
    with pytest.raises(DataError, match="the values of sequence 1 have shape \\(2,\\)"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 2))], dtype="float32")


def test_padded_visit_codes_train_an_embedding_and_lstm_model():
    rng = np.random.default_rng(0)
    visits = [list(rng.integers(1, 20, size=rng.integers(1, 12))) for _ in range(120)]
    labels = np.array([int(7 in visit) for visit in visits])
    x = pad_sequences(visits, maxlen=10)
    model = meddl.Sequential([layers.Input((10,), dtype="int32"), layers.Embedding(20, 8),
                              layers.LSTM(16), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=meddl.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(x, labels, epochs=20, batch_size=16, verbose=0, seed=0)
    assert labels.mean() < 0.3 and history.history["accuracy"][-1] > 0.9  # above the 0.77 of always "no"


def test_normalize_as_keras():
    np.testing.assert_allclose(normalize([[3.0, 4.0], [0.0, 0.0]]), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(normalize([[1.0, -3.0]], order=1), [[0.25, -0.75]])
    np.testing.assert_allclose(normalize([[3.0], [4.0]], axis=0), [[0.6], [0.8]])


def test_losses_by_kerass_class_names():
    assert type(meddl.losses.get("BinaryCrossentropy")) is meddl.losses.BinaryCrossentropy
    with pytest.raises(meddl.MeddlError, match="Did you mean 'BinaryCrossentropy'"):
        meddl.losses.get("BinaryCrossEntropy")
