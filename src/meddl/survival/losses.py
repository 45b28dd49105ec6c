"""Survival losses: the Cox partial likelihood (Efron / Breslow ties) and the logistic-hazard likelihood.

Both come as a function plus an ``nn.Module`` (as pycox does) and check the
shapes of their tensors, saying which tensor is wrong and what shape was needed.

Cox negative partial log-likelihood of log-risk scores η, normalised by the
number of events d (Efron's handling of ties; Breslow's drops the ``l/d_t`` term)::

    -1/d · Σ_t [ Σ_{i∈D_t} η_i − Σ_{l=0}^{d_t−1} log( Σ_{j: T_j ≥ t} e^{η_j} − l/d_t · Σ_{i∈D_t} e^{η_i} ) ]

where D_t are the d_t events at time t. Computed with one sort per batch and
cumulative log-sum-exp (no loop over samples); a batch without events gives 0
with a zero gradient.

Example:
    >>> import torch
    >>> from meddl.survival.losses import cox_ph_loss
    >>> log_risk = torch.tensor([0.5, -0.2, 0.1])
    >>> round(float(cox_ph_loss(log_risk, torch.tensor([1.0, 2.0, 2.0]), torch.tensor([1.0, 1.0, 0.0]))), 4)
    0.8138
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from meddl.errors import DataError, MeddlError

__all__ = [
    "TIES",
    "cox_ph_loss",
    "CoxPHLoss",
    "logistic_hazard_loss",
    "LogisticHazardLoss",
    "make_cuts",
    "discretize",
]

TIES = ("efron", "breslow")


def _vector(tensor: torch.Tensor, name: str, n: int | None, owner: str) -> torch.Tensor:
    """Accept shape (n,) or (n, 1); anything else is an error naming ``name``."""
    if not isinstance(tensor, torch.Tensor):
        raise DataError(f"{owner} needs '{name}' as a torch.Tensor; got {type(tensor).__name__}.")
    if tensor.dim() == 2 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    if tensor.dim() != 1 or (n is not None and tensor.shape[0] != n):
        needed = "(batch,) or (batch, 1)" if n is None else f"({n},) or ({n}, 1)"
        raise DataError(f"{owner} needs '{name}' of shape {needed}; got shape {tuple(tensor.shape)}.")
    return tensor


def cox_ph_loss(log_risk: torch.Tensor, durations: torch.Tensor, events: torch.Tensor,
                ties: str = "efron") -> torch.Tensor:
    """Negative Cox partial log-likelihood per event (scalar tensor).

    Args:
        log_risk: log-risk scores η, shape (n,) or (n, 1) (higher = earlier event).
        durations: event or censoring times, shape (n,).
        events: 1 = event, 0 = censored, shape (n,).
        ties: ``"efron"`` (default, accurate with many ties) or ``"breslow"``.

    Returns:
        The loss divided by the number of events; ``0`` (with a zero gradient) when the batch has none.
    """
    if ties not in TIES:
        raise MeddlError(f"The 'ties' parameter of cox_ph_loss must be one of {TIES}. Got {ties!r} instead.")
    eta = _vector(log_risk, "log_risk", None, "cox_ph_loss")
    n = eta.shape[0]
    durations = _vector(durations, "durations", n, "cox_ph_loss")
    events = _vector(events, "events", n, "cox_ph_loss")
    if eta.dtype in (torch.float16, torch.bfloat16):
        eta = eta.float()
    events = events.to(eta.dtype)
    n_events = events.sum()
    if n == 0 or float(n_events) == 0.0:
        return eta.sum() * 0.0 + 0.0  # keeps the graph: a zero gradient, never NaN (and not -0.0)

    order = torch.argsort(durations, descending=True, stable=True)
    time_sorted, event_sorted, eta_sorted = durations[order], events[order], eta[order]
    # Groups of tied times; in descending order a time's risk set is everything up to its group's last row.
    _, group, counts = torch.unique_consecutive(time_sorted, return_inverse=True, return_counts=True)
    group_last = torch.cumsum(counts, 0) - 1
    log_risk_set = torch.logcumsumexp(eta_sorted, 0)[group_last][group]

    if ties == "breslow":
        log_denominator = log_risk_set
    else:
        n_groups = counts.shape[0]
        events_per_group = torch.zeros(n_groups, dtype=eta.dtype, device=eta.device).scatter_add(0, group, event_sorted)
        # log Σ_{i∈D_t} e^{η_i}, shifted by a per-group constant (detached: the shift does not change the value).
        masked = torch.where(event_sorted > 0, eta_sorted, torch.full_like(eta_sorted, -torch.inf)).detach()
        shift = torch.full((n_groups,), -torch.inf, dtype=eta.dtype, device=eta.device)
        shift = shift.scatter_reduce(0, group, masked, reduce="amax")
        shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
        tied_sum = torch.zeros(n_groups, dtype=eta.dtype, device=eta.device).scatter_add(
            0, group, event_sorted * torch.exp(eta_sorted - shift[group]))
        has_events = events_per_group > 0
        log_tied_sum = torch.log(torch.where(has_events, tied_sum, torch.ones_like(tied_sum))) + shift
        # Rank l of each event among the events of its time (0 .. d_t − 1).
        cumulative = torch.cumsum(event_sorted, 0)
        group_first = group_last - counts + 1
        before_group = (cumulative[group_first] - event_sorted[group_first])[group]
        rank = cumulative - 1 - before_group
        fraction = torch.where(event_sorted > 0, rank / events_per_group.clamp(min=1)[group], torch.zeros_like(rank))
        ratio = torch.exp(log_tied_sum[group] - log_risk_set).clamp(max=1.0)
        log_denominator = log_risk_set + torch.log1p(-fraction * ratio)
    log_likelihood = (event_sorted * (eta_sorted - log_denominator)).sum()
    return -log_likelihood / n_events


class CoxPHLoss(nn.Module):
    """``nn.Module`` form of :func:`cox_ph_loss`: ``loss(log_risk, durations, events)``."""

    def __init__(self, ties: str = "efron"):
        super().__init__()
        if ties not in TIES:
            raise MeddlError(f"The 'ties' parameter of CoxPHLoss must be one of {TIES}. Got {ties!r} instead.")
        self.ties = ties

    def forward(self, log_risk: torch.Tensor, durations: torch.Tensor, events: torch.Tensor) -> torch.Tensor:
        return cox_ph_loss(log_risk, durations, events, ties=self.ties)


# -- discrete time -----------------------------------------------------------
def make_cuts(durations: np.ndarray, events: np.ndarray, n_intervals: int) -> np.ndarray:
    """Cut points ``0 = τ_0 < τ_1 < … < τ_m`` at quantiles of the event times (m ≤ ``n_intervals``).

    τ_m is the last event time; interval j is ``(τ_j, τ_{j+1}]``. Tied quantiles are merged,
    so fewer intervals than asked come back when there are few distinct event times.
    """
    if isinstance(n_intervals, bool) or not isinstance(n_intervals, (int, np.integer)) or n_intervals < 1:
        raise MeddlError(f"The 'n_intervals' parameter must be an integer >= 1. Got {n_intervals!r} instead.")
    durations = np.asarray(durations, dtype=float)
    event_times = durations[np.asarray(events) > 0]
    if event_times.size == 0:
        raise DataError("Cannot place the time cuts: 'event' has no events (all samples are censored).")
    quantiles = np.quantile(event_times, np.linspace(0.0, 1.0, int(n_intervals) + 1)[1:])
    cuts = np.unique(np.concatenate([[0.0], quantiles]))
    if cuts.size < 2:  # every event at time 0
        cuts = np.array([0.0, max(float(durations.max()), 1.0)])
    return cuts


def discretize(durations: np.ndarray, events: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Interval index of each sample for :func:`logistic_hazard_loss`.

    An event at T goes to the interval ``(τ_j, τ_{j+1}]`` holding T (clamped to the last one).
    A censored sample counts as having survived the whole intervals that end at or before T:
    index = (number of cuts τ_k ≤ T, k ≥ 1) − 1, so −1 when censored before τ_1 (no information).
    """
    durations = np.asarray(durations, dtype=float)
    events = np.asarray(events) > 0
    upper = np.asarray(cuts, dtype=float)[1:]
    event_index = np.clip(np.searchsorted(upper, durations, side="left"), 0, upper.size - 1)
    censored_index = np.searchsorted(upper, durations, side="right") - 1
    return np.where(events, event_index, censored_index).astype(np.int64)


