"""Trust checks that table and image explanations share: randomisation, deletion/insertion, completeness."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from meddl.explain.outcome_trust import COMPLETENESS_TOLERANCE, completeness_check
from meddl.explain.trust import deletion_insertion, model_randomization_test

__all__ = ["check_method_trust", "completeness_summary", "COMPLETENESS_TOLERANCE"]


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
    """Integrated Gradients' relative completeness error over all explained rows, with a status and its reason."""
    summary = completeness_check(f, x, attributions, baseline=baseline, target=targets, method="integrated_gradients",
                                 batch_size=batch_size)
    return {"n_steps": n_steps, **summary}
