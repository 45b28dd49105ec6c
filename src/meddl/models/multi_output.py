"""Training a model with several outputs: one loss per output, summed with ``loss_weights`` (Keras's rule).

``compile(loss=...)`` takes one loss for every output, a list (in output order) or a dict keyed by output
name; ``fit`` takes ``y`` the same ways. The logged ``loss`` is the weighted sum, and each output's own loss
is logged as ``<output>_loss``; ``compile(metrics=...)`` takes a list of lists (in output order) or a dict
``{output: metrics}``, logged as ``<output>_<metric>``, as in Keras 3. ``class_weight`` is for single-output
models in meddl.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from meddl.errors import DataError, MeddlError
from meddl.models.inputs import as_array, check_finite, check_same_length
from meddl.training import losses as losses_module
from meddl.training import metrics as metrics_module

__all__ = ["per_output", "output_losses", "logged_loss_names", "prepare_targets", "weighted_loss", "output_metrics",
           "output_loss_terms"]


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


def output_losses(loss: Any, names: list[str]) -> list[losses_module.Loss | None]:
    """One loss per output, ``None`` for an output compiled without one (Keras's ``loss=[None, ...]``): that
    output is predicted but not trained, and its targets are not read."""
    if loss is None:  # compile() without a loss: the layers' add_loss losses alone
        return [losses_module.NoLoss()] + [None] * (len(names) - 1)
    losses = per_output(loss, names, "loss", lambda item: None if item is None else losses_module.check_loss(item))
    if all(item is None for item in losses):
        raise MeddlError(f"compile() needs a loss for at least one of the outputs {names}; every entry of 'loss' "
                         f"is None. Got {loss!r}.")
    return losses


def logged_loss_names(losses: list[losses_module.Loss | None] | None, names: list[str]) -> list[str]:
    """The ``<output>_loss`` keys a fit logs: Keras 3 logs each output's own loss only when more than one output
    has a loss."""
    if losses is None:
        return []
    trained = [name for name, loss in zip(names, losses) if loss is not None]
    return [f"{name}_loss" for name in trained] if len(trained) > 1 else []


def prepare_targets(model, y: Any, n: int, y_name: str) -> list[torch.Tensor]:
    """Checked target tensors, one per output, on the model's device and dtype."""
    names = model.output_names
    if y is None and all(loss is None or isinstance(loss, losses_module.NoLoss) for loss in model.output_losses):
        return [torch.zeros(n, dtype=model.dtype, device=model.device) for _ in names]  # add_loss alone: no targets
    items = per_output(y, names, y_name, lambda item: item) if isinstance(y, (list, tuple, dict)) else None
    if items is None:
        raise DataError(f"The model has {len(names)} outputs {names}: give '{y_name}' as a list of {len(names)} "
                        "arrays or a dict {output name: array}.")
    targets = []
    for index, (item, loss, tensor) in enumerate(zip(items, model.output_losses, model.outputs)):
        name = f"{y_name}[{names[index]!r}]"
        if loss is None:  # an output without a loss: its targets are not read (Keras's)
            targets.append(torch.zeros(n, dtype=model.dtype, device=model.device))
            continue
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
        if loss is None:
            continue
        term = loss.compute(output, target, sample_weight) * weight
        total = term if total is None else total + term
    return total


def output_metrics(metrics: Any, names: list[str], losses: list[losses_module.Loss]):
    """Keras 3's metrics of a model with several outputs: a list with one entry (a metric or a list of them) per
    output, or a dict ``{output: metrics}`` that may leave outputs out. Returns the ``(name, fn)`` pairs the
    training loop calls with every output's targets and outputs (each picks its own, named
    ``<output>_<metric>``), and what compile's saved config keeps."""
    if isinstance(metrics, dict):
        unknown = sorted(set(metrics) - set(names))
        if unknown:
            raise MeddlError(f"The 'metrics' dict names outputs the model does not have: {unknown}; its outputs are "
                             f"{names}.")
        chosen = {name: metrics.get(name) for name in names}
    elif isinstance(metrics, (list, tuple)) and len(metrics) == len(names):
        chosen = dict(zip(names, metrics))
    else:
        raise MeddlError(f"The model has {len(names)} outputs {names}: give 'metrics' as a list with one entry (a "
                         "metric or a list of metrics) per output, or a dict {output name: metrics}, as Keras 3 asks. "
                         f"Got {metrics!r}.")
    chosen = {name: [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]
              for name, value in chosen.items()}
    functions = []
    for index, (name, loss) in enumerate(zip(names, losses)):
        for metric in chosen[name]:
            metric_name, function = metrics_module.get(metric)
            kind = "regression" if loss is None else loss.target_kind
            functions.append((f"{name}_{metric_name}", _for_output(function, index, kind)))
    specs = {name: [metrics_module.serialize(metric) for metric in chosen[name]] for name in names if chosen[name]}
    return functions, specs


def _for_output(function, index: int, kind: str):
    def for_output(targets: list[torch.Tensor], outputs: list[torch.Tensor], _kind: str) -> float:
        return function(targets[index], outputs[index].float(), kind)
    for_output.direction = getattr(function, "direction", None)  # for the callbacks' mode="auto"
    for_output.per_row_mean = getattr(function, "per_row_mean", False)  # for the per-batch logs
    return for_output


def output_loss_terms(losses: list[losses_module.Loss], names: list[str], n_inputs: int):
    """``(batch, outputs) -> {"<output>_loss": value}``: each output's own (unweighted) loss on a batch, with
    the batch's sample weights if it has them, as Keras 3 logs it."""
    m = len(losses)
    logged = set(logged_loss_names(losses, names))

    def terms(batch, outputs) -> dict[str, torch.Tensor]:
        sample_weight = batch[n_inputs + m] if len(batch) > n_inputs + m else None
        return {f"{name}_loss": loss.compute(output, batch[n_inputs + index], sample_weight)
                for index, (name, loss, output) in enumerate(zip(names, losses, outputs))
                if f"{name}_loss" in logged}
    return terms
