"""How many trained parameters a fitted estimator holds, for the model card of every task.

Diagnosis and regression models are meddl ``Sequential`` networks (``count_params``);
survival and treatment estimators wrap their networks (``network_``) and ensembles
hold members (``members_``, ``estimators_``, ``risk_model_``). One walk covers them all.
"""

from __future__ import annotations

from typing import Any

__all__ = ["count_parameters"]

_PART_ATTRIBUTES = ("network_", "risk_model_", "members_", "estimators_")


def count_parameters(estimator: Any) -> int | None:
    """Trainable and frozen parameters of ``estimator`` summed over its networks; ``None`` when it holds none."""
    if hasattr(estimator, "count_params"):
        return int(estimator.count_params())
    if hasattr(estimator, "parameters") and callable(estimator.parameters):  # a torch.nn.Module
        return int(sum(p.numel() for p in estimator.parameters()))
    total, found = 0, False
    for name in _PART_ATTRIBUTES:
        part = getattr(estimator, name, None)
        for item in part if isinstance(part, (list, tuple)) else [part]:
            count = None if item is None else count_parameters(item)
            if count is not None:
                total, found = total + count, True
    return total if found else None
