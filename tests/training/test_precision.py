"""Mixed precision: bf16/auto train and keep accuracy; auto restores the state it probed with."""

import numpy as np
import pytest
import torch

from meddl import Sequential
from meddl.layers import Dense
from meddl.training.precision import candidate_precisions, choose_precision


def learnable(n=600, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12)).astype(np.float32)
    return x, (x[:, :3].sum(axis=1) > 0).astype(int)


def train(precision):
    x, y = learnable()
    model = Sequential([Dense(32, activation="relu"), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"], precision=precision)
    model.fit(x[:400], y[:400], epochs=15, verbose=0, seed=0)
    return model, model.evaluate(x[400:], y[400:], return_dict=True)["accuracy"]


@pytest.mark.parametrize("precision", ["bf16", "auto"])
def test_mixed_precision_keeps_accuracy(precision):
    _, reference = train("fp32")
    model, accuracy = train(precision)
    assert accuracy >= reference - 0.03
    if precision == "auto":  # what this CPU offers (bf16 needs AVX512-BF16 or AMX)
        assert model.precision_used_ in candidate_precisions(torch.device("cpu"))
    else:  # asked for by name, it is used even where the CPU emulates it
        assert model.precision_used_ == "bf16"


def test_auto_probe_restores_weights_optimizer_and_randomness():
    x, y = learnable(64)
    model = Sequential([Dense(8, activation="relu", input_shape=(12,)), Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", precision="auto")
    loop = model._loop()
    before = [w.copy() for w in model.get_weights()]
    rng_before = torch.get_rng_state()
    batch = (torch.from_numpy(x), torch.from_numpy(y))
    chosen, timings = choose_precision(loop, batch)
    assert chosen in candidate_precisions(torch.device("cpu"))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert torch.equal(torch.get_rng_state(), rng_before)
    assert loop.optimizer.state_dict()["state"] == {}
