"""Vectorised bootstrap confidence intervals.

A resample is drawn as a row of counts (how often each sample, or each
patient, was drawn) and every metric is computed for many resamples at once
by the weighted kernels in :mod:`meddl.evaluation._kernels`: scores are sorted
once, never per resample. With ``groups`` (patient ids) whole patients are
resampled: a patient drawn twice contributes all of its rows twice.

Confidence interval rule (percentile method, 95%):

* fewer than ``min_samples`` (default 10) samples -- or patients, with
  ``groups`` -- gives no interval (``ci95 = None``) and a reason;
* resamples in which a metric is undefined (e.g. no positive case drawn) are
  left out; if more than ``max_undefined`` (default 10%) of them are
  undefined the interval is ``None`` with a reason, because the remaining
  resamples would no longer describe the sampling distribution fairly;
* an infinite value is not undefined: the calibration slope of a resample whose
  scores separate the classes completely is +inf, and it keeps its place in the
  ranking (leaving those steepest resamples out would bias the interval low); an
  interval whose end is infinite is ``None``, with the finite end in the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

from meddl.evaluation import _kernels
from meddl.validation import (
    as_float_array,
    binary_labels,
    binary_scores,
    check_fraction,
    check_groups,
    check_positive_int,
    check_same_length,
    check_task,
    multiclass_inputs,
)
from meddl.io import json_float
from meddl.errors import DataError
from meddl.evaluation.metrics import binary_reasons, class_keys, multiclass_reasons

__all__ = ["bootstrap_weights", "iter_bootstrap_weights", "resampled_metrics", "bootstrap_metrics"]

#: Resamples computed per matrix block; bounds memory at CHUNK x n floats.
CHUNK = 50


def iter_bootstrap_weights(n_samples: int, *, n_resamples: int = 1000, seed: int = 0,
                           groups: object = None) -> Iterator[np.ndarray]:
    """Yield blocks of bootstrap weights, shape (<= CHUNK, n_samples), ``n_resamples`` rows in all.

    Row r holds how many times each sample was drawn in resample r (rows sum
    to ``n_samples`` without groups); ``n_resamples=0`` yields nothing. With ``groups`` the patients are drawn
    with replacement (as many draws as patients) and every row gets its
    patient's count.
    """
    n_resamples = check_positive_int(n_resamples, "n_resamples", "iter_bootstrap_weights", minimum=0)
    codes = check_groups(groups, n_samples)
    n_units = n_samples if codes is None else int(codes.max()) + 1
    rng = np.random.default_rng(seed)
    for start in range(0, n_resamples, CHUNK):
        b = min(CHUNK, n_resamples - start)
        draws = rng.integers(0, n_units, size=(b, n_units))
        offsets = (np.arange(b) * n_units)[:, None]
        counts = np.bincount((draws + offsets).ravel(), minlength=b * n_units).reshape(b, n_units)
        yield (counts if codes is None else counts[:, codes]).astype(float)


def _one_blas_thread():
    """Limit BLAS to one thread: for these skinny (b, n) x (n, few) products its threading costs more
    than it gains, and on a busy machine its spinning threads slow everything down."""
    return threadpool_limits(limits=1, user_api="blas")


def map_blocks(function: Callable[[np.ndarray], dict], blocks: Iterable[np.ndarray]) -> list[dict]:
    """``[function(block) for block in blocks]``, two blocks at a time on two threads.

    NumPy releases the GIL in its loops, so two threads use two cores; at most
    two weight blocks are in memory at once, and the results keep their order.
    """
    workers = min(2, os.cpu_count() or 1)
    results: list[dict] = []
    with _one_blas_thread(), ThreadPoolExecutor(max_workers=workers) as pool:
        pending = []
        for block in blocks:
            pending.append(pool.submit(function, block))
            if len(pending) == workers:
                results += [future.result() for future in pending]
                pending = []
        results += [future.result() for future in pending]
    return results


def bootstrap_weights(n_samples: int, *, n_resamples: int = 1000, seed: int = 0, groups: object = None) -> np.ndarray:
    """All bootstrap weights as one (n_resamples, n_samples) array; see :func:`iter_bootstrap_weights`.

    >>> w = bootstrap_weights(5, n_resamples=3, seed=0)
    >>> w.shape, w.sum(axis=1).tolist()
    ((3, 5), [5.0, 5.0, 5.0])
    """
    blocks = list(iter_bootstrap_weights(n_samples, n_resamples=n_resamples, seed=seed, groups=groups))
    return np.concatenate(blocks) if blocks else np.zeros((0, n_samples))


def prepare_task(task: str, y_true: object, y_score: object, threshold: float, class_names: Sequence[str] | None):
    """Check inputs once; return (n, prepared data, kernel, explain-None function)."""
    if task == "binary":
        y = binary_labels(y_true, class_names)
        scores = binary_scores(y_score)
        check_same_length(("y_true", y), ("y_score", scores))
        data = _kernels.prepare_binary(y, scores, threshold)
        return y.size, data, _kernels.binary_kernel, binary_reasons(_kernels.binary_counts(data), threshold)
    if task == "multiclass":
        y, proba = multiclass_inputs(y_true, y_score, class_names, name="y_score")
        keys = class_keys(class_names, proba.shape[1])
        return (y.size, _kernels.prepare_multiclass(y, proba, keys), _kernels.multiclass_kernel,
                multiclass_reasons(y, proba, keys))
    y = as_float_array(y_true, "y_true")
    pred = as_float_array(y_score, "y_score")
    check_same_length(("y_true", y), ("y_score", pred))
    return (y.size, _kernels.prepare_regression(y, pred), _kernels.regression_kernel,
            lambda name: "y_true is constant; R² needs variation in the outcome.")


def resampled_metrics(task: str, y_true: object, y_score: object, weights: np.ndarray, *,
                      threshold: float = 0.5, class_names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Every metric of ``task`` for each row of ``weights``; NaN where undefined.

    ``weights[r, i]`` is how many times sample i is counted in resample r, so
    ``resampled_metrics(..., weights=counts)[name][r]`` equals the plain metric on
    ``np.repeat(arange(n), counts[r])``.
    """
    task = check_task(task)
    threshold = check_fraction(threshold, "threshold", "resampled_metrics")
    n, data, kernel, _ = prepare_task(task, y_true, y_score, threshold, class_names)
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2 or weights.shape[1] != n:
        raise DataError(f"weights must have shape (n_resamples, {n}); got {weights.shape}.")
    return kernel(data, weights)


