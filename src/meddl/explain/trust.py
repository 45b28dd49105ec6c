"""Can an explanation be trusted? Three checks that can fail.

* :func:`model_randomization_test` (Adebayo et al. 2018, "Sanity checks for
  saliency maps"): explain the trained model and a copy whose weights are
  re-initialised at random; the Spearman rank correlation of the absolute
  attributions should be low. A high correlation means the explanation shows
  the input (edges, large values), not what the model learned.
* :func:`deletion_insertion` (faithfulness; Petsiuk et al. 2018, RISE):
  remove the most-attributed inputs first (set them to the baseline) and
  watch the output fall; or insert them first into the baseline and watch it
  rise. The area under each curve is compared with the mean over random
  orders: a faithful explanation deletes faster and inserts faster than chance.
* :func:`completeness_error`: Integrated Gradients promise that a row's
  attributions sum to ``f(x) - f(baseline)``; the relative error measures how
  well the integral was approximated (use more ``n_steps`` if it is large).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from meddl.errors import ConfigError, DataError
from meddl.explain.checks import (ELEMENTS_PER_BATCH, OutputFunction, as_baseline, as_input_tensor,
                                   auto_batch_size, check_batch_size, check_seed, check_target, eval_mode)
from meddl.validation import check_fraction, check_positive_int
from meddl.explain.similarity import constant_rows, rank_correlation, structural_similarity

__all__ = ["randomize_weights", "rank_correlation", "model_randomization_test", "completeness_error",
           "deletion_insertion", "randomization_verdict", "reinitialize", "RANDOMIZATION_THRESHOLD"]

#: Mean Spearman correlation below which the randomisation test counts as passed. Adebayo et al. give no
#: cut-off; 0.5 is meddl's heuristic ("explanations of a random model share less than half their ranking").
RANDOMIZATION_THRESHOLD = 0.5
#: Relative errors are not computed where |f(x) - f(baseline)| is below this (the ratio is meaningless).
MIN_DIFFERENCE = 1e-6


def reinitialize(module: torch.nn.Module, generator: torch.Generator) -> None:
    """Re-initialise ``module``'s parameters in place, as :func:`randomize_weights` describes.

    Example:
        >>> layer = torch.nn.Linear(3, 2)
        >>> reinitialize(layer, torch.Generator().manual_seed(0)); float(layer.bias.detach().abs().sum())
        0.0
    """
    with torch.no_grad():
        for name, parameter in module.named_parameters():
            if parameter.ndim >= 2:
                fresh = torch.empty(parameter.shape)
                torch.nn.init.xavier_uniform_(fresh, generator=generator)
                parameter.copy_(fresh)
            elif name.rsplit(".", 1)[-1] in ("bias", "beta"):
                parameter.zero_()
            else:
                parameter.fill_(1.0)


def randomize_weights(module: torch.nn.Module, *, seed: int = 0) -> torch.nn.Module:
    """A deep copy of ``module`` with every weight re-initialised at random (the original is untouched).

    Matrices and convolution kernels get Glorot-uniform values (meddl's
    default start); biases and batch-norm shifts (``bias``, ``beta``) become 0
    and batch-norm scales (``gamma``, 1-D ``weight``) 1. Buffers (batch-norm
    running statistics) are kept.

    Example:
        >>> import torch
        >>> layer = torch.nn.Linear(3, 2)
        >>> torch.equal(randomize_weights(layer, seed=0).weight, layer.weight)
        False
    """
    if not isinstance(module, torch.nn.Module):
        raise ConfigError(f"The 'module' parameter of randomize_weights must be a torch.nn.Module (e.g. a meddl "
                          f"Sequential). Got {type(module).__name__} instead.")
    seed = check_seed(seed, "randomize_weights")
    clone = copy.deepcopy(module)
    reinitialize(clone, torch.Generator().manual_seed(seed))
    return clone


def model_randomization_test(model: torch.nn.Module, x: Any,
                             explain: Callable[[torch.nn.Module, Any], np.ndarray], *, seed: int = 0,
                             threshold: float = RANDOMIZATION_THRESHOLD) -> dict[str, Any]:
    """Adebayo et al.'s model-parameter randomisation test.

    Args:
        model: the trained model (a ``torch.nn.Module``).
        x: the inputs to explain.
        explain: ``explain(module, x) -> attributions`` -- the explanation under
            test, called once with ``model`` and once with its randomised copy.
        seed: seed of the random re-initialisation.
        threshold: the test passes when the mean correlation is below it.

    Returns:
        ``{"spearman": mean, "spearman_per_row": [...], "ssim", "threshold", "status",
        "reason", "passed", "n_rows", "undefined_rows"}``; ``spearman`` is the mean over
        rows where it is defined (an all-zero map has no ranking); ``ssim`` the mean
        structural similarity, defined on every row whose trained map is not constant.
        ``status`` is ``"passed"``, ``"failed"`` or ``"undefined"`` (``passed`` is then
        ``None``) and ``reason`` says why in words. For the cascading version see
        :func:`meddl.explain.cascading_randomization`.

    Example:
        >>> import torch
        >>> from meddl.explain import attribute
        >>> torch.manual_seed(0) and None
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        >>> out = model_randomization_test(net, torch.randn(5, 4), lambda m, x: attribute(m, x))
        >>> out["status"] in ("passed", "failed"), sorted(out)[:4]
        (True, ['n_rows', 'passed', 'reason', 'spearman'])
    """
    owner = "model_randomization_test"
    if not callable(explain):
        raise ConfigError(f"The 'explain' parameter of {owner} must be a callable explain(module, x) -> "
                          f"attributions. Got {type(explain).__name__} instead.")
    threshold = check_fraction(threshold, "threshold", owner, low=-1.0, high=1.0)
    randomized = randomize_weights(model, seed=seed)
    trained_attributions = np.asarray(explain(model, x))
    random_attributions = np.asarray(explain(randomized, x))
    per_row = rank_correlation(trained_attributions, random_attributions)
    ssim = structural_similarity(trained_attributions, random_attributions)
    flat = constant_rows(trained_attributions)
    ssim[flat] = np.nan  # nothing was explained: no similarity to judge
    defined = per_row[np.isfinite(per_row)]
    mean = float(defined.mean()) if defined.size else None
    mean_ssim = float(np.nanmean(ssim)) if (~flat).any() else None
    status, reason = randomization_verdict(mean, mean_ssim, threshold, int(flat.sum()), len(per_row))
    return {"spearman": mean, "spearman_per_row": [None if not np.isfinite(v) else float(v) for v in per_row],
            "ssim": mean_ssim, "threshold": threshold, "passed": {"passed": True, "failed": False}.get(status),
            "status": status, "reason": reason, "n_rows": int(len(per_row)),
            "undefined_rows": int(len(per_row) - defined.size)}


def randomization_verdict(spearman: float | None, ssim: float | None, threshold: float, n_flat: int,
                          n_rows: int) -> tuple[str, str]:
    """``("passed" | "failed" | "undefined", why)`` from the mean Spearman (where defined) and the mean SSIM.

    The test passes when every defined similarity is below ``threshold``; it is
    undefined, not failed, when the trained model's explanation is constant on
    every row (there is nothing whose survival could be measured).

    Example:
        >>> randomization_verdict(None, 0.1, 0.5, 0, 4)[0], randomization_verdict(None, None, 0.5, 4, 4)[0]
        ('passed', 'undefined')
    """
    if ssim is None:
        return "undefined", (f"the trained model's explanation is constant on all {n_rows} rows (no evidence found), "
                             f"so there is nothing whose survival under random weights could be measured")
    values = {"SSIM": ssim} if spearman is None else {"Spearman |attribution|": spearman, "SSIM": ssim}
    above = [f"{name} {value:.2f}" for name, value in values.items() if value >= threshold]
    text = ", ".join(f"{name} {value:.2f}" for name, value in values.items())
    note = "" if spearman is not None else "; rank correlation undefined (the random model's maps are constant)"
    skipped = f"; {n_flat} row(s) with a constant trained map left out" if n_flat else ""
    if above:
        return "failed", (f"the explanation of a randomly re-initialised model is still similar to the trained one "
                          f"({', '.join(above)}, threshold {threshold:.2f}){note}{skipped}")
    return "passed", f"randomising the weights changed the explanation ({text} < {threshold:.2f}){note}{skipped}"


def completeness_error(f: Callable[[torch.Tensor], torch.Tensor], x: Any, attributions: Any, *,
                       baseline: Any = None, target: Any = None, batch_size: int | None = None) -> np.ndarray:
    """Relative completeness error per row: ``|sum(attr) - (f(x) - f(b))| / |f(x) - f(b)|``.

    NaN where ``|f(x) - f(baseline)|`` is below :data:`MIN_DIFFERENCE` (the row
    has nothing to explain). Use the ``baseline`` and ``target`` the
    attributions were computed with.

    Example:
        >>> import torch
        >>> from meddl.explain import attribute
        >>> square = lambda x: (x ** 2).sum(dim=1)
        >>> x = torch.tensor([[1.0, 2.0]])
        >>> bool(completeness_error(square, x, attribute(square, x, n_steps=2))[0] < 1e-6)
        True
    """
    owner = "completeness_error"
    inputs = as_input_tensor(x)
    values = np.asarray(attributions, dtype=np.float64)
    if values.shape != tuple(inputs.shape):
        raise DataError(f"The 'attributions' parameter of {owner} must have the shape of x, {tuple(inputs.shape)}. "
                        f"Got {values.shape} instead.")
    output = OutputFunction(f, owner)
    rows = auto_batch_size(tuple(inputs.shape[1:]), check_batch_size(batch_size, owner))
    with eval_mode(f):
        targets = check_target(target, len(inputs), output.probe(inputs), owner)
        references = as_baseline(baseline, inputs, owner).expand_as(inputs)
        difference = output.values(inputs, targets, rows) - output.values(references, targets, rows)
    total = values.reshape(len(values), -1).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(difference) >= MIN_DIFFERENCE, np.abs(total - difference) / np.abs(difference), np.nan)


def _unit_codes(attributions: np.ndarray, shape: tuple[int, ...], units: Any, owner: str):
    """Map every element of a sample to a unit (a feature group or a pixel); return codes and per-unit scores."""
    n = attributions.shape[0]
    if units is not None:
        labels = np.asarray(units)
        if labels.shape != shape:
            raise DataError(f"The 'units' parameter of {owner} must have one label per element of a sample, shape "
                            f"{shape}. Got shape {labels.shape} instead.")
        _, codes = np.unique(labels.reshape(-1).astype(str), return_inverse=True)
    elif attributions.shape[1:] == shape[:-1] and len(shape) == 3:  # a heatmap (H, W) for (H, W, C) images
        codes = np.repeat(np.arange(int(np.prod(shape[:-1]))), shape[-1])
        attributions = np.repeat(attributions.reshape(n, -1), shape[-1], axis=1).reshape(n, *shape) / shape[-1]
    else:
        codes = np.arange(int(np.prod(shape)))
    if attributions.shape[1:] != shape:
        raise DataError(f"The 'attributions' parameter of {owner} must have the shape of x, (n, {shape}), or of a "
                        f"heatmap (n, H, W) for images. Got {attributions.shape} instead.")
    n_units = int(codes.max()) + 1
    scores = np.zeros((n, n_units))
    np.add.at(scores, (slice(None), codes), attributions.reshape(n, -1))
    return codes, scores


def _curve_masks(order: np.ndarray, codes: np.ndarray, n_steps: int) -> torch.Tensor:
    """``(n_steps + 1, n_elements)`` masks: step j covers the first round(j * U / n_steps) units of ``order``."""
    n_units = len(order)
    position = np.empty(n_units, dtype=np.int64)
    position[order] = np.arange(n_units)
    counts = np.round(np.linspace(0, n_units, n_steps + 1)).astype(np.int64)
    return torch.as_tensor(position[codes][None, :] < counts[:, None], dtype=torch.float32)


def deletion_insertion(f: Callable[[torch.Tensor], torch.Tensor], x: Any, attributions: Any, *,
                       baseline: Any = None, target: Any = None, units: Any = None, n_steps: int = 20,
                       n_random: int = 10, seed: int = 0, batch_size: int | None = None) -> dict[str, Any]:
    """Deletion and insertion curves for the attribution order vs random orders.

    Args:
        f, x, baseline, target: as for :func:`meddl.explain.attribute`.
        attributions: the attributions of ``x`` (shape of ``x``), or heatmaps
            ``(n, H, W)`` for images ``(n, H, W, C)``.
        units: one label per element of a sample: elements with the same
            label are removed together (e.g. a table's source columns). Default:
            each element, or each pixel (all channels) for heatmaps.
        n_steps: points of each curve after the start (fractions 0, 1/n_steps, ..., 1); at most
            the number of units.
        n_random: random orders averaged for the reference curves.
        seed: seed of the random orders.
        batch_size: model inputs per forward pass.

    Returns:
        ``{"fractions", "deletion": {...}, "insertion": {...}, "faithful", "n_rows"}``; each
        curve entry holds ``auc`` (attribution order), ``random_auc`` (mean over random orders),
        ``gain`` (how much better than random: lower deletion / higher insertion area, in
        output units), ``gain_per_row`` (each row against its own random orders; see
        :func:`meddl.explain.faithfulness` for CIs), and the mean ``curve`` and ``random_curve``. ``faithful`` is true when
        both gains are positive.

    Example:
        >>> import torch
        >>> weights = torch.tensor([3.0, 1.0, 0.0, -1.0])
        >>> score = lambda x: x @ weights
        >>> out = deletion_insertion(score, torch.ones(2, 4), [[3.0, 1.0, 0.0, -1.0]] * 2, n_steps=4)
        >>> out["faithful"], out["deletion"]["auc"] < out["deletion"]["random_auc"]
        (True, True)
    """
    owner = "deletion_insertion"
    n_steps = check_positive_int(n_steps, "n_steps", owner)
    n_random = check_positive_int(n_random, "n_random", owner)
    seed = check_seed(seed, owner)
    inputs = as_input_tensor(x)
    shape = tuple(inputs.shape[1:])
    values = np.asarray(attributions, dtype=np.float64)
    if values.ndim < 2 or values.shape[0] != inputs.shape[0]:
        raise DataError(f"The 'attributions' parameter of {owner} must have one row per row of x ({len(inputs)}). "
                        f"Got shape {values.shape} instead.")
    codes, scores = _unit_codes(values, shape, units, owner)
    n_steps = min(n_steps, scores.shape[1])  # more steps than units would repeat points
    output = OutputFunction(f, owner)
    rows = auto_batch_size(shape, check_batch_size(batch_size, owner))
    rng = np.random.default_rng(seed)
    flat = inputs.reshape(len(inputs), -1)
    # Orders evaluated together: their 2 x (n_steps + 1) perturbed inputs stay within a few forward batches.
    per_order = 2 * (n_steps + 1) * flat.shape[1]
    group = max(1, (4 * ELEMENTS_PER_BATCH) // per_order)
    curves: dict[str, list[np.ndarray]] = {"deletion": [], "insertion": [], "random_deletion": [],
                                           "random_insertion": []}
    with eval_mode(f):
        targets = check_target(target, len(inputs), output.probe(inputs), owner)
        references = as_baseline(baseline, inputs, owner).expand_as(inputs).reshape(len(inputs), -1)
        for i in range(len(inputs)):
            # Ties (e.g. Grad-CAM's zeros after its ReLU) are broken at random, not in raster order.
            ranked = np.lexsort((rng.random(scores.shape[1]), -scores[i]))
            orders = [ranked] + [rng.permutation(scores.shape[1]) for _ in range(n_random)]
            for start in range(0, len(orders), group):
                masks = torch.cat([_curve_masks(order, codes, n_steps) for order in orders[start:start + group]])
                deleted = flat[i] * (1 - masks) + references[i] * masks
                inserted = references[i] * (1 - masks) + flat[i] * masks
                batch = torch.cat([deleted, inserted]).reshape(-1, *shape)
                values_out = output.values(batch, targets[i].repeat(len(batch)), rows).reshape(2, -1, n_steps + 1)
                for k in range(values_out.shape[1]):
                    prefix = "" if start + k == 0 else "random_"
                    curves[prefix + "deletion"].append(values_out[0, k])
                    curves[prefix + "insertion"].append(values_out[1, k])
    fractions = np.linspace(0.0, 1.0, n_steps + 1)
    result: dict[str, Any] = {"fractions": fractions.tolist(), "n_rows": int(len(inputs)), "n_random": n_random}
    for kind, sign in (("deletion", -1.0), ("insertion", 1.0)):
        ordered = np.stack(curves[kind])
        random_curves = np.stack(curves[f"random_{kind}"])
        auc, random_auc = float(np.trapezoid(ordered, fractions, axis=1).mean()), float(
            np.trapezoid(random_curves, fractions, axis=1).mean())
        per_row = sign * (np.trapezoid(ordered, fractions, axis=1)
                          - np.trapezoid(random_curves, fractions, axis=1).reshape(len(inputs), n_random).mean(axis=1))
        result[kind] = {"auc": auc, "random_auc": random_auc, "gain": sign * (auc - random_auc),
                        "gain_per_row": per_row.tolist(),
                        "curve": ordered.mean(axis=0).tolist(), "random_curve": random_curves.mean(axis=0).tolist()}
    result["faithful"] = bool(result["deletion"]["gain"] > 0 and result["insertion"]["gain"] > 0)
    return result
