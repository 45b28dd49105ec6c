"""Global importance: mean |attribution| and permutation importance, both with bootstrap 95% CIs.

* :func:`mean_abs_importance` summarises per-patient attributions: how much a
  column moves the prediction on average, in output units (e.g. probability).
* :func:`permutation_importance` (Breiman 2001) measures what the model loses
  when a column's values are shuffled across patients (AUROC drop, or loss
  increase) on labelled data -- the run's test split. Columns made of several
  features (one-hot levels, missing indicators) are shuffled together.

Confidence intervals are percentile bootstrap intervals over patients; the
permutation intervals reuse meddl's vectorised bootstrap weights, so each
resample compares the intact and the shuffled predictions on the same patients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from meddl.errors import ConfigError, DataError, unknown_name_error
from meddl.validation import check_positive_int, encode_labels
from meddl.evaluation.bootstrap import bootstrap_weights, resampled_metrics
from meddl.explain.checks import (OutputFunction, as_input_tensor, auto_batch_size, check_batch_size, check_seed,
                                   eval_mode)

__all__ = ["mean_abs_importance", "permutation_importance", "PERMUTATION_METRICS", "PROBLEMS"]

PERMUTATION_METRICS = ("auroc", "loss")
PROBLEMS = ("binary", "multiclass", "regression")
_EPS = 1e-7


def _interval(values: np.ndarray) -> tuple[float | None, float | None]:
    finite = values[np.isfinite(values)]
    if finite.size < 2:
        return None, None
    low, high = np.percentile(finite, [2.5, 97.5])
    return float(low), float(high)


def mean_abs_importance(attributions: Any, *, names: Sequence[str] | None = None, n_resamples: int = 200,
                        seed: int = 0) -> pd.DataFrame:
    """Mean absolute attribution per column, largest first, with a bootstrap 95% CI over rows.

    Args:
        attributions: a DataFrame (one column per feature) or an ``(n, d)`` array.
        names: column names for an array (default ``"0"``, ``"1"``, ...).
        n_resamples: bootstrap resamples of the rows (0: no interval).
        seed: seed of the resampling.

    Returns:
        A DataFrame with columns ``feature``, ``importance``, ``ci_low``, ``ci_high``.

    Example:
        >>> import pandas as pd
        >>> table = mean_abs_importance(pd.DataFrame({"age": [0.2, -0.4], "sex": [0.1, 0.0]}), n_resamples=0)
        >>> table[["feature", "importance"]].values.tolist()
        [['age', 0.30000000000000004], ['sex', 0.05]]
    """
    owner = "mean_abs_importance"
    n_resamples = check_positive_int(n_resamples, "n_resamples", owner, minimum=0)
    if isinstance(attributions, pd.DataFrame):
        names, values = [str(c) for c in attributions.columns], attributions.to_numpy(dtype=np.float64)
    else:
        values = np.asarray(attributions, dtype=np.float64)
        if values.ndim != 2:
            raise DataError(f"The 'attributions' parameter of {owner} must be 2-D (n, d); got shape {values.shape}.")
        names = [str(i) for i in range(values.shape[1])] if names is None else [str(n) for n in names]
    if values.shape[1] != len(names) or not len(values):
        raise DataError(f"The 'attributions' parameter of {owner} must have at least one row and one column per "
                        f"name ({len(names)}); got shape {values.shape}.")
    magnitude = np.abs(values)
    point = magnitude.mean(axis=0)
    rows = []
    weights = bootstrap_weights(len(values), n_resamples=n_resamples, seed=check_seed(seed, owner))
    resampled = weights @ magnitude / len(values) if n_resamples else np.zeros((0, len(names)))
    for j, name in enumerate(names):
        rows.append((name, float(point[j]), *_interval(resampled[:, j])))
    table = pd.DataFrame(rows, columns=["feature", "importance", "ci_low", "ci_high"])
    return table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def _predict(output: OutputFunction, x: torch.Tensor, rows: int) -> np.ndarray:
    with torch.no_grad():
        return torch.cat([output(x[s:s + rows]) for s in range(0, len(x), rows)]).double().numpy()


def _scores(raw: np.ndarray, problem: str) -> np.ndarray:
    """Model output (n, k) -> what the metrics take: P(positive) (n,), probabilities (n, k) or predictions (n,)."""
    if problem == "multiclass":
        return raw
    if problem == "binary" and raw.shape[1] == 2:
        return raw[:, 1]
    if raw.shape[1] != 1:
        raise DataError(f"For problem {problem!r}, 'f' must return one value per row (or two class probabilities for "
                        f"'binary'); got {raw.shape[1]} outputs.")
    return raw[:, 0]


def _losses(problem: str, y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    if problem == "regression":
        return (scores - y) ** 2
    if problem == "binary":
        p = np.clip(scores, _EPS, 1 - _EPS)
        return -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return -np.log(np.clip(scores[np.arange(len(y)), y], _EPS, 1.0))


def _metric(problem: str, metric: str, y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The metric for each row of ``weights``, oriented so that larger is better."""
    if metric == "auroc":
        return resampled_metrics(problem, y, scores, weights)["auroc"]
    return -(weights @ _losses(problem, y, scores)) / weights.sum(axis=1)


