"""Trust checks for explanations of a survival risk score or an estimated treatment effect.

The explained quantity is a function of an estimator (``predict_risk``,
``predict_effect``), not a classifier's probability, but the same three
questions apply:

* randomisation -- re-initialise every neural network inside the estimator
  (all members of an ensemble, both heads of a treatment model) and recompute
  the attributions; Spearman of |attribution| and SSIM against the trained
  ones should be low. An estimator without neural weights (e.g. a fitted linear
  model) makes the check undefined, and it says so;
* deletion/insertion -- move each patient's columns to the reference patient
  in the attribution order and in random orders: the risk (or effect) should
  move faster in the attribution order; per-patient gains with 95% CIs;
* completeness -- Shapley values (KernelSHAP) and Integrated Gradients promise
  that a patient's attributions add up to ``f(x) - f(reference)``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from meddl.explain.faithfulness import faithfulness
from meddl.explain.similarity import constant_rows, rank_correlation, structural_similarity
from meddl.explain.trust import RANDOMIZATION_THRESHOLD, completeness_error, randomization_verdict, reinitialize

__all__ = ["estimator_trust", "randomized_estimator", "completeness_check", "COMPLETENESS_TOLERANCE"]

#: The completeness check passes when the median relative error is below this.
COMPLETENESS_TOLERANCE = 0.05


def _modules(value: Any, found: list[torch.nn.Module], seen: set[int], depth: int = 0) -> None:
    if id(value) in seen or depth > 6:
        return
    seen.add(id(value))
    if isinstance(value, torch.nn.Module):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _modules(item, found, seen, depth + 1)
    elif isinstance(value, dict):
        for item in value.values():
            _modules(item, found, seen, depth + 1)
    elif hasattr(value, "__dict__") and not isinstance(value, (type, np.ndarray)):
        for item in vars(value).values():
            _modules(item, found, seen, depth + 1)


def randomized_estimator(estimator: Any, *, seed: int = 0) -> tuple[Any, int]:
    """A deep copy of ``estimator`` with every torch network inside it re-initialised; and how many there were.

    Example:
        >>> class Model:
        ...     def __init__(self): self.network_ = torch.nn.Linear(2, 1)
        >>> model = Model()
        >>> clone, count = randomized_estimator(model)
        >>> count, torch.equal(clone.network_.weight, model.network_.weight)
        (1, False)
    """
    clone = copy.deepcopy(estimator)
    found: list[torch.nn.Module] = []
    _modules(clone, found, set())
    generator = torch.Generator().manual_seed(seed)
    for module in found:
        reinitialize(module, generator)
    return clone, len(found)


def completeness_check(f: Callable[[torch.Tensor], torch.Tensor], x: Any, attributions: Any, *, baseline: Any,
                       method: str, target: Any = None, tolerance: float = COMPLETENESS_TOLERANCE,
                       batch_size: int | None = None) -> dict[str, Any]:
    """Median relative completeness error of ``attributions`` with a status and its reason.

    Example:
        >>> weights = torch.tensor([1.0, 2.0])
        >>> out = completeness_check(lambda z: z @ weights, [[1.0, 1.0]], [[1.0, 2.0]], baseline=0.0, method="shap")
        >>> out["status"], out["median_relative_error"]
        ('passed', 0.0)
    """
    errors = completeness_error(f, x, attributions, baseline=baseline, target=target, batch_size=batch_size)
    defined = errors[np.isfinite(errors)]
    out = {"method": method, "n_rows": int(len(errors)), "undefined_rows": int(len(errors) - defined.size),
           "tolerance": tolerance, "median_relative_error": float(np.median(defined)) if defined.size else None,
           "max_relative_error": float(defined.max()) if defined.size else None}
    if not defined.size:
        out["status"], out["reason"] = "undefined", ("every explained row has the reference's own output "
                                                     "(|f(x) - f(reference)| ~ 0): there is nothing to add up to")
    elif out["median_relative_error"] < tolerance:
        out["status"], out["reason"] = "passed", (f"the attributions add up to f(x) - f(reference) within "
                                                  f"{out['median_relative_error']:.1%} (median)")
    else:
        out["status"], out["reason"] = "failed", (f"the attributions miss f(x) - f(reference) by "
                                                  f"{out['median_relative_error']:.1%} (median; tolerance {tolerance:.0%})")
    out["passed"] = {"passed": True, "failed": False}.get(out["status"])
    return out


def estimator_trust(score: Callable[[Any, np.ndarray], np.ndarray], estimator: Any, x: Any, attributions: Any,
                    explain: Callable[[Any, np.ndarray], np.ndarray], *, baseline: Any, units: Any = None,
                    method: str = "kernel_shap", n_random: int = 10, seed: int = 0,
                    threshold: float = RANDOMIZATION_THRESHOLD) -> dict[str, Any]:
    """Randomisation, deletion/insertion (with CIs) and completeness of the attributions of ``score(estimator, x)``.

    Args:
        score: ``score(estimator, x) -> (n,)``, e.g. ``lambda m, x: m.predict_risk(x)``.
        estimator: the fitted estimator (not changed).
        x: the explained rows (preprocessed features ``(n, d)``); attributions: their attributions ``(n, d)``.
        explain: ``explain(estimator, x) -> attributions``, rerun for the randomised estimator.
        baseline: the reference patient (features ``(d,)``); units: one column label per feature.

    Returns:
        ``{"randomization": {...}, "deletion_insertion": {...}, "faithfulness": {...}, "completeness": {...}}``,
        each with ``status`` and ``reason``.

    Example:
        >>> class Cox:
        ...     def __init__(self): self.network_ = torch.nn.Linear(3, 1, bias=False)
        ...     def risk(self, x): return self.network_(torch.as_tensor(x, dtype=torch.float32))[:, 0].detach().numpy()
        >>> torch.manual_seed(0) and None
        >>> model, x = Cox(), np.random.default_rng(0).normal(size=(12, 3))
        >>> weights = model.network_.weight.detach().numpy()[0]
        >>> checks = estimator_trust(lambda m, z: m.risk(z), model, x, x * weights,
        ...                          lambda m, z: z * m.network_.weight.detach().numpy()[0], baseline=np.zeros(3))
        >>> checks["completeness"]["status"], checks["randomization"]["status"] in ("passed", "failed")
        ('passed', True)
    """
    values = np.asarray(attributions, dtype=np.float64)
    rows = np.asarray(x, dtype=np.float64)

    def as_function(model: Any) -> Callable[[torch.Tensor], torch.Tensor]:
        def f(tensor: torch.Tensor) -> torch.Tensor:
            return torch.as_tensor(np.asarray(score(model, tensor.detach().cpu().numpy()), dtype=np.float64))
        return f

    randomized, count = randomized_estimator(estimator, seed=seed)
    if count == 0:
        randomization = {"status": "undefined", "passed": None, "spearman": None, "ssim": None,
                         "reason": "the estimator has no neural-network weights to randomise, so the "
                                   "randomisation test does not apply", "n_rows": int(len(rows))}
    else:
        random_values = np.asarray(explain(randomized, rows), dtype=np.float64)
        spearman, ssim = rank_correlation(values, random_values), structural_similarity(values, random_values)
        flat = constant_rows(values)
        spearman[flat], ssim[flat] = np.nan, np.nan
        defined = np.isfinite(spearman)
        mean_spearman = float(spearman[defined].mean()) if defined.any() else None
        mean_ssim = float(np.nanmean(ssim)) if (~flat).any() else None
        status, reason = randomization_verdict(mean_spearman, mean_ssim, threshold, int(flat.sum()), len(rows))
        randomization = {"status": status, "reason": reason, "passed": {"passed": True, "failed": False}.get(status),
                         "spearman": mean_spearman, "ssim": mean_ssim, "threshold": threshold,
                         "n_rows": int(len(rows)), "undefined_rows": int(flat.sum()), "networks_randomized": count}
    f = as_function(estimator)
    faith = faithfulness(f, rows, values, baseline=baseline, units=units, n_steps=20, n_random=n_random, seed=seed)
    curves = {"deletion": faith.pop("deletion"), "insertion": faith.pop("insertion"), "fractions": faith["fractions"],
              "faithful": faith["status"] == "passed", "status": faith["status"], "reason": faith["reason"]}
    return {"randomization": randomization, "faithfulness": faith, "deletion_insertion": curves,
            "completeness": completeness_check(f, rows, values, baseline=baseline, method=method)}
