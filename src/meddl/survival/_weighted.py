"""Weighted forms of the survival metrics, for many bootstrap resamples at once.

A resample is a row of counts ``W[b, i]`` (how often sample i was drawn). Each
kernel returns the metric on ``np.repeat(arange(n), W[b])`` for every row b,
exactly as scikit-survival computes it on the repeated data (the censoring
weights are estimated once and held fixed, as scikit-survival does when given
``survival_train``); ``tests/survival/test_metrics.py`` checks the equality.

Pairwise metrics are computed in blocks of anchor rows (events or cases) so
memory stays at ``block × n`` while the work per block is one matrix product.
"""

from __future__ import annotations

import numpy as np

__all__ = ["weighted_concordance", "weighted_dynamic_auc", "weighted_brier_curves", "weighted_kaplan_meier_at"]

BLOCK = 256
TIED_TOL = 1e-8


def _pair_score(risk_anchor: np.ndarray, risk_other: np.ndarray) -> np.ndarray:
    """1 where the anchor has the higher risk, 0.5 for a tie (within ``TIED_TOL``), else 0; (k, n)."""
    difference = risk_anchor[:, None] - risk_other[None, :]
    return np.where(np.abs(difference) <= TIED_TOL, 0.5, (difference > 0).astype(float))


def weighted_concordance(time: np.ndarray, event: np.ndarray, risk: np.ndarray, anchor_weight: np.ndarray,
                         weights: np.ndarray) -> np.ndarray:
    """Concordance index for each row of ``weights`` (NaN where no comparable pair was drawn).

    Pairs (i, j) are comparable when i is an event and ``T_j > T_i`` (or ``T_j == T_i`` with j censored),
    as in scikit-survival; pair (i, j) counts ``anchor_weight[i]`` (1 for Harrell, IPCW² for Uno).
    """
    weights = np.atleast_2d(weights)
    numerator = np.zeros(weights.shape[0])
    denominator = np.zeros(weights.shape[0])
    anchors = np.flatnonzero(event & (anchor_weight > 0))
    for start in range(0, anchors.size, BLOCK):
        rows = anchors[start:start + BLOCK]
        comparable = (time[None, :] > time[rows, None]) | ((time[None, :] == time[rows, None]) & ~event[None, :])
        score = comparable * _pair_score(risk[rows], risk)
        anchor = weights[:, rows] * anchor_weight[rows]
        numerator += (anchor * (weights @ score.T)).sum(axis=1)
        denominator += (anchor * (weights @ comparable.T.astype(float))).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def weighted_dynamic_auc(time: np.ndarray, event: np.ndarray, risk_at_horizon: np.ndarray, ipcw: np.ndarray,
                         horizon: float, weights: np.ndarray) -> np.ndarray:
    """Cumulative/dynamic AUC at ``horizon`` (Uno 2007; scikit-survival's ``cumulative_dynamic_auc``).

    Cases (``T ≤ horizon``, event) weighted by their IPCW against controls (``T > horizon``).
    """
    weights = np.atleast_2d(weights)
    cases = np.flatnonzero((time <= horizon) & event)
    control = (time > horizon).astype(float)
    numerator = np.zeros(weights.shape[0])
    for start in range(0, cases.size, BLOCK):
        rows = cases[start:start + BLOCK]
        score = control[None, :] * _pair_score(risk_at_horizon[rows], risk_at_horizon)
        numerator += (weights[:, rows] * ipcw[rows] * (weights @ score.T)).sum(axis=1)
    denominator = (weights[:, cases] * ipcw[cases]).sum(axis=1) * (weights @ control)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def weighted_brier_curves(time: np.ndarray, event: np.ndarray, survival: np.ndarray, times: np.ndarray,
                          censoring_at_time: np.ndarray, censoring_at_grid: np.ndarray,
                          weights: np.ndarray) -> np.ndarray:
    """IPCW Brier score at each of ``times`` for each resample, shape (n_resamples, len(times)).

    ``survival`` is S(t | x_i) at ``times`` (n, len(times)); ``censoring_at_time`` = G(T_i) and
    ``censoring_at_grid`` = G(t) from the censoring Kaplan–Meier (0 means "no weight", as in scikit-survival).
    """
    weights = np.atleast_2d(weights)
    case = (time[:, None] <= times[None, :]) & event[:, None]
    control = time[:, None] > times[None, :]
    with np.errstate(divide="ignore"):
        inverse_at_time = np.where(censoring_at_time > 0, 1.0 / np.where(censoring_at_time > 0, censoring_at_time, 1),
                                   0.0)
        inverse_at_grid = np.where(censoring_at_grid > 0, 1.0 / np.where(censoring_at_grid > 0, censoring_at_grid, 1),
                                   0.0)
    contribution = (np.square(survival) * case * inverse_at_time[:, None]
                    + np.square(1.0 - survival) * control * inverse_at_grid[None, :])
    return (weights @ contribution) / weights.sum(axis=1, keepdims=True)


def weighted_kaplan_meier_at(time: np.ndarray, event: np.ndarray, horizon: float, weights: np.ndarray) -> np.ndarray:
    """Kaplan–Meier S(horizon) for each row of ``weights`` (held at its last value after the last time)."""
    weights = np.atleast_2d(weights)
    order = np.argsort(time, kind="stable")
    time, event, weights = time[order], event[order], weights[:, order]
    unique, first = np.unique(time, return_index=True)
    keep = unique <= horizon
    if not keep.any():
        return np.ones(weights.shape[0])
    at_risk = np.cumsum(weights[:, ::-1], axis=1)[:, ::-1][:, first]  # Σ_{T_j ≥ t} w_j at each distinct t
    deaths = np.add.reduceat(weights * event[None, :], first, axis=1)
    at_risk, deaths = at_risk[:, keep], deaths[:, keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(at_risk > 0, 1.0 - deaths / np.where(at_risk > 0, at_risk, 1.0), 1.0)
    return factor.prod(axis=1)
