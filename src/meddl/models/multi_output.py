"""Training a model with several outputs: one loss per output, summed with ``loss_weights`` (Keras's rule).

``compile(loss=...)`` takes one loss for every output, a list (in output order) or a dict keyed by
output-layer name; ``fit`` takes ``y`` the same ways. The logged ``loss`` is the weighted sum.
Metrics and ``class_weight`` are for single-output models in meddl.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from meddl.errors import DataError, MeddlError
from meddl.models.inputs import as_array, check_finite, check_same_length
from meddl.training import losses as losses_module

__all__ = ["per_output", "prepare_targets", "weighted_loss"]


def per_output(value: Any, names: list[str], what: str, convert) -> list:
    """One ``convert(item)`` per output from a single value, a list in output order or a dict by output name."""
    if isinstance(value, dict) and not (what == "loss" and "name" in value):
        unknown = sorted(set(value) - set(names))
        missing = [name for name in names if name not in value]
        if unknown or missing:
            raise MeddlError(f"The '{what}' dict must have one entry per output {names}; "
                             f"unknown {unknown}, missing {missing}.")
        return [convert(value[name]) for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise MeddlError(f"The model has {len(names)} outputs {names}; '{what}' has {len(value)} entries.")
        return [convert(item) for item in value]
    return [convert(value) for _ in names]


def prepare_targets(model, y: Any, n: int, y_name: str) -> list[torch.Tensor]:
    """Checked target tensors, one per output, on the model's device and dtype."""
    names = model.output_names
    items = per_output(y, names, y_name, lambda item: item) if isinstance(y, (list, tuple, dict)) else None
    if items is None:
        raise DataError(f"The model has {len(names)} outputs {names}: give '{y_name}' as a list of {len(names)} "
                        "arrays or a dict {output name: array}.")
    targets = []
    for index, (item, loss, tensor) in enumerate(zip(items, model.output_losses, model.outputs)):
        name = f"{y_name}[{names[index]!r}]"
        array = as_array(item, name)
        check_finite(array, name)
        if len(array) != n:
            check_same_length(np.empty(n), array, "x", name)
        target = loss.prepare_targets(array, tensor.sample_shape[-1], name)
        targets.append((target.to(model.dtype) if target.is_floating_point() else target).to(model.device))
    return targets


def weighted_loss(losses: list[losses_module.Loss], weights: list[float], outputs, targets, sample_weight=None):
    total = None
    for loss, weight, output, target in zip(losses, weights, outputs, targets):
        term = loss.compute(output, target, sample_weight) * weight
        total = term if total is None else total + term
    return total
