"""The IPM penalties: Sinkhorn ≈ exact Wasserstein-1; MMDs vanish for equal arms and grow with a shift."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from meddl.errors import ConfigError
from meddl.treatment import mmd_linear, mmd_rbf, sinkhorn_wasserstein
from meddl.treatment.balance import get_ipm


def _arms(shift: float, n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    control = rng.normal(size=(n, 2))
    treated = rng.normal(size=(n, 2)) + np.array([shift, 0.0])
    representation = torch.as_tensor(np.vstack([control, treated]), dtype=torch.float64)
    treatment = torch.as_tensor(np.r_[np.zeros(n), np.ones(n)])
    return control, treated, representation, treatment


@pytest.mark.parametrize("shift", [0.5, 1.0, 2.0])
def test_sinkhorn_approximates_exact_wasserstein(shift):
    control, treated, representation, treatment = _arms(shift)
    cost = cdist(treated, control)
    rows, cols = linear_sum_assignment(cost)
    exact = cost[rows, cols].mean()  # W1 between two equal-size empirical distributions
    approx = float(sinkhorn_wasserstein(representation, treatment, iterations=50))
    # Entropic smoothing overestimates a little; the approximation must still track W1 closely.
    assert exact * 0.9 < approx < exact * 1.35, (exact, approx)


@pytest.mark.parametrize("ipm", [sinkhorn_wasserstein, mmd_rbf, mmd_linear])
def test_penalties_grow_with_the_shift_and_have_gradients(ipm):
    values = [float(ipm(_arms(shift)[2], _arms(shift)[3])) for shift in (0.0, 1.0, 3.0)]
    assert values[0] < values[1] < values[2]
    representation, treatment = _arms(1.0)[2:]
    representation.requires_grad_(True)
    ipm(representation, treatment).backward()
    assert torch.isfinite(representation.grad).all() and representation.grad.abs().sum() > 0


def test_identical_arms_give_near_zero_mmd():
    points = torch.randn(30, 3, dtype=torch.float64)
    both = torch.cat([points, points])
    treatment = torch.cat([torch.zeros(30), torch.ones(30)])
    assert float(mmd_linear(both, treatment)) == pytest.approx(0.0, abs=1e-12)
    assert abs(float(mmd_rbf(both, treatment))) < 0.05


def test_linear_mmd_is_the_squared_mean_difference():
    _, _, representation, treatment = _arms(1.0)
    means = representation[treatment == 1].mean(0) - representation[treatment == 0].mean(0)
    assert float(mmd_linear(representation, treatment)) == pytest.approx(float((means**2).sum()))


@pytest.mark.parametrize("ipm", [sinkhorn_wasserstein, mmd_rbf, mmd_linear])
def test_one_arm_batch_gives_zero(ipm):
    representation = torch.randn(10, 2, requires_grad=True)
    value = ipm(representation, torch.ones(10))
    assert float(value.detach()) == 0.0
    value.backward()  # still part of the graph: a one-arm mini-batch must not break training


def test_unknown_ipm():
    with pytest.raises(ConfigError, match=r"Unknown ipm 'wasserstien'.*Did you mean 'wasserstein'\?"):
        get_ipm("wasserstien")
