"""Faithfulness on images: does removing what the map marks change the prediction more than removing anything else?

* :func:`faithfulness` -- deletion and insertion curves (Petsiuk et al. 2018)
  per image against random orders of the same image, with a bootstrap 95% CI
  over images for each gain and for the **faithfulness score** (the mean of
  the two gains). Removed pixels take the value of a baseline that stays in
  the data's distribution: :func:`blurred_baseline` (the image blurred, the
  default) or the training mean -- not black, which in ultrasound or X-ray is
  itself a strong, out-of-distribution signal.
* :func:`road` -- ROAD, "remove and debias" (Rong et al. 2022): removed pixels
  are imputed from their neighbours (noisy linear imputation), so the shape of
  the removed region does not leak the class. The score is the mean gap
  between removing the least and the most relevant pixels first (LeRF - MoRF),
  per image, with a bootstrap CI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import sparse
from scipy.ndimage import gaussian_filter
from scipy.sparse.linalg import spsolve

from meddl.errors import DataError
from meddl.validation import check_positive_int
from meddl.evaluation.bootstrap import bootstrap_weights
from meddl.explain.checks import (OutputFunction, as_input_tensor, auto_batch_size, check_batch_size, check_seed,
                                   check_target, eval_mode)
from meddl.explain.trust import deletion_insertion

__all__ = ["blurred_baseline", "faithfulness", "road", "mean_with_ci", "ROAD_FRACTIONS"]

#: Fractions of pixels removed by ROAD (Rong et al. use 10% to 90%).
ROAD_FRACTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: Noise added to ROAD's imputed values, as a fraction of the image's range (breaks the imputation's smoothness).
ROAD_NOISE = 0.025


def mean_with_ci(values: Any, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, float | int | None]:
    """The mean of ``values`` with a percentile bootstrap 95% CI: ``{"mean", "ci_low", "ci_high", "n"}``.

    Example:
        >>> out = mean_with_ci([0.1, 0.2, 0.3, 0.4], n_resamples=200)
        >>> round(out["mean"], 2), out["ci_low"] < out["mean"] < out["ci_high"], out["n"]
        (0.25, True, 4)
    """
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    array = array[np.isfinite(array)]
    if not array.size:
        return {"mean": None, "ci_low": None, "ci_high": None, "n": 0}
    low = high = None
    if array.size >= 2 and n_resamples:
        resampled = bootstrap_weights(array.size, n_resamples=n_resamples, seed=seed) @ array / array.size
        low, high = (float(v) for v in np.percentile(resampled, [2.5, 97.5]))
    return {"mean": float(array.mean()), "ci_low": low, "ci_high": high, "n": int(array.size)}


def blurred_baseline(images: Any, *, sigma: float | None = None) -> np.ndarray:
    """Each image blurred (Gaussian, per channel): an in-distribution "nothing here" reference.

    Args:
        images: ``(n, H, W, C)`` images.
        sigma: blur width in pixels (default: an eighth of the smaller side, e.g. 3.5 for 28 x 28).

    Example:
        >>> import numpy as np
        >>> image = np.zeros((1, 16, 16, 1)); image[0, 8, 8] = 1.0
        >>> blurred = blurred_baseline(image)
        >>> blurred.shape, bool(blurred.max() < 0.1), round(float(blurred.sum()), 3)
        ((1, 16, 16, 1), True, 1.0)
    """
    array = np.asarray(images, dtype=np.float64)
    if array.ndim != 4:
        raise DataError(f"The 'images' parameter of blurred_baseline must have shape (n, H, W, C); got {array.shape}.")
    width = max(1.0, min(array.shape[1:3]) / 8) if sigma is None else float(sigma)
    return gaussian_filter(array, sigma=(0, width, width, 0), mode="reflect").astype(np.float32)


def faithfulness(f: Callable[[torch.Tensor], torch.Tensor], x: Any, maps: Any, *, baseline: Any,
                 target: Any = None, units: Any = None, n_steps: int = 20, n_random: int = 2, n_resamples: int = 1000, seed: int = 0,
                 batch_size: int | None = None) -> dict[str, Any]:
    """Deletion and insertion gains over random orders, per image, with bootstrap 95% CIs over images.

    Args:
        f, x, target: as for :func:`meddl.explain.attribute` (``x``: ``(n, H, W, C)`` images or ``(n, d)`` rows).
        maps: heat maps ``(n, H, W)`` or attributions of ``x``'s shape.
        units: elements removed together (e.g. a table's source columns), as for
            :func:`meddl.explain.deletion_insertion`.
        baseline: the reference removed pixels take: e.g. :func:`blurred_baseline` of ``x``
            (one per image) or the training mean image.
        n_steps: points of each curve; n_random: random orders per image.
        n_resamples: bootstrap resamples of the images; seed: seeds the orders and the resampling.

    Returns:
        ``{"deletion_gain": {mean, ci_low, ci_high, n}, "insertion_gain": {...}, "score": {...},
        "status", "reason", "deletion", "insertion", "fractions", "n_rows"}``. Gains are areas
        under the output curve (output units x fraction removed) by which the map's order beats
        random orders; ``score`` is their mean per image. ``status`` is ``"passed"`` when both
        gains' CIs lie above zero, ``"failed"`` when either CI lies at or below zero, and
        ``"undefined"`` (with the reason) when there are too few images for a CI.

    Example:
        >>> import torch
        >>> weights = torch.tensor([3.0, 1.0, 0.0, -1.0])
        >>> x = torch.rand(6, 4, generator=torch.Generator().manual_seed(0)) + 1
        >>> out = faithfulness(lambda z: z @ weights, x, x * weights, baseline=0.0, n_steps=4, n_resamples=100)
        >>> out["status"], out["score"]["ci_low"] > 0
        ('passed', True)
    """
    curves = deletion_insertion(f, x, maps, baseline=baseline, target=target, units=units, n_steps=n_steps, n_random=n_random,
                                seed=seed, batch_size=batch_size)
    deletion = np.asarray(curves["deletion"].pop("gain_per_row"))
    insertion = np.asarray(curves["insertion"].pop("gain_per_row"))
    result = {"deletion_gain": mean_with_ci(deletion, n_resamples=n_resamples, seed=seed),
              "insertion_gain": mean_with_ci(insertion, n_resamples=n_resamples, seed=seed),
              "score": mean_with_ci((deletion + insertion) / 2, n_resamples=n_resamples, seed=seed),
              "deletion": curves["deletion"], "insertion": curves["insertion"], "fractions": curves["fractions"],
              "n_rows": curves["n_rows"], "n_random": n_random}
    result["status"], result["reason"] = _verdict(result["deletion_gain"], result["insertion_gain"])
    return result


def _verdict(deletion: dict, insertion: dict) -> tuple[str, str]:
    if deletion["ci_low"] is None or insertion["ci_low"] is None:
        return "undefined", (f"a confidence interval needs at least 2 images with a defined gain; got "
                             f"{min(deletion['n'], insertion['n'])}")
    text = (f"deletion gain {deletion['mean']:.3f} [{deletion['ci_low']:.3f}, {deletion['ci_high']:.3f}], "
            f"insertion gain {insertion['mean']:.3f} [{insertion['ci_low']:.3f}, {insertion['ci_high']:.3f}]")
    if deletion["ci_low"] > 0 and insertion["ci_low"] > 0:
        return "passed", f"both beat a random order with 95% CIs above zero ({text})"
    return "failed", f"not both better than a random order with 95% CIs above zero ({text})"


def _imputation_system(height: int, width: int) -> sparse.csr_matrix:
    """Neighbour weights of the noisy linear imputation: 1/6 for the 4 direct and 1/12 for the 4 diagonal neighbours."""
    rows, cols, values = [], [], []
    index = np.arange(height * width).reshape(height, width)
    for dy, dx, weight in ((0, 1, 1 / 6), (0, -1, 1 / 6), (1, 0, 1 / 6), (-1, 0, 1 / 6),
                           (1, 1, 1 / 12), (1, -1, 1 / 12), (-1, 1, 1 / 12), (-1, -1, 1 / 12)):
        source = index[max(0, -dy):height - max(0, dy), max(0, -dx):width - max(0, dx)]
        target = index[max(0, dy):height - max(0, -dy), max(0, dx):width - max(0, -dx)]
        rows.append(source.ravel()), cols.append(target.ravel()), values.append(np.full(source.size, weight))
    return sparse.csr_matrix((np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(height * width,) * 2)


def _impute(image: np.ndarray, removed: np.ndarray, neighbours: sparse.csr_matrix, rng: np.random.Generator,
            noise: float) -> np.ndarray:
    """Each removed pixel = the weighted mean of its neighbours (removed ones included: a linear system)."""
    height, width, channels = image.shape
    flat = image.reshape(-1, channels).astype(np.float64)
    gone = np.flatnonzero(removed.ravel())
    if not gone.size:
        return image
    kept = np.flatnonzero(~removed.ravel())
    weights = neighbours[gone]
    total = np.asarray(weights.sum(axis=1)).ravel()  # border pixels have fewer neighbours
    system = (sparse.diags(total) - weights[:, gone]).tocsc()
    right = weights[:, kept] @ flat[kept]
    solved = spsolve(system, right) if kept.size else np.zeros((gone.size, channels))
    filled = flat.copy()
    filled[gone] = np.asarray(solved).reshape(gone.size, channels) + rng.normal(0, noise, (gone.size, channels))
    return filled.reshape(image.shape).astype(np.float32)


def road(f: Callable[[torch.Tensor], torch.Tensor], images: Any, maps: Any, *, target: Any = None,
         fractions: tuple[float, ...] = ROAD_FRACTIONS, n_resamples: int = 1000, seed: int = 0,
         batch_size: int | None = None) -> dict[str, Any]:
    """ROAD (remove and debias): LeRF minus MoRF output, per image, with a bootstrap 95% CI.

    For each fraction, the most relevant (MoRF) or least relevant (LeRF) pixels
    are removed and filled by noisy linear imputation from their neighbours.
    A faithful map loses much more output when its top pixels go than when its
    bottom pixels go: the score ``mean(LeRF - MoRF)`` is positive.

    Args:
        f, target: as for :func:`meddl.explain.attribute`.
        images: ``(n, H, W, C)``; maps: heat maps ``(n, H, W)``.
        fractions: fractions of pixels removed.

    Returns:
        ``{"score": {mean, ci_low, ci_high, n}, "morf_curve", "lerf_curve", "fractions", "status", "reason"}``.

    Example:
        >>> import numpy as np, torch
        >>> images = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
        >>> images[:, 2:4, 2:4] += 3
        >>> centre = lambda x: x[:, 2:4, 2:4, 0].sum(dim=(1, 2))
        >>> out = road(centre, images, images[..., 0], fractions=(0.1, 0.5), n_resamples=100)
        >>> out["status"], out["score"]["mean"] > 1
        ('passed', True)
    """
    owner = "road"
    inputs = as_input_tensor(images, "images")
    heat = np.asarray(maps, dtype=np.float64)
    if inputs.ndim != 4 or heat.shape != tuple(inputs.shape[:3]):
        raise DataError(f"{owner} needs images (n, H, W, C) and heat maps (n, H, W) of the same size; got "
                        f"{tuple(inputs.shape)} and {heat.shape}.")
    seed = check_seed(seed, owner)
    n_resamples = check_positive_int(n_resamples, "n_resamples", owner, minimum=0)
    n, height, width, _ = inputs.shape
    neighbours = _imputation_system(height, width)
    rng = np.random.default_rng(seed)
    array = inputs.numpy()
    output = OutputFunction(f, owner)
    rows = auto_batch_size(tuple(inputs.shape[1:]), check_batch_size(batch_size, owner))
    perturbed = []
    for i in range(n):
        order = np.lexsort((rng.random(height * width), -heat[i].ravel()))  # most relevant first, ties at random
        noise = ROAD_NOISE * float(np.ptp(array[i]) or 1.0)
        for fraction in fractions:
            count = int(round(fraction * height * width))
            for removed in (order[:count], order[::-1][:count]):  # MoRF, then LeRF
                mask = np.zeros(height * width, dtype=bool)
                mask[removed] = True
                perturbed.append(_impute(array[i], mask.reshape(height, width), neighbours, rng, noise))
    batch = torch.as_tensor(np.stack(perturbed))
    with eval_mode(f):
        targets = check_target(target, n, output.probe(inputs), owner)
        values = output.values(batch, targets.repeat_interleave(2 * len(fractions)), rows)
    values = values.reshape(n, len(fractions), 2)
    gaps = (values[:, :, 1] - values[:, :, 0]).mean(axis=1)
    score = mean_with_ci(gaps, n_resamples=n_resamples, seed=seed)
    if score["ci_low"] is None:
        status, reason = "undefined", "a confidence interval needs at least 2 images"
    elif score["ci_low"] > 0:
        status, reason = "passed", f"removing the top pixels first costs more output than the bottom ones (CI above 0)"
    else:
        status, reason = "failed", "removing the top pixels first does not cost clearly more than the bottom ones"
    return {"score": score, "morf_curve": values[:, :, 0].mean(axis=0).tolist(),
            "lerf_curve": values[:, :, 1].mean(axis=0).tolist(), "fractions": list(fractions), "status": status,
            "reason": reason, "n_rows": int(n)}
