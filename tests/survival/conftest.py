"""Shared synthetic survival data and small fitted models (fitted once per test process)."""

import numpy as np
import pytest


def nonlinear_survival_data(n: int, seed: int):
    """Covariates with a known non-linear log-risk η = 1.5·x0² + x1·x2; exponential times, ~20% censored."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    eta = 1.5 * x[:, 0] ** 2 + x[:, 1] * x[:, 2]
    event_time = rng.exponential(np.exp(-eta))
    censor_time = rng.exponential(2.0, size=n)
    return x, np.minimum(event_time, censor_time), (event_time <= censor_time).astype(int), eta


@pytest.fixture(scope="session")
def train_data():
    return nonlinear_survival_data(600, seed=0)


@pytest.fixture(scope="session")
def test_data():
    return nonlinear_survival_data(300, seed=1)


@pytest.fixture(scope="session")
def fitted_models(train_data):
    """One small fitted model of each kind, with a validation split (early stopping)."""
    from meddl.survival import DeepSurv, LinearCox, LogisticHazard

    x, time, event, _ = train_data
    return {
        "DeepSurv": DeepSurv(hidden_units=(32, 32), epochs=40, learning_rate=3e-3).fit(x, time, event, validation=0.25),
        "LogisticHazard": LogisticHazard(n_intervals=10, hidden_units=(32, 32), epochs=40).fit(
            x, time, event, validation=0.25),
        "LinearCox": LinearCox(l2=0.0).fit(x, time, event),
    }
