"""Accuracy of individual effect estimates when the true effects are known (simulations, benchmarks).

* √PEHE = sqrt(mean((τ̂ − τ)²)): the precision in estimating heterogeneous effects (Hill 2011).
* |ATE error| = |mean(τ̂) − mean(τ)|.
* √PEHE_nn (:func:`nearest_neighbour_pehe`): Shalit et al.'s stand-in for √PEHE when
  the true effects are unknown (real data, model selection).

"Within-sample" means the patients the estimator was fitted on (their factual
outcome was seen, the counterfactual was not); "out-of-sample" means new patients.
Intervals are percentile bootstrap 95% CIs over patients, in meddl's metrics.json
form ``{"value": float, "ci95": [lo, hi]}`` (``ci95`` is ``None`` with a ``reason``
below ``min_samples`` patients).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.neighbors import NearestNeighbors

from meddl.errors import ConfigError, DataError
from meddl.evaluation.bootstrap import iter_bootstrap_weights
from meddl.treatment._checks import check_features, check_vector, check_xty

__all__ = ["sqrt_pehe", "ate_error", "effect_metrics", "effect_metrics_by_sample", "nearest_neighbour_pehe"]


def _pair(true_effect: Any, predicted_effect: Any) -> tuple[np.ndarray, np.ndarray]:
    truth = check_vector(true_effect, "true_effect")
    predicted = check_vector(predicted_effect, "predicted_effect", len(truth), x_name="true_effect")
    if len(truth) == 0:
        raise DataError("'true_effect' is empty; at least one patient is needed.")
    return truth, predicted


def sqrt_pehe(true_effect: Any, predicted_effect: Any) -> float:
    """Root of the precision in estimating heterogeneous effects, sqrt(mean((τ̂ − τ)²)).

    >>> sqrt_pehe([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]) == (4 / 3) ** 0.5
    True
    """
    truth, predicted = _pair(true_effect, predicted_effect)
    return float(np.sqrt(np.mean((predicted - truth) ** 2)))


def ate_error(true_effect: Any, predicted_effect: Any) -> float:
    """Absolute error of the average effect, |mean(τ̂) − mean(τ)|.

    >>> ate_error([1.0, 2.0, 3.0], [2.0, 2.0, 2.0])
    0.0
    """
    truth, predicted = _pair(true_effect, predicted_effect)
    return float(abs(predicted.mean() - truth.mean()))


def nearest_neighbour_pehe(x: Any, t: Any, y: Any, predicted_effect: Any) -> float:
    """√PEHE against matched effects: sqrt(mean((τ̂_i − τ_nn,i)²)) (Shalit, Johansson & Sontag 2017, PEHE_nn).

    ``τ_nn,i = y_i − y_j`` for a treated patient ``i`` (``y_j − y_i`` for a control), ``j`` the
    nearest patient of the other arm (Euclidean distance in ``x``; standardise ``x`` first). It needs
    only observed outcomes, so it can score estimators where the true effects are unknown: Shalit
    et al. chose their IHDP hyperparameters with it. The matched effect carries two patients' outcome
    noise and the match's distance, the same for every estimator scored on the same patients, so it
    ranks estimators by how close their effects are to the truth; it is not an estimate of √PEHE
    itself (it is larger). ``meddl tune`` minimises it for treatment runs
    (:mod:`meddl.studies.objective`); measured on simulated IHDP draws in ``bench/treatment_selection.py``.

    >>> round(nearest_neighbour_pehe([[0.0], [0.1], [5.0], [5.2]], [1, 0, 1, 0], [3.0, 1.0, 9.0, 8.0],
    ...                              [2.0, 2.0, 1.0, 1.0]), 3)
    0.0

    Raises:
        DataError: ``t`` is not 0/1 or has one arm only, lengths differ, or values are not finite.
    """
    x, t, y = check_xty(x, t, y)
    predicted = check_vector(predicted_effect, "predicted_effect", len(x))
    matched = np.empty(len(x))
    for arm in (0, 1):
        own, other = np.flatnonzero(t == arm), np.flatnonzero(t != arm)
        nearest = NearestNeighbors(n_neighbors=1).fit(x[other]).kneighbors(x[own], return_distance=False)[:, 0]
        difference = y[own] - y[other[nearest]]
        matched[own] = difference if arm == 1 else -difference
    return float(np.sqrt(np.mean((predicted - matched) ** 2)))


def effect_metrics(true_effect: Any, predicted_effect: Any, *, n_resamples: int = 1000, seed: int = 0,
                   min_samples: int = 10) -> dict[str, Any]:
    """√PEHE and |ATE error| with percentile bootstrap 95% CIs over patients.

    Returns:
        ``{"sqrt_pehe": {"value", "ci95"}, "ate_error": {"value", "ci95"}, "n": N}``.
    """
    truth, predicted = _pair(true_effect, predicted_effect)
    if isinstance(min_samples, bool) or not isinstance(min_samples, (int, np.integer)) or min_samples < 1:
        raise ConfigError(f"The 'min_samples' parameter of effect_metrics must be an int in the range [1, inf). "
                          f"Got {min_samples!r} instead.")
    error = predicted - truth
    n = len(error)
    results: dict[str, Any] = {"sqrt_pehe": {"value": sqrt_pehe(truth, predicted)},
                               "ate_error": {"value": ate_error(truth, predicted)}, "n": n}
    if n < min_samples:
        for name in ("sqrt_pehe", "ate_error"):
            results[name].update(ci95=None, reason=f"only {n} patients (fewer than {min_samples}): no bootstrap interval.")
        return results
    pehe, ate = [], []
    for weights in iter_bootstrap_weights(n, n_resamples=n_resamples, seed=seed):
        pehe.append(np.sqrt(weights @ error**2 / n))
        ate.append(np.abs(weights @ error / n))
    for name, values in (("sqrt_pehe", pehe), ("ate_error", ate)):
        if not values:  # n_resamples=0: point values only (e.g. tuning trials)
            results[name].update(ci95=None, reason="no bootstrap resamples asked for (n_resamples=0).")
            continue
        low, high = np.percentile(np.concatenate(values), [2.5, 97.5])
        results[name]["ci95"] = [float(low), float(high)]
    return results


def effect_metrics_by_sample(estimator: Any, *, within: tuple[Any, Any], out_of_sample: tuple[Any, Any],
                             n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """:func:`effect_metrics` of a fitted estimator within-sample and out-of-sample.

    Args:
        within: ``(x, true_effect)`` of the patients the estimator was fitted on.
        out_of_sample: ``(x, true_effect)`` of patients it has not seen.

    Returns:
        ``{"within_sample": {...}, "out_of_sample": {...}}``.
    """
    results = {}
    for name, pair in (("within_sample", within), ("out_of_sample", out_of_sample)):
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ConfigError(f"The '{name if name != 'within_sample' else 'within'}' argument of "
                              f"effect_metrics_by_sample must be a pair (x, true_effect). Got {type(pair).__name__}.")
        x = check_features(pair[0])
        results[name] = effect_metrics(pair[1], estimator.predict_effect(x), n_resamples=n_resamples, seed=seed)
    return results
