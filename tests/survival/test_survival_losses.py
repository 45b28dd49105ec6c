"""Cox partial likelihood (Efron, Breslow) and the logistic-hazard loss against hand computations."""

import math

import numpy as np
import pytest
import torch

from meddl.errors import DataError, MeddlError
from meddl.survival import CoxPHLoss, LogisticHazardLoss, cox_ph_loss, discretize, logistic_hazard_loss, make_cuts

# Ties of every kind: two events at t=2 with a censored sample at t=2, three events at t=5,
# a censored-only time (t=3), and a last event alone.
TIME = np.array([1.0, 2.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 6.0, 7.0])
EVENT = np.array([1, 1, 1, 0, 0, 1, 1, 1, 0, 1])
ETA = np.array([0.3, -0.5, 1.2, 0.1, -0.8, 0.6, 0.0, -1.1, 0.9, 0.4])


def hand_partial_likelihood(eta, time, event, ties):
    """Negative partial log-likelihood per event, written as the textbook double loop."""
    total = 0.0
    for t in np.unique(time[event == 1]):
        dead = [i for i in range(len(time)) if time[i] == t and event[i] == 1]
        risk = sum(math.exp(eta[j]) for j in range(len(time)) if time[j] >= t)
        tied = sum(math.exp(eta[i]) for i in dead)
        for rank, i in enumerate(dead):
            fraction = rank / len(dead) if ties == "efron" else 0.0
            total += eta[i] - math.log(risk - fraction * tied)
    return -total / event.sum()


def as_tensors(eta=ETA, time=TIME, event=EVENT):
    return (torch.tensor(eta, dtype=torch.float64), torch.tensor(time, dtype=torch.float64),
            torch.tensor(event, dtype=torch.float64))


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_loss_equals_hand_computation_with_ties(ties):
    loss = cox_ph_loss(*as_tensors(), ties=ties)
    assert float(loss) == pytest.approx(hand_partial_likelihood(ETA, TIME, EVENT, ties), rel=1e-12)


def test_efron_and_breslow_differ_with_ties_and_agree_without():
    assert float(cox_ph_loss(*as_tensors(), ties="efron")) != pytest.approx(float(cox_ph_loss(*as_tensors(),
                                                                                              ties="breslow")))
    distinct = np.arange(1.0, 11.0)
    efron = cox_ph_loss(*as_tensors(time=distinct), ties="efron")
    breslow = cox_ph_loss(*as_tensors(time=distinct), ties="breslow")
    assert float(efron) == pytest.approx(float(breslow), rel=1e-12)


def test_heavy_ties_every_sample_at_one_time():
    time, event = np.full(6, 4.0), np.ones(6, dtype=int)
    eta = np.linspace(-1, 1, 6)
    for ties in ("efron", "breslow"):
        loss = cox_ph_loss(*as_tensors(eta, time, event), ties=ties)
        assert float(loss) == pytest.approx(hand_partial_likelihood(eta, time, event, ties), rel=1e-12)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_loss_gradient_matches_finite_differences(ties):
    eta, time, event = as_tensors()
    eta = eta.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda e: cox_ph_loss(e, time, event, ties=ties), (eta,), eps=1e-6, atol=1e-7)


def test_cox_loss_is_invariant_to_row_order_and_to_a_constant_shift():
    eta, time, event = as_tensors()
    order = torch.randperm(len(eta))
    base = float(cox_ph_loss(eta, time, event))
    assert float(cox_ph_loss(eta[order], time[order], event[order])) == pytest.approx(base, rel=1e-12)
    assert float(cox_ph_loss(eta + 500.0, time, event)) == pytest.approx(base, rel=1e-9)  # no overflow


def test_batch_without_events_gives_zero_and_a_zero_gradient():
    eta, time, _ = as_tensors()
    eta = eta.clone().requires_grad_(True)
    loss = cox_ph_loss(eta, time, torch.zeros_like(time))
    loss.backward()
    value = float(loss.detach())
    assert value == 0.0 and math.copysign(1.0, value) > 0  # +0.0, not -0.0 or NaN
    assert torch.equal(eta.grad, torch.zeros_like(eta))


@pytest.mark.parametrize("event", [1.0, 0.0])
def test_batch_of_one_sample(event):
    eta = torch.tensor([0.7], requires_grad=True)
    loss = cox_ph_loss(eta, torch.tensor([3.0]), torch.tensor([event]))
    loss.backward()
    assert float(loss.detach()) == 0.0  # an event is its own whole risk set: log(e^η / e^η) = 0
    assert torch.isfinite(eta.grad).all()