def logistic_hazard_loss(logits: torch.Tensor, interval_index: torch.Tensor, events: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the discrete-time logistic-hazard model, mean over samples.

    Gensheimer & Narasimhan (2019); pycox ``nll_logistic_hazard``. Sample i contributes
    ``Σ_{j ≤ k_i} BCE(logit_ij, 1[j = k_i and event_i])`` with k_i its interval index.

    Args:
        logits: hazard logits, shape (n, m) for m intervals.
        interval_index: interval of each sample from :func:`discretize`, shape (n,), in [-1, m).
        events: 1 = event, 0 = censored, shape (n,).
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise DataError(f"logistic_hazard_loss needs 'logits' of shape (batch, n_intervals); got {shape}.")
    n, m = logits.shape
    index = _vector(interval_index, "interval_index", n, "logistic_hazard_loss").long()
    events = _vector(events, "events", n, "logistic_hazard_loss")
    if n == 0:
        return logits.sum() * 0.0 + 0.0
    if bool((index < -1).any()) or bool((index >= m).any()):
        raise DataError(f"logistic_hazard_loss needs 'interval_index' in [-1, {m}) for {m} intervals; got values "
                        f"from {int(index.min())} to {int(index.max())}.")
    if logits.dtype in (torch.float16, torch.bfloat16):
        logits = logits.float()
    steps = torch.arange(m, device=logits.device)
    at_risk = (steps[None, :] <= index[:, None]).to(logits.dtype)
    target = ((steps[None, :] == index[:, None]) & (events[:, None] > 0)).to(logits.dtype)
    bce = nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return (bce * at_risk).sum() / n


class LogisticHazardLoss(nn.Module):
    """``nn.Module`` form of :func:`logistic_hazard_loss`."""

    def forward(self, logits: torch.Tensor, interval_index: torch.Tensor, events: torch.Tensor) -> torch.Tensor:
        return logistic_hazard_loss(logits, interval_index, events)
