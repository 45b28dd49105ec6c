"""Trust checks that table and image explanations share: randomisation, deletion/insertion, completeness."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from meddl.explain.trust import completeness_error, deletion_insertion, model_randomization_test

__all__ = ["check_method_trust", "completeness_summary", "COMPLETENESS_TOLERANCE"]

#: Integrated Gradients' completeness check passes when the median relative error is below this.
COMPLETENESS_TOLERANCE = 0.05


def check_method_trust(f: Any, explain: Callable[[Any, Any], np.ndarray], x: np.ndarray, attributions: np.ndarray,
                       targets: np.ndarray, *, baseline: Any, units: Any, n_random: int, seed: int,
                       batch_size: int | None) -> dict[str, Any]:
    """The randomisation test and deletion/insertion curves of one method on ``x``.

    ``f`` is the explained module (``ModelOutput``); ``explain(module, x)`` recomputes
    the method's attributions, for ``f`` and for its randomised copy.
    """
    return {"randomization": model_randomization_test(f, x, explain, seed=seed),
            "deletion_insertion": deletion_insertion(f, x, attributions, baseline=baseline, target=targets,
                                                     units=units, n_random=n_random, seed=seed,
                                                     batch_size=batch_size)}


def completeness_summary(f: Any, x: np.ndarray, attributions: np.ndarray, targets: np.ndarray, *, baseline: Any,
                         n_steps: int, batch_size: int | None) -> dict[str, Any]:
    """Integrated Gradients' relative completeness error over all explained rows, summarised."""
    errors = completeness_error(f, x, attributions, baseline=baseline, target=targets, batch_size=batch_size)
    defined = errors[np.isfinite(errors)]
    median = float(np.median(defined)) if defined.size else None
    return {"n_steps": n_steps, "median_relative_error": median,
            "max_relative_error": float(defined.max()) if defined.size else None,
            "n_rows": int(len(errors)), "undefined_rows": int(len(errors) - defined.size),
            "tolerance": COMPLETENESS_TOLERANCE, "passed": None if median is None else bool(median < COMPLETENESS_TOLERANCE)}
