"""ConvLSTM: with 1×1 kernels on 1×1 frames it is exactly an LSTM; it keeps the frames' layout, trains on clips,
and saves and reloads."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError


def test_a_one_by_one_conv_lstm_is_an_lstm_with_the_same_weights():
    lstm = layers.LSTM(4, return_sequences=True)
    x = torch.randn(3, 5, 2)
    expected = lstm(x)
    kernel, recurrent, bias = lstm.get_weights()
    conv = layers.ConvLSTM2D(4, 1, return_sequences=True)
    conv.build_for((5, 1, 1, 2))
    conv.set_weights([kernel.reshape(1, 1, 2, 16), recurrent.reshape(1, 1, 4, 16), bias])
    torch.testing.assert_close(conv(x.reshape(3, 5, 1, 1, 2))[:, :, 0, 0], expected, rtol=1e-5, atol=1e-6)


def test_shapes_states_and_a_clip_model_that_trains_and_reloads(tmp_path):
    layer = layers.ConvLSTM2D(3, 3, padding="same", return_state=True)
    sequence, hidden, cell = layer(torch.randn(2, 4, 6, 5, 1))
    assert sequence.shape == hidden.shape == cell.shape == (2, 6, 5, 3)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 48)
    frames = rng.normal(scale=0.3, size=(48, 4, 6, 6, 1)).astype("float32")
    frames[:, :, 2:4, 2:4, 0] += np.where(y == 1, 1.0, -1.0)[:, None, None, None] * np.arange(4)[None, :, None, None]
    model = meddl.Sequential([layers.Input((4, 6, 6, 1)), layers.ConvLSTM2D(4, 3, padding="same"),
                              layers.GlobalAveragePooling2D(), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=meddl.optimizers.Adam(0.02), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(frames, y, epochs=15, batch_size=16, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.9
    model.save(tmp_path / "model")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict(frames), model.predict(frames))


def test_conv_lstm_mistakes_are_named():
    with pytest.raises(MeddlError, match="does not support dropout"):
        layers.ConvLSTM2D(2, 3, dropout=0.2)
    with pytest.raises(MeddlError, match=r"expects sequences of shape \(steps, spatial, spatial, channels\)"):
        meddl.Sequential([layers.Input((6, 6, 1)), layers.ConvLSTM2D(2, 3)])
