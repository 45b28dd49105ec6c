"""Trust checks that table and image explanations share: randomisation, deletion/insertion, completeness."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from meddl.explain.outcome_trust import COMPLETENESS_TOLERANCE, completeness_check
from meddl.explain.faithfulness import faithfulness
from meddl.explain.trust import model_randomization_test

__all__ = ["check_method_trust", "completeness_summary", "COMPLETENESS_TOLERANCE"]


def check_method_trust(f: Any, explain: Callable[[Any, Any], np.ndarray], x: np.ndarray, attributions: np.ndarray,
                       targets: np.ndarray, *, baseline: Any, units: Any, n_random: int, seed: int,
                       batch_size: int | None) -> dict[str, Any]:
    """The randomisation test, and deletion/insertion gains with 95% CIs over rows, of one method on ``x``.

    ``f`` is the explained module (``ModelOutput``); ``explain(module, x)`` recomputes
    the method's attributions, for ``f`` and for its randomised copy.
    """
    faith = faithfulness(f, x, attributions, baseline=baseline, target=targets, units=units, n_random=n_random,
                         seed=seed, batch_size=batch_size)
    curves = {"deletion": faith.pop("deletion"), "insertion": faith.pop("insertion"), "fractions": faith["fractions"],
              "n_rows": faith["n_rows"], "n_random": n_random, "faithful": faith["status"] == "passed",
              "status": faith["status"], "reason": faith["reason"]}
    return {"randomization": model_randomization_test(f, x, explain, seed=seed), "faithfulness": faith,
            "deletion_insertion": curves}


def completeness_summary(f: Any, x: np.ndarray, attributions: np.ndarray, targets: np.ndarray, *, baseline: Any,
                         n_steps: int, batch_size: int | None) -> dict[str, Any]:
    """Integrated Gradients' relative completeness error over all explained rows, with a status and its reason."""
    summary = completeness_check(f, x, attributions, baseline=baseline, target=targets, method="integrated_gradients",
                                 batch_size=batch_size)
    return {"n_steps": n_steps, **summary}
