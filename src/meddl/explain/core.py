"""``attribute(f, x, method)``: signed per-input attributions for any differentiable torch function.

``f`` maps a float tensor ``(n, ...)`` to ``(n,)`` or ``(n, k)``: a diagnosis
model's class probabilities, a survival model's risk score, a treatment
effect ``tau(x) = mu1(x) - mu0(x)``. The methods are Captum's:

* ``integrated_gradients`` -- path integral of gradients from ``baseline`` to
  ``x`` (Sundararajan et al. 2017). Complete: the attributions of a row sum to
  ``f(x) - f(baseline)`` up to the integration error (see
  :func:`meddl.explain.completeness_error`).
* ``gradient_shap`` -- expected gradients over baselines drawn from a
  background set (Lundberg & Lee 2017): pass training rows as ``baseline``.
* ``kernel_shap`` -- model-agnostic Shapley values from sampled coalitions;
  ``feature_groups`` turns whole groups (e.g. one-hot levels of a column) on
  and off together. For tables, not images.
* ``smooth_integrated_gradients`` -- Integrated Gradients averaged over
  ``n_samples`` noisy copies of the input (Captum's ``NoiseTunnel``,
  SmoothGrad-style, Smilkov et al. 2017; noise 15% of the input's range):
  sharper, less speckled image maps at ``n_samples`` times the cost.
* ``occlusion`` -- the change of ``f`` when a window of the input is set to
  the baseline (Zeiler & Fergus 2014).

Memory stays bounded: rows are processed in batches of ``batch_size`` model
inputs (Integrated Gradients' interpolation steps too), so a 224x224 image or a
1,000-row table never needs all the perturbed inputs at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from meddl.errors import ConfigError, DataError, unknown_name_error
from meddl.explain.checks import (OutputFunction, as_baseline, as_input_tensor, auto_batch_size, captum_attr,
                                   check_batch_size, check_seed, check_target, eval_mode, seeded)
from meddl.validation import check_positive_int

__all__ = ["attribute", "ATTRIBUTION_METHODS"]

ATTRIBUTION_METHODS = ("integrated_gradients", "gradient_shap", "kernel_shap", "occlusion", "smooth_integrated_gradients")
DEFAULT_SAMPLES = {"gradient_shap": 64, "kernel_shap": 256, "smooth_integrated_gradients": 8}
#: Noise of smooth_integrated_gradients, as a fraction of the input's range (Smilkov et al. found 10-20% best).
NOISE_FRACTION = 0.15
#: KernelSHAP fits a linear model over coalitions; above this many features it needs feature_groups.
KERNEL_SHAP_MAX_FEATURES = 1000


def check_method(method: object, owner: str, allowed: tuple[str, ...] = ATTRIBUTION_METHODS) -> str:
    """Return ``method`` if ``owner`` supports it; otherwise say what to use instead."""
    if method == "grad_cam" and "grad_cam" not in allowed:
        raise ConfigError(f"The method 'grad_cam' is not available in {owner}: Grad-CAM needs a convolutional "
                          f"meddl model and one of its layers. Use meddl.explain.grad_cam(model, images), or one of "
                          f"{', '.join(repr(m) for m in allowed)} here.")
    if method not in allowed:
        raise unknown_name_error(f"attribution method for {owner}", method, allowed, error_class=ConfigError)
    return str(method)


def attribute(f: Callable[[torch.Tensor], torch.Tensor], x: Any, method: str = "integrated_gradients", *,
              baseline: Any = None, target: Any = None, n_steps: int = 64, n_samples: int | None = None,
              feature_groups: Any = None, window: tuple[int, ...] | None = None, batch_size: int | None = None,
              seed: int = 0) -> np.ndarray:
    """Attribute ``f(x)`` (for output ``target``) to every element of ``x``.

    Args:
        f: a callable from a float tensor ``(n, ...)`` to ``(n,)`` or ``(n, k)``
            (a ``torch.nn.Module`` is put in eval mode while it is explained).
        x: inputs ``(n, ...)``: a NumPy array, tensor or numeric DataFrame.
        method: one of :data:`ATTRIBUTION_METHODS`.
        baseline: the reference input: ``None`` (zeros), a number, one sample
            (shape ``x.shape[1:]``) or one per row (``(n, ...)``). For
            ``gradient_shap``, any ``(m, ...)`` background set.
        target: which output to explain: ``None`` when ``f`` has one output,
            else an int or one int per row.
        n_steps: interpolation steps of Integrated Gradients (more steps, smaller
            completeness error).
        n_samples: random draws per row (``gradient_shap``, default 64), noisy
            copies per row (``smooth_integrated_gradients``, default 8) or
            coalitions per row (``kernel_shap``, default 256).
        feature_groups: ``kernel_shap`` only: one group label per element of a
            sample (shape ``x.shape[1:]``); a group is switched on/off as one
            and its Shapley value is split equally among its elements.
        window: ``occlusion`` only: the occluded patch shape (default: one
            element for tables; an eighth of the height and width, all
            channels, for ``(H, W, C)`` images); strides are half the window.
        batch_size: model inputs per forward pass (default: as many as fit in
            about 2 MB of input; see ``_checks.ELEMENTS_PER_BATCH``).
        seed: seeds the random draws (``gradient_shap``, ``kernel_shap``); the
            same seed and batch size give the same attributions.

    Returns:
        A float64 array of the shape of ``x``; positive values push the
        explained output up relative to the baseline.

    Raises:
        ConfigError: unknown method, bad ``target``, ``n_steps``, ``n_samples``...
        DataError: non-numeric or non-finite ``x``, wrong ``baseline`` shape, or
            ``f`` returning the wrong shape.

    Example:
        >>> import torch
        >>> from meddl.explain import attribute
        >>> weights = torch.tensor([2.0, -1.0, 0.0])
        >>> risk = lambda x: x @ weights                        # e.g. a linear risk score, (n,)
        >>> attribute(risk, [[1.0, 1.0, 5.0]], "integrated_gradients").round(6).tolist()
        [[2.0, -1.0, 0.0]]
    """
    owner = "attribute"
    method = check_method(method, owner)
    n_steps = check_positive_int(n_steps, "n_steps", owner)
    if n_samples is not None:
        n_samples = check_positive_int(n_samples, "n_samples", owner)
    batch_size = check_batch_size(batch_size, owner)
    seed = check_seed(seed, owner)
    if feature_groups is not None and method != "kernel_shap":
        raise ConfigError(f"The 'feature_groups' parameter of {owner} is used by 'kernel_shap' only; got it with "
                          f"method {method!r}. Sum attributions per group afterwards with group_attributions().")
    if window is not None and method != "occlusion":
        raise ConfigError(f"The 'window' parameter of {owner} is used by 'occlusion' only; got it with method {method!r}.")
    inputs = as_input_tensor(x)
    output = OutputFunction(f, owner)
    with eval_mode(f):
        n_outputs = output.probe(inputs)
        targets = check_target(target, inputs.shape[0], n_outputs, owner)
        references = as_baseline(baseline, inputs, owner, distribution=method == "gradient_shap")
        rows = auto_batch_size(tuple(inputs.shape[1:]), batch_size)
        options = {"n_steps": n_steps, "n_samples": n_samples or DEFAULT_SAMPLES.get(method),
                   "feature_groups": feature_groups, "window": window}
        with seeded(seed), torch.enable_grad():
            result = _RUNNERS[method](output, inputs, references, targets, rows, options)
    return result.detach().double().numpy()


def _row_chunks(n: int, size: int):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def _per_row(references: torch.Tensor, rows: slice) -> torch.Tensor:
    return references if references.shape[0] == 1 else references[rows]


def _integrated_gradients(output, inputs, references, targets, rows, options):
    explainer = captum_attr().IntegratedGradients(output)
    parts = [explainer.attribute(inputs[s], baselines=_per_row(references, s), target=targets[s],
                                 n_steps=options["n_steps"], internal_batch_size=rows)
             for s in _row_chunks(inputs.shape[0], rows)]
    return torch.cat(parts)


def _smooth_integrated_gradients(output, inputs, references, targets, rows, options):
    captum = captum_attr()
    explainer = captum.NoiseTunnel(captum.IntegratedGradients(output))
    n_samples = options["n_samples"]
    spread = float(inputs.max() - inputs.min()) or 1.0
    chunk = max(1, rows // n_samples)  # each row is expanded n_samples times
    parts = [explainer.attribute(inputs[s], nt_type="smoothgrad", nt_samples=n_samples,
                                 nt_samples_batch_size=n_samples, stdevs=NOISE_FRACTION * spread,
                                 baselines=_per_row(references, s), target=targets[s], n_steps=options["n_steps"],
                                 internal_batch_size=rows)
             for s in _row_chunks(inputs.shape[0], chunk)]
    return torch.cat(parts)


def _gradient_shap(output, inputs, references, targets, rows, options):
    explainer = captum_attr().GradientShap(output)
    n_samples = options["n_samples"]
    chunk = max(1, rows // n_samples)  # Captum expands each row n_samples times in one forward pass
    parts = [explainer.attribute(inputs[s], baselines=references, target=targets[s], n_samples=n_samples, stdevs=0.0)
             for s in _row_chunks(inputs.shape[0], chunk)]
    return torch.cat(parts)


def _feature_mask(groups: Any, shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """Group codes 0..G-1 as a ``(1, ...)`` mask, and each element's group size."""
    labels = np.asarray(groups)
    if labels.shape != shape:
        raise DataError(f"The 'feature_groups' parameter of attribute must have one label per element of a sample, "
                        f"shape {shape}. Got shape {labels.shape} instead.")
    _, codes, counts = np.unique(labels.reshape(-1).astype(str), return_inverse=True, return_counts=True)
    mask = torch.as_tensor(codes.reshape(shape), dtype=torch.long)[None]
    sizes = torch.as_tensor(counts[codes].reshape(shape), dtype=torch.float32)[None]
    return mask, sizes