def permutation_importance(f: Callable[[torch.Tensor], torch.Tensor], x: Any, y: Any, *, problem: str,
                           groups: Sequence[str] | None = None, metric: str = "auroc", n_repeats: int = 5,
                           n_resamples: int = 200, seed: int = 0, batch_size: int | None = None) -> pd.DataFrame:
    """How much the model's ``metric`` worsens when each column is shuffled, with bootstrap 95% CIs.

    Args:
        f: the model output: probabilities ``(n, k)`` (or ``(n,)`` P(positive)) for
            classification, predictions ``(n,)`` for regression.
        x: features ``(n, d)`` (as the model takes them).
        y: true labels as class indices (classification) or numbers (regression).
        problem: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        groups: for each feature, the column it belongs to (features of one
            column are shuffled together); default: every feature alone.
        metric: ``"auroc"`` (drop in AUROC; classification) or ``"loss"``
            (increase in cross-entropy, or squared error for regression).
        n_repeats: shuffles per column (averaged).
        n_resamples: bootstrap resamples of the patients for the CI (0: none).
        seed: seed of the shuffles and the resampling.
        batch_size: rows per forward pass.

    Returns:
        A DataFrame, most important first: ``feature``, ``importance`` (metric
        lost; > 0 means the model uses the column), ``ci_low``, ``ci_high``,
        ``repeat_std`` (spread over shuffles), ``metric`` and ``reference``
        (the intact metric, as its usual value: AUROC or loss).

    Example:
        >>> import torch
        >>> x = torch.randn(200, 3, generator=torch.Generator().manual_seed(0))
        >>> y = (x[:, 0] > 0).long().numpy()
        >>> f = lambda z: torch.sigmoid(8 * z[:, 0])          # uses feature 0 only
        >>> table = permutation_importance(f, x, y, problem="binary", n_resamples=0)
        >>> table["feature"].tolist()[0], float(table["importance"].iloc[-1])
        ('0', 0.0)
    """
    owner = "permutation_importance"
    if problem not in PROBLEMS:
        raise unknown_name_error("problem", problem, PROBLEMS, error_class=ConfigError)
    if metric not in PERMUTATION_METRICS:
        raise unknown_name_error("permutation metric", metric, PERMUTATION_METRICS, error_class=ConfigError)
    if metric == "auroc" and problem == "regression":
        raise ConfigError(f"The 'metric' parameter of {owner} cannot be 'auroc' for a regression model (AUROC needs "
                          f"classes). Use metric='loss' (squared error).")
    n_repeats = check_positive_int(n_repeats, "n_repeats", owner)
    n_resamples = check_positive_int(n_resamples, "n_resamples", owner, minimum=0)
    seed = check_seed(seed, owner)
    inputs = as_input_tensor(x)
    if inputs.ndim != 2:
        raise DataError(f"The 'x' parameter of {owner} must be a feature matrix (n, d); got shape {tuple(inputs.shape)}.")
    labels = (encode_labels(y, None, "y") if problem != "regression" else np.asarray(y, dtype=np.float64).reshape(-1))
    if len(labels) != len(inputs):
        raise DataError(f"'x' and 'y' of {owner} must have the same number of rows; got {len(inputs)} and {len(labels)}.")
    sources = [str(i) for i in range(inputs.shape[1])] if groups is None else [str(g) for g in groups]
    if len(sources) != inputs.shape[1]:
        raise DataError(f"The 'groups' parameter of {owner} must name a column for each of the {inputs.shape[1]} "
                        f"features. Got {len(sources)} names instead.")
    output = OutputFunction(f, owner)
    rows = auto_batch_size(tuple(inputs.shape[1:]), check_batch_size(batch_size, owner))
    n = len(inputs)
    weights = np.vstack([np.ones((1, n)), bootstrap_weights(n, n_resamples=n_resamples, seed=seed)])
    rng = np.random.default_rng(seed)
    with eval_mode(f):
        reference = _metric(problem, metric, labels, _scores(_predict(output, inputs, rows), problem), weights)
        table = []
        for column in dict.fromkeys(sources):
            members = torch.as_tensor([j for j, s in enumerate(sources) if s == column])
            losses = []
            for _ in range(n_repeats):
                shuffled = inputs.clone()
                shuffled[:, members] = inputs[torch.as_tensor(rng.permutation(n))][:, members]
                scores = _scores(_predict(output, shuffled, rows), problem)
                losses.append(reference - _metric(problem, metric, labels, scores, weights))
            losses = np.stack(losses)  # (n_repeats, 1 + n_resamples)
            mean = losses.mean(axis=0)
            table.append((column, float(mean[0]), *_interval(mean[1:]), float(losses[:, 0].std()), metric,
                          float(reference[0] if metric == "auroc" else -reference[0])))
    frame = pd.DataFrame(table, columns=["feature", "importance", "ci_low", "ci_high", "repeat_std", "metric",
                                         "reference"])
    return frame.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)