def test_column_vector_log_risk_and_float32_inputs_are_accepted():
    eta, time, event = (t.float() for t in as_tensors())
    assert float(cox_ph_loss(eta[:, None], time, event)) == pytest.approx(float(cox_ph_loss(eta, time, event)))


def test_cox_module_equals_function():
    assert float(CoxPHLoss("breslow")(*as_tensors())) == float(cox_ph_loss(*as_tensors(), ties="breslow"))


@pytest.mark.parametrize("bad, name", [
    ((torch.zeros(10, 2), torch.zeros(10), torch.zeros(10)), "'log_risk' of shape"),
    ((torch.zeros(10), torch.zeros(9), torch.zeros(10)), "'durations' of shape (10,)"),
    ((torch.zeros(10), torch.zeros(10), torch.zeros(3, 3)), "'events' of shape (10,)"),
    ((np.zeros(10), torch.zeros(10), torch.zeros(10)), "'log_risk' as a torch.Tensor"),
])
def test_cox_loss_shape_errors_name_the_tensor(bad, name):
    with pytest.raises(DataError) as info:
        cox_ph_loss(*bad)
    assert name in str(info.value)


def test_unknown_ties_method_is_refused():
    with pytest.raises(MeddlError, match="'ties'.*'efron', 'breslow'.*'exact'"):
        cox_ph_loss(*as_tensors(), ties="exact")
    with pytest.raises(MeddlError, match="'ties'"):
        CoxPHLoss("exact")


# -- discrete time -----------------------------------------------------------------------------
def test_make_cuts_are_event_time_quantiles_from_zero():
    time = np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 100])
    event = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0])
    cuts = make_cuts(time, event, 4)
    np.testing.assert_allclose(cuts, [0.0, 2.75, 4.5, 6.25, 8.0])
    assert make_cuts(np.array([5.0, 5, 5]), np.array([1, 1, 1]), 10).tolist() == [0.0, 5.0]  # ties merged


def test_make_cuts_errors():
    with pytest.raises(MeddlError, match="'n_intervals'.*Got 0"):
        make_cuts(np.ones(3), np.ones(3), 0)
    with pytest.raises(DataError, match="no events"):
        make_cuts(np.ones(3), np.zeros(3), 5)


def test_discretize_events_and_censoring():
    cuts = np.array([0.0, 2.0, 4.0, 6.0])
    time = np.array([0.5, 2.0, 2.5, 7.0, 1.0, 2.0, 3.0, 9.0])
    event = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    # events: the interval (τ_j, τ_j+1] holding T (clamped); censored: whole intervals survived, minus one
    assert discretize(time, event, cuts).tolist() == [0, 0, 1, 2, -1, 0, 0, 2]


def hand_logistic_hazard(logits, index, event):
    total = 0.0
    for row in range(logits.shape[0]):
        for j in range(index[row] + 1):
            hazard = 1.0 / (1.0 + math.exp(-logits[row, j]))
            target = 1.0 if (j == index[row] and event[row] == 1) else 0.0
            total -= target * math.log(hazard) + (1 - target) * math.log(1 - hazard)
    return total / logits.shape[0]


def test_logistic_hazard_loss_equals_hand_computation():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4))
    index = np.array([0, 3, 2, -1, 1, 3])
    event = np.array([1, 0, 1, 0, 0, 1])
    loss = logistic_hazard_loss(torch.tensor(logits), torch.tensor(index), torch.tensor(event))
    assert float(loss) == pytest.approx(hand_logistic_hazard(logits, index, event), rel=1e-12)
    module = LogisticHazardLoss()(torch.tensor(logits), torch.tensor(index), torch.tensor(event))
    assert float(module) == float(loss)


def test_logistic_hazard_loss_errors():
    with pytest.raises(DataError, match="'logits' of shape \\(batch, n_intervals\\)"):
        logistic_hazard_loss(torch.zeros(4), torch.zeros(4), torch.zeros(4))
    with pytest.raises(DataError, match="'interval_index' in \\[-1, 3\\)"):
        logistic_hazard_loss(torch.zeros(2, 3), torch.tensor([0, 3]), torch.zeros(2))
    with pytest.raises(DataError, match="'events' of shape \\(2,\\)"):
        logistic_hazard_loss(torch.zeros(2, 3), torch.tensor([0, 1]), torch.zeros(5))
