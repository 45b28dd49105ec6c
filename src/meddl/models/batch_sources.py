"""``fit`` / ``evaluate`` / ``predict`` on a torch ``DataLoader`` or a Python generator, as Keras 3 takes them.

Each batch is ``(x, y)`` or ``(x, y, sample_weight)`` (``x`` alone, or first, for
``predict``); arrays or tensors; ``x`` a list for a model with several inputs.
Every batch is checked as ``fit(x, y)`` checks arrays, so a bad batch gets the
same clear error, naming the batch. A DataLoader starts again each epoch (and
reshuffles if it shuffles); a generator is read once, so several epochs need
``steps_per_epoch`` (and a generator that yields forever), as in Keras.

Example:
    >>> import numpy as np, torch, meddl
    >>> x = torch.randn(64, 4); y = (x[:, 0] > 0).long()
    >>> loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True)
    >>> model = meddl.Sequential([meddl.layers.Dense(2, activation="softmax", input_shape=(4,))])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> sorted(model.fit(loader, epochs=2, verbose=0).history)
    ['accuracy', 'loss']
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from meddl.errors import DataError, MeddlError
from meddl.models.py_dataset import PyDataset, epoch_batches
from meddl.models.weighting import sample_weights, validation_weights

__all__ = ["is_batch_source", "fit_on_batches", "evaluate_on_batches", "predict_on_batches"]


def is_batch_source(x: Any) -> bool:
    """Whether ``x`` yields batches (a DataLoader, a PyDataset, a generator or another iterator) rather than
    holding arrays."""
    return isinstance(x, (DataLoader, PyDataset, Iterator))


def _check_steps(steps: Any, argument: str) -> int | None:
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise MeddlError(f"The '{argument}' parameter must be a positive integer or None. Got {steps!r} instead.")
    return steps


def _epoch_iterator(source: Any) -> Iterator:
    """This epoch's batches: a DataLoader or PyDataset afresh, a generator where it stopped."""
    return iter(source) if isinstance(source, (DataLoader, PyDataset)) else source


def _restarts(source: Any) -> bool:
    """Whether ``source`` gives all its batches again each epoch (a generator is read once)."""
    return isinstance(source, (DataLoader, PyDataset))


