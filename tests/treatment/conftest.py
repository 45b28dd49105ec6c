"""Shared data and settings for the treatment tests: a known effect τ(x) = 1 + 2·x0 under confounding."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

#: Small networks keep each neural fit to about a second on two CPU cores.
SMALL_NETWORK = {"representation_units": (32, 32), "head_units": (16,), "batch_size": 64, "max_epochs": 150,
                 "patience": 15, "weight_decay": 1e-3, "random_state": 0}


def true_effect(x: np.ndarray) -> np.ndarray:
    return 1.0 + 2.0 * x[:, 0]


def make_dataset(n: int = 800, *, seed: int = 0, binary: bool = False, noise: float = 0.5) -> dict[str, np.ndarray]:
    """Confounded data: x0 drives both the treatment choice and the size of the effect.

    Continuous: y = x1 + 0.5·x2 + t·(1 + 2·x0) + noise. Binary: y ~ Bernoulli(sigmoid(0.5·x1 + t·(1 + 2·x0)))
    with the effect then a risk difference.
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    propensity = 1.0 / (1.0 + np.exp(-(0.8 * x[:, 0] - 0.4 * x[:, 1])))
    t = rng.binomial(1, propensity)
    if binary:
        logit0 = 0.5 * x[:, 1] - 0.5
        mu0 = 1.0 / (1.0 + np.exp(-logit0))
        mu1 = 1.0 / (1.0 + np.exp(-(logit0 + true_effect(x))))
        y = rng.binomial(1, np.where(t == 1, mu1, mu0)).astype(float)
    else:
        mu0 = x[:, 1] + 0.5 * x[:, 2]
        mu1 = mu0 + true_effect(x)
        y = np.where(t == 1, mu1, mu0) + rng.normal(scale=noise, size=n)
    return {"x": x, "t": t, "y": y, "mu0": mu0, "mu1": mu1, "tau": mu1 - mu0, "propensity": propensity}


def no_skill_pehe(data: dict[str, np.ndarray]) -> float:
    """√PEHE of predicting the true average effect for everyone (the baseline an estimator must beat)."""
    return float(np.sqrt(np.mean((data["tau"] - data["tau"].mean()) ** 2)))


@pytest.fixture(scope="session")
def dataset() -> dict[str, np.ndarray]:
    return make_dataset()


@pytest.fixture(scope="session")
def test_dataset() -> dict[str, np.ndarray]:
    return make_dataset(400, seed=1)


@contextlib.contextmanager
def one_torch_thread():
    """One intra-op thread: these networks are tiny, and on a shared 2-core machine extra threads only wait."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@pytest.fixture(autouse=True)
def single_torch_thread():
    with one_torch_thread():
        yield