def undefined_reason(undefined: int, total: int, max_undefined: float) -> str:
    """Why an interval is missing when a metric is undefined in too many resamples."""
    return (f"undefined in {undefined} of {total} bootstrap resamples (more than {max_undefined:.0%}): too few "
            "cases of a class, or perfectly separated classes, in many resamples for a stable interval.")


def _interval(values: np.ndarray, max_undefined: float) -> tuple[list[float] | None, str | None]:
    """Percentile interval of the defined resamples; an infinite value (a calibration slope under complete
    separation) is a defined, unbounded one: it counts in the ranking, and an interval reaching it is None."""
    undefined = int(np.count_nonzero(np.isnan(values)))
    if undefined > max_undefined * values.size:
        return None, undefined_reason(undefined, values.size, max_undefined)
    defined = values[~np.isnan(values)]
    unbounded = int(np.count_nonzero(np.isinf(defined)))
    if not unbounded:
        lo, hi = np.percentile(defined, [2.5, 97.5])
        return [float(lo), float(hi)], None
    lo, hi = np.percentile(defined, [2.5, 97.5], method="inverted_cdf")  # no interpolation towards infinity
    if np.isfinite(lo) and np.isfinite(hi):
        return [float(lo), float(hi)], None
    finite = lo if np.isfinite(lo) else hi
    return None, (f"unbounded: in {unbounded} of {values.size} bootstrap resamples the scores separate the classes "
                  f"completely (the fitted value is infinite); the finite end of the 95% interval is {finite:.3g}.")


def bootstrap_metrics(task: str, y_true: object, y_score: object, *, threshold: float = 0.5,
                      class_names: Sequence[str] | None = None, groups: object = None,
                      n_resamples: int = 1000, seed: int = 0, min_samples: int = 10,
                      max_undefined: float = 0.1) -> dict[str, dict]:
    """Point value and percentile 95% bootstrap CI of every metric of ``task``.

    Args:
        task: "binary", "multiclass" or "regression".
        y_true, y_score: as for :func:`~meddl.evaluation.binary_metrics` and friends.
        threshold: decision threshold (binary only).
        class_names: names of the classes (keys of per-class metrics).
        groups: patient ids; resample patients instead of rows.
        n_resamples: number of bootstrap resamples; 0 gives point values only.
        seed: seed of the resampling (the same seed gives the same intervals).
        min_samples: fewer samples (patients) than this gives no interval.
        max_undefined: largest fraction of undefined resamples that still gives an interval.

    Returns:
        ``{name: {"value": float|None, "ci95": [lo, hi]|None, "reason": str}}``;
        ``reason`` is present only when ``value`` or ``ci95`` is ``None``.

    >>> out = bootstrap_metrics("regression", [1., 2, 3, 4, 5, 6, 7, 8, 9, 10], [1., 2, 3, 4, 5, 6, 7, 8, 9, 11],
    ...                         n_resamples=200)
    >>> out["mae"]["value"], len(out["mae"]["ci95"])
    (0.1, 2)
    """
    task = check_task(task)
    owner = "bootstrap_metrics"
    threshold = check_fraction(threshold, "threshold", owner)
    n_resamples = check_positive_int(n_resamples, "n_resamples", owner, minimum=0)
    min_samples = check_positive_int(min_samples, "min_samples", owner)
    max_undefined = check_fraction(max_undefined, "max_undefined", owner)
    n, data, kernel, explain = prepare_task(task, y_true, y_score, threshold, class_names)
    codes = check_groups(groups, n)
    n_units = n if codes is None else int(codes.max()) + 1
    point = kernel(data, np.ones((1, n)))
    if task == "binary":
        _kernels.warm_start(data, point)
    results = {name: {"value": json_float(values[0])} for name, values in point.items()}
    for name, entry in results.items():
        if entry["value"] is None:
            entry["reason"] = explain(name)

    if n_units < min_samples or n_resamples == 0:
        unit = "patients" if codes is not None else "samples"
        reason = (f"only {n_units} {unit} (fewer than {min_samples}): no bootstrap interval." if n_resamples
                  else "no bootstrap interval requested (n_resamples=0).")
        for entry in results.values():
            entry["ci95"] = None
            entry.setdefault("reason", reason)
        return results

    blocks = map_blocks(lambda w: kernel(data, w),
                        iter_bootstrap_weights(n, n_resamples=n_resamples, seed=seed, groups=codes))
    for name, entry in results.items():
        if entry["value"] is None:
            entry["ci95"] = None
            continue
        entry["ci95"], reason = _interval(np.concatenate([b[name] for b in blocks]), max_undefined)
        if reason:
            entry["reason"] = reason
    return results
