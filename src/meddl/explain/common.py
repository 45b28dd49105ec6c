"""Pieces ``explain_run`` shares between tables and images: predictions, targets, trust checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from meddl.errors import ConfigError, unknown_name_error
from meddl.runs.explain_data import RunRows
from meddl.explain.trust import completeness_error, deletion_insertion, model_randomization_test

#: Integrated Gradients' completeness check passes when the median relative error is below this.
COMPLETENESS_TOLERANCE = 0.05


def predict_rows(run: Any, rows: RunRows) -> pd.DataFrame:
    """``Run.predict`` on the rows (so probabilities and classes match the run's own predictions), keyed by ``id``."""
    frame = run.predict(rows.raw).drop(columns=["row_id"])
    frame.insert(0, "id", rows.ids)
    return frame.reset_index(drop=True)


def resolve_targets(run: Any, predicted: pd.DataFrame, target: Any) -> tuple[np.ndarray, str]:
    """Index of the explained output per row, and the rule in words."""
    n = len(predicted)
    names = run.class_names
    if names is None:
        if target is not None:
            raise ConfigError(f"The 'target' parameter of explain_run must be None for a regression run (there is one "
                              f"output, the predicted value). Got {target!r} instead.")
        return np.zeros(n, dtype=np.int64), "the predicted value"
    index = {name: k for k, name in enumerate(names)}
    if target is None and len(names) == 2:
        return np.ones(n, dtype=np.int64), f"the positive class {names[1]!r}"
    if target is None or target == "predicted":
        return predicted["predicted"].map(index).to_numpy(dtype=np.int64), "each case's predicted class"
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not 0 <= target < len(names):
            raise ConfigError(f"The 'target' parameter of explain_run must be a class index in [0, {len(names) - 1}], "
                              f"a class name or 'predicted'. Got {target!r} instead.")
        return np.full(n, int(target)), f"the class {names[int(target)]!r}"
    if str(target) not in index:
        raise unknown_name_error("target class", target, [*names, "predicted"], error_class=ConfigError)
    return np.full(n, index[str(target)]), f"the class {str(target)!r}"


def prediction_table(run: Any, predicted: pd.DataFrame, targets: np.ndarray) -> pd.DataFrame:
    """``id``, ``target_class``, ``probability`` of the target class (or ``prediction``), ``predicted``."""
    out = pd.DataFrame({"id": predicted["id"].to_numpy()})
    if run.class_names is None:
        out["target_class"] = None
        out["prediction"] = predicted["predicted"].to_numpy()
        return out
    proba = predicted[[f"prob_{name}" for name in run.class_names]].to_numpy()
    out["target_class"] = [run.class_names[k] for k in targets]
    out["probability"] = proba[np.arange(len(targets)), targets]
    out["predicted"] = predicted["predicted"].to_numpy()
    return out


def sample_rows(rows: RunRows | None, n: int, seed: int) -> np.ndarray | None:
    """Up to ``n`` rows' features drawn without replacement (GradientSHAP's background set)."""
    if rows is None:
        return None
    rng = np.random.default_rng(seed)
    picked = np.sort(rng.choice(len(rows.x), size=min(n, len(rows.x)), replace=False))
    return rows.x[picked]


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