def _kernel_shap(output, inputs, references, targets, rows, options):
    shape = tuple(inputs.shape[1:])
    if options["feature_groups"] is None:
        n_features = int(np.prod(shape))
        if n_features > KERNEL_SHAP_MAX_FEATURES:
            raise ConfigError(f"The method 'kernel_shap' of attribute samples coalitions of features; inputs with "
                              f"{n_features} elements need 'feature_groups' (at most {KERNEL_SHAP_MAX_FEATURES} "
                              f"groups, e.g. superpixels). For images use 'occlusion' or 'integrated_gradients'.")
        mask = torch.arange(n_features).reshape(1, *shape)
        sizes = torch.ones((1, *shape))
    else:
        mask, sizes = _feature_mask(options["feature_groups"], shape)
    explainer = captum_attr().KernelShap(output)
    parts = []
    for i in range(inputs.shape[0]):  # Captum's KernelSHAP explains one row at a time
        row = slice(i, i + 1)
        parts.append(explainer.attribute(inputs[row], baselines=_per_row(references, row), target=targets[row],
                                         feature_mask=mask, n_samples=options["n_samples"],
                                         perturbations_per_eval=min(rows, options["n_samples"])))
    # Captum gives every element of a group the group's Shapley value; split it so groups sum back exactly.
    return torch.cat(parts) / sizes


