"""The cascading model-parameter randomisation test (Adebayo et al. 2018, "Sanity checks for saliency maps").

Starting from the output layer, the weights are re-initialised at random one
layer (or group of layers) at a time, keeping the earlier randomisations, and
the explanation is recomputed after each step. An explanation that reflects
what the model learned changes as soon as the top layers lose their weights; one
that survives to the last step shows the input (its edges, its bright regions),
not the model. Each step compares the maps with the trained model's by the
Spearman rank correlation of absolute values and by SSIM (see
:mod:`meddl.explain.similarity`), as the paper did; the verdict uses the last
step (every weight random).

Only a ``torch.nn.Module`` and a callable ``explain(module, x)`` are needed.
Layers are taken from ``module.layers`` (a meddl ``Sequential``), from
``module.members[k].layers`` (an ensemble: layer i of every member is one
step), or else from the submodules that own parameters, in order.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from meddl.errors import ConfigError
from meddl.validation import check_fraction, check_positive_int
from meddl.explain.checks import check_seed
from meddl.explain.similarity import constant_rows, rank_correlation, structural_similarity
from meddl.explain.trust import RANDOMIZATION_THRESHOLD, randomization_verdict, reinitialize

__all__ = ["cascading_randomization", "cascade_layers"]

#: Steps of the cascade when a model has more layers than this (consecutive layers are grouped).
MAX_STEPS = 6


def _has_parameters(module: torch.nn.Module) -> bool:
    return any(True for _ in module.parameters())


def cascade_layers(model: torch.nn.Module) -> list[tuple[str, list[torch.nn.Module]]]:
    """The model's layers with weights, from the output down: ``[(name, [modules]), ...]``.

    Example:
        >>> from meddl import Sequential
        >>> from meddl.layers import Dense, Dropout
        >>> net = Sequential([Dense(4, input_shape=(3,), name="hidden"), Dropout(0.1), Dense(2, name="out")])
        >>> [name for name, _ in cascade_layers(net)]
        ['out', 'hidden']
    """
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"The 'model' parameter of cascading_randomization must be a torch.nn.Module (e.g. a meddl "
                          f"Sequential). Got {type(model).__name__} instead.")
    members = getattr(model, "members", None)
    if isinstance(members, torch.nn.ModuleList) and all(hasattr(m, "layers") for m in members) and len(members):
        depth = min(len(m.layers) for m in members)
        units = [(getattr(members[0].layers[i], "name", str(i)), [m.layers[i] for m in members]) for i in range(depth)]
    elif hasattr(model, "layers"):
        units = [(getattr(layer, "name", str(i)), [layer]) for i, layer in enumerate(model.layers)]
    else:
        units = [(name or type(module).__name__, [module]) for name, module in model.named_modules()
                 if any(True for _ in module.parameters(recurse=False))]
    return [(name, modules) for name, modules in reversed(units) if any(_has_parameters(m) for m in modules)]


def _steps(units: list, max_steps: int) -> list[list]:
    if len(units) <= max_steps:
        return [[unit] for unit in units]
    bounds = np.linspace(0, len(units), max_steps + 1).round().astype(int)
    return [units[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def cascading_randomization(model: torch.nn.Module, x: Any, explain: Callable[[torch.nn.Module, Any], np.ndarray], *,
                            seed: int = 0, max_steps: int = MAX_STEPS,
                            threshold: float = RANDOMIZATION_THRESHOLD) -> dict[str, Any]:
    """Randomise the model's weights from the output layer down, and measure how much of the explanation survives.

    Args:
        model: the trained model (a ``torch.nn.Module``; left untouched).
        x: the inputs to explain.
        explain: ``explain(module, x) -> maps`` (attributions or heat maps, one row per input).
        seed: seed of the random re-initialisation.
        max_steps: at most this many steps (consecutive layers are grouped); 1 = all weights at once.
        threshold: the test passes when the mean similarity at the last step is below it.

    Returns:
        ``{"status", "reason", "passed", "spearman", "ssim", "threshold", "n_rows",
        "undefined_rows", "steps": [{"randomized": [layers], "spearman", "ssim",
        "spearman_undefined_rows"}, ...], "ssim_per_row", "spearman_per_row"}``; the
        top-level figures are those of the last step (every weight random). Rows
        whose trained map is constant are left out (counted in ``undefined_rows``);
        the status is ``"undefined"`` only if every row is.

    Example:
        >>> import torch
        >>> from meddl.explain import attribute
        >>> torch.manual_seed(0) and None
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
        >>> out = cascading_randomization(net, torch.randn(5, 4), lambda m, x: attribute(m, x))
        >>> [step["randomized"] for step in out["steps"]], out["status"] in ("passed", "failed")
        ([['2'], ['2', '0']], True)
    """
    owner = "cascading_randomization"
    if not callable(explain):
        raise ConfigError(f"The 'explain' parameter of {owner} must be a callable explain(module, x) -> maps. "
                          f"Got {type(explain).__name__} instead.")
    seed = check_seed(seed, owner)
    max_steps = check_positive_int(max_steps, "max_steps", owner)
    threshold = check_fraction(threshold, "threshold", owner, low=-1.0, high=1.0)
    trained = np.asarray(explain(model, x), dtype=np.float64)
    flat = constant_rows(trained)
    clone = copy.deepcopy(model)
    units = cascade_layers(clone)
    if not units:
        raise ConfigError(f"The 'model' given to {owner} has no weights to randomise.")
    generator = torch.Generator().manual_seed(seed)
    randomized: list[str] = []
    steps = []
    for group in _steps(units, max_steps):
        for name, modules in group:
            for module in modules:
                reinitialize(module, generator)
            randomized.append(name)
        maps = np.asarray(explain(clone, x), dtype=np.float64)
        spearman = rank_correlation(trained, maps)
        ssim = structural_similarity(trained, maps)
        spearman[flat], ssim[flat] = np.nan, np.nan
        defined = np.isfinite(spearman)
        steps.append({"randomized": list(randomized),
                      "spearman": float(spearman[defined].mean()) if defined.any() else None,
                      "ssim": float(np.nanmean(ssim)) if (~flat).any() else None,
                      "spearman_undefined_rows": int((~defined).sum()),
                      "_spearman": spearman, "_ssim": ssim})
    last = steps[-1]
    status, reason = randomization_verdict(last["spearman"], last["ssim"], threshold, int(flat.sum()), len(trained))

    def listed(values: np.ndarray) -> list[float | None]:
        return [None if not np.isfinite(v) else float(v) for v in values]

    result = {"status": status, "reason": reason, "passed": {"passed": True, "failed": False}.get(status),
              "spearman": last["spearman"], "ssim": last["ssim"], "threshold": threshold, "n_rows": int(len(trained)),
              "undefined_rows": int(flat.sum()), "spearman_per_row": listed(last["_spearman"]),
              "ssim_per_row": listed(last["_ssim"]), "method": "cascading (Adebayo et al. 2018), output layer first"}
    result["steps"] = [{k: v for k, v in step.items() if not k.startswith("_")} for step in steps]
    return result
