"""TimeDistributed applies one layer, with one set of weights, to every step of a sequence."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError


def test_each_step_gets_the_same_layer():
    dense = layers.Dense(3)
    wrapped = layers.TimeDistributed(dense)
    x = torch.randn(4, 6, 5)
    y = wrapped(x)
    assert y.shape == (4, 6, 3)
    for step in range(6):
        torch.testing.assert_close(y[:, step], dense(x[:, step]))
    assert sum(p.numel() for p in wrapped.parameters()) == 5 * 3 + 3  # one kernel for all steps


def test_frames_of_a_clip_through_a_cnn_then_a_recurrent_layer_train_and_reload(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 40)  # 1: the clip brightens frame by frame, 0: it darkens
    trend = np.where(y == 1, 0.15, -0.15)[:, None] * np.arange(4)[None, :]
    x = (rng.random((40, 4, 10, 10, 1)) * 0.5 + trend[:, :, None, None, None]).astype("float32")
    model = meddl.Sequential([layers.Input((4, 10, 10, 1)), layers.TimeDistributed(layers.Conv2D(4, 3)),
                              layers.TimeDistributed(layers.GlobalAveragePooling2D()), layers.GRU(8),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer=meddl.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    assert model.layers[0].output_shape == (None, 4, 8, 8, 4) and model.layers[1].output_shape == (None, 4, 4)
    history = model.fit(x, y, epochs=25, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.8
    model.save(tmp_path / "model")
    np.testing.assert_array_equal(meddl.load_model(tmp_path / "model").predict(x), model.predict(x))


def test_time_distributed_mistakes_are_named():
    with pytest.raises(MeddlError, match="wraps a meddl layer"):
        layers.TimeDistributed(torch.nn.Linear(2, 2))
    with pytest.raises(MeddlError, match="at least two axes"):
        meddl.Sequential([layers.Input((5,)), layers.TimeDistributed(layers.Dense(2))])
    with pytest.raises(MeddlError, match=r"unexpected argument\(s\) \['units'\]"):
        layers.TimeDistributed(layers.Dense(2), units=3)