def _parts(batch: Any, index: int, need_target: bool) -> tuple[Any, Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        return batch[0], batch[1], batch[2] if len(batch) == 3 else None
    if not need_target:
        return (batch[0] if isinstance(batch, (tuple, list)) and len(batch) == 1 else batch), None, None
    kind = f"a {type(batch).__name__} of {len(batch)}" if isinstance(batch, (tuple, list)) else type(batch).__name__
    raise DataError(f"Batch {index} of the training data must be (x, y) or (x, y, sample_weight); got {kind}.")


def _prepared(model: Any, batches: Iterator, *, class_weight: Any = None, with_weights: bool = True) -> Iterator:
    """Each raw batch as the loop's tensor tuple (inputs, targets[, weights]), checked like fit's arrays."""
    for index, batch in enumerate(batches):
        x, y, weight = _parts(batch, index, need_target=True)
        xs, ys = model._prepare_xy(x, y, f"x (batch {index})", f"y (batch {index})")
        weights = sample_weights(ys[0], model.loss, class_weight, weight) if with_weights else None
        yield (*xs, *ys) if weights is None else (*xs, *ys, weights)


def fit_on_batches(model: Any, source: Any, y: Any, *, epochs: int, initial_epoch: int, steps_per_epoch: Any,
                   validation_data: Any, validation_steps: Any, validation_split: float, class_weight: Any,
                   sample_weight: Any, callbacks: Any, verbose: int, validation_freq: int = 1, shuffle: bool = True):
    """``model.fit`` on a DataLoader or generator; returns the History and the precision it trained in."""
    steps = _check_steps(steps_per_epoch, "steps_per_epoch")
    validation_steps = _check_steps(validation_steps, "validation_steps")
    for name, value, why in (("y", y, "each batch holds its targets: (x, y)"),
                             ("sample_weight", sample_weight, "give them as each batch's third element"),
                             ("validation_split", validation_split or None, "pass validation_data instead")):
        if value is not None:
            raise MeddlError(f"fit on a {type(source).__name__} takes no '{name}': {why}.")
    if isinstance(class_weight, str):
        raise MeddlError("class_weight='balanced' needs every label at once; with a DataLoader or generator give "
                         "a dict {class: weight}.")
    if not _restarts(source) and steps is None and epochs - initial_epoch > 1:
        raise MeddlError(f"A {type(source).__name__} is read once: for {epochs - initial_epoch} epochs pass "
                         "steps_per_epoch=N (and let it yield forever), or use a DataLoader.")
    if isinstance(source, DataLoader) and steps is None and hasattr(source, "__len__"):
        try:
            steps = len(source)
        except TypeError:  # an IterableDataset without a length
            steps = None
    if isinstance(source, PyDataset) and steps is None:
        steps = source.num_batches
    if not model.built:  # build from the first batch, which still trains
        first = next(iter(source), None) if _restarts(source) else next(source, None)
        if first is None:
            raise DataError("The training data gave no batches.")
        x, y_first, _ = _parts(first, 0, need_target=True)
        model._prepare_xy(x, y_first, "x (batch 0)", "y (batch 0)")
        if not _restarts(source):
            source = itertools.chain([first], source)
    loop = model._loop()
    validate = None
    if validation_data is not None:
        if is_batch_source(validation_data):
            def validate():
                return loop.evaluate_batches(_prepared(model, _epoch_iterator(validation_data), with_weights=False),
                                             validation_steps)
        else:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise DataError("'validation_data' must be a tuple (x_val, y_val), a DataLoader or a generator; got "
                                f"{type(validation_data).__name__}.")
            val_xs, val_ys = model._prepare_xy(validation_data[0], validation_data[1], "validation_data[0]",
                                               "validation_data[1]")
            weights = validation_weights(val_ys, model.loss, validation_data)

            def validate():
                return loop.evaluate((*val_xs, *val_ys, *weights), weighted=bool(weights))

    def training_batches(epoch: int) -> Iterator:
        batches = epoch_batches(source, shuffle) if isinstance(source, PyDataset) else _epoch_iterator(source)
        return _prepared(model, batches, class_weight=class_weight)

    history = loop.fit_batches(training_batches,
                               epochs=epochs, steps_per_epoch=steps, validate=validate, callbacks=callbacks or (),
                               verbose=verbose, initial_epoch=initial_epoch, validation_freq=validation_freq)
    return history, loop.precision


def evaluate_on_batches(model: Any, source: Any, steps: Any) -> dict[str, float]:
    """``model.evaluate`` on a DataLoader or generator: the logs."""
    steps = _check_steps(steps, "steps")
    return model._loop().evaluate_batches(_prepared(model, _epoch_iterator(source), with_weights=False), steps)


def predict_on_batches(model: Any, source: Any, steps: Any) -> np.ndarray:
    """``model.predict`` on a DataLoader or generator: every batch's outputs, in order."""
    steps = _check_steps(steps, "steps")
    outputs = []
    for index, batch in enumerate(_epoch_iterator(source)):
        if steps is not None and index >= steps:
            break
        x, _, _ = _parts(batch, index, need_target=False)
        tensors = [model._to_device(a) for a in model._prepare_x(x, f"x (batch {index})")]
        outputs.append(model.predict_tensor(tensors[0] if len(tensors) == 1 else tensors))
    if not outputs:
        raise DataError("The data to predict gave no batches.")
    if isinstance(outputs[0], list):
        return [torch.cat([out[i] for out in outputs]).cpu().numpy() for i in range(len(outputs[0]))]
    return torch.cat(outputs).cpu().numpy()