def default_window(shape: tuple[int, ...]) -> tuple[int, ...]:
    """An eighth of the height and width (all channels) for ``(H, W, C)`` images; one element otherwise."""
    if len(shape) == 3:
        return (max(1, shape[0] // 8), max(1, shape[1] // 8), shape[2])
    return tuple(1 for _ in shape)


def _occlusion(output, inputs, references, targets, rows, options):
    shape = tuple(inputs.shape[1:])
    window = options["window"] if options["window"] is not None else default_window(shape)
    if (not isinstance(window, (tuple, list)) or len(window) != len(shape)
            or not all(isinstance(w, (int, np.integer)) and 1 <= w <= d for w, d in zip(window, shape))):
        raise ConfigError(f"The 'window' parameter of attribute must be a tuple of {len(shape)} ints, each between 1 "
                          f"and the input size {shape}. Got {window!r} instead.")
    window = tuple(int(w) for w in window)
    strides = tuple(max(1, w // 2) for w in window)
    explainer = captum_attr().Occlusion(output)
    chunk = min(inputs.shape[0], rows)
    parts = [explainer.attribute(inputs[s], sliding_window_shapes=window, strides=strides,
                                 baselines=_per_row(references, s), target=targets[s],
                                 perturbations_per_eval=max(1, rows // chunk))
             for s in _row_chunks(inputs.shape[0], chunk)]
    return torch.cat(parts)


_RUNNERS = {"integrated_gradients": _integrated_gradients, "gradient_shap": _gradient_shap,
            "kernel_shap": _kernel_shap, "occlusion": _occlusion,
            "smooth_integrated_gradients": _smooth_integrated_gradients}
