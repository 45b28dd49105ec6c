"""meddl.random: Keras 3's keras.random on torch. Seeds as in Keras (an integer: the same values; a
SeedGenerator: a reproducible stream), the distributions' moments, and keras.io's variational autoencoder
sampling layer trained as written there."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers, ops, random
from meddl.errors import MeddlError


def test_seeds_work_as_in_keras():
    torch.testing.assert_close(random.normal((3,), seed=7), random.normal((3,), seed=7))  # an int: the same
    stream = random.SeedGenerator(1337)
    first, second = random.uniform((3,), seed=stream), random.uniform((3,), seed=stream)
    assert not torch.equal(first, second)  # a generator: new values at every draw...
    again = random.SeedGenerator(1337)
    torch.testing.assert_close(random.uniform((3,), seed=again), first)  # ...reproducibly from its seed
    meddl.set_seed(0)
    unseeded = random.normal((3,))
    meddl.set_seed(0)
    torch.testing.assert_close(random.normal((3,)), unseeded)  # None: the global generator, which set_seed fixes
    assert random.SeedGenerator(5).get_config() == {"seed": 5}


def test_the_distributions_are_kerass():
    values = random.normal((20_000,), mean=2.0, stddev=3.0, seed=0)
    assert values.dtype == torch.float32
    assert float(values.mean()) == pytest.approx(2.0, abs=0.1) and float(values.std()) == pytest.approx(3.0, rel=0.05)
    bounded = random.uniform((20_000,), minval=-1.0, maxval=3.0, seed=1)
    assert float(bounded.min()) >= -1.0 and float(bounded.max()) < 3.0 and float(bounded.mean()) == pytest.approx(1.0, abs=0.05)
    truncated = random.truncated_normal((20_000,), mean=1.0, stddev=0.5, seed=2)
    assert float((truncated - 1.0).abs().max()) <= 1.0 + 1e-6  # within two standard deviations
    codes = random.randint((1000,), 2, 5, seed=3)
    assert codes.dtype == torch.int32 and set(codes.tolist()) == {2, 3, 4}
    picks = random.categorical(torch.tensor([[0.0, 20.0], [20.0, 0.0]]), 50, seed=4)
    assert picks.shape == (2, 50) and picks[0].eq(1).all() and picks[1].eq(0).all()
    dropped = random.dropout(torch.ones(4, 6), 0.5, noise_shape=(None, 1), seed=5)
    assert set(dropped.unique().tolist()) <= {0.0, 2.0} and all(len(set(row.tolist())) == 1 for row in dropped)
    assert random.dropout(torch.ones(3), 1.0).eq(0).all()  # Keras's rate 1: nothing kept
    shuffled = random.shuffle(torch.arange(10).reshape(5, 2), seed=6)
    assert sorted(shuffled[:, 0].tolist()) == [0, 2, 4, 6, 8] and (shuffled[:, 1] - shuffled[:, 0]).eq(1).all()


class Sampling(layers.Layer):
    """keras.io's 'Variational AutoEncoder': z = mean + exp(log_var / 2) · ε, with a KL loss (add_loss)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = random.SeedGenerator(1337)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        kl = -0.5 * ops.mean(ops.sum(1 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var), axis=1))
        self.add_loss(kl)
        epsilon = random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
        return z_mean + ops.exp(0.5 * z_log_var) * epsilon


def test_a_variational_autoencoder_trains_with_sampling_and_its_kl_loss():
    x = np.random.default_rng(0).normal(size=(256, 6)).astype("float32")
    inputs = meddl.Input((6,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    z = Sampling()([layers.Dense(2)(hidden), layers.Dense(2)(hidden)])
    autoencoder = meddl.Model(inputs, layers.Dense(6)(layers.Dense(8, activation="relu")(z)))
    autoencoder.compile(optimizer=meddl.optimizers.Adam(0.01), loss="mse")
    history = autoencoder.fit(x, x, epochs=15, batch_size=32, verbose=0, seed=0).history["loss"]
    assert history[-1] < 0.9 * history[0]
    assert not np.allclose(autoencoder.predict(x[:4]), autoencoder.predict(x[:4]))  # a new ε at every call


def test_mistakes_are_named():
    with pytest.raises(MeddlError, match="'seed' must be None, a non-negative integer or a meddl.random.SeedGenerator"):
        random.normal((2,), seed="abc")
    with pytest.raises(MeddlError, match="'shape' must be a tuple of integers"):
        random.normal("big")
    with pytest.raises(MeddlError, match="floating-point"):
        random.normal((2,), dtype="int32")
    with pytest.raises(MeddlError, match="'rate' of dropout must be in \\[0, 1\\]"):
        random.dropout(torch.ones(2), 1.5)
    with pytest.raises(MeddlError, match="logits of shape \\(batch, classes\\)"):
        random.categorical(torch.ones(3), 2)
    with pytest.raises(MeddlError, match="unexpected argument"):
        random.SeedGenerator(seed=1, backend="jax")
