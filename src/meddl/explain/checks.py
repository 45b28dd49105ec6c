"""Shared plumbing of :mod:`meddl.explain`: argument checks, seeding, the model-output wrapper.

Every check raises a :class:`~meddl.errors.MeddlError` subclass whose message
names the argument, says what was expected and what was received.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from meddl.errors import ConfigError, DataError, MeddlError
from meddl.validation import check_positive_int
from meddl.models.inputs import as_array, check_finite

__all__ = ["captum_attr", "seeded", "eval_mode", "as_input_tensor", "as_baseline", "OutputFunction", "check_target",
           "check_batch_size", "auto_batch_size", "check_seed"]

#: Input elements per forward pass when ``batch_size`` is left to meddl (2 MB of float32 input; a small CNN's
#: saved activations are ~100x that: a 224x224x3 image gets 3 rows per pass, about 0.4 GB).
ELEMENTS_PER_BATCH = 2 ** 19
MAX_AUTO_BATCH = 512


def captum_attr():
    """Import ``captum.attr`` or say how to install it."""
    try:
        import captum.attr
    except ImportError:  # pragma: no cover - captum is installed in the test environment
        raise MeddlError("meddl.explain needs Captum: pip install 'meddl[explain]' (or pip install captum).") from None
    return captum.attr


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed torch, NumPy and ``random`` for the block, then restore their previous states.

    Captum draws from all three (GradientSHAP uses NumPy, KernelSHAP torch), so
    the same seed gives the same attributions without disturbing the caller's RNGs.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        np.random.seed(seed)
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)


@contextlib.contextmanager
def eval_mode(module: Any) -> Iterator[None]:
    """Put a ``torch.nn.Module`` in inference mode (dropout and augmentation off) for the block."""
    if not isinstance(module, torch.nn.Module):
        yield
        return
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


def check_seed(seed: object, owner: str) -> int:
    return check_positive_int(seed, "seed", owner, minimum=0)


def check_batch_size(batch_size: object, owner: str) -> int | None:
    if batch_size is None:
        return None
    return check_positive_int(batch_size, "batch_size", owner)


def auto_batch_size(sample_shape: tuple[int, ...], batch_size: int | None) -> int:
    """Rows per forward pass: ``batch_size``, or as many as fit in :data:`ELEMENTS_PER_BATCH`."""
    if batch_size is not None:
        return batch_size
    elements = int(np.prod(sample_shape)) if sample_shape else 1
    return int(max(1, min(MAX_AUTO_BATCH, ELEMENTS_PER_BATCH // max(elements, 1))))


def as_input_tensor(x: Any, argument: str = "x") -> torch.Tensor:
    """A finite float32 tensor with one row per sample (``(n, ...)``)."""
    array = as_array(x, argument)
    check_finite(array, argument)
    if array.ndim < 2:
        raise DataError(f"'{argument}' must have one row per sample, shape (n, features...); got shape {array.shape}. "
                        f"For one sample use {argument}[None].")
    if array.shape[0] == 0:
        raise DataError(f"'{argument}' has no rows; at least one sample is needed.")
    return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32)


class OutputFunction:
    """Wrap ``f(x) -> (n,)`` or ``(n, k)`` so Captum always sees ``(n, k)``, and check its output.

    Args:
        f: any callable from a float tensor ``(n, ...)`` to a tensor ``(n,)`` or ``(n, k)``:
            a model's forward, a survival risk score, a treatment effect ``mu1(x) - mu0(x)``.
        owner: the public function using it (for error messages).
    """

    def __init__(self, f: Callable[[torch.Tensor], torch.Tensor], owner: str):
        if not callable(f):
            raise ConfigError(f"The 'f' parameter of {owner} must be a callable mapping a tensor (n, ...) to "
                              f"(n,) or (n, k) outputs, e.g. a torch.nn.Module. Got {type(f).__name__} instead.")
        self.f, self.owner = f, owner
        self.n_outputs: int | None = None

    def __call__(self, inputs: torch.Tensor) -> torch.Tensor:
        out = self.f(inputs)
        if not isinstance(out, torch.Tensor):
            raise DataError(f"'f' given to {self.owner} must return a torch tensor; got {type(out).__name__}.")
        if out.ndim == 1:
            out = out[:, None]
        if out.ndim != 2 or out.shape[0] != inputs.shape[0]:
            raise DataError(f"'f' given to {self.owner} must return shape (n,) or (n, k) for n = {inputs.shape[0]} "
                            f"inputs; got shape {tuple(out.shape)}.")
        return out

    def probe(self, x: torch.Tensor) -> int:
        """Run ``f`` on the first row; remember and return the number of outputs ``k``."""
        with torch.no_grad():
            self.n_outputs = int(self(x[:1]).shape[1])
        return self.n_outputs

    def values(self, x: torch.Tensor, target: torch.Tensor, batch_size: int) -> np.ndarray:
        """``f(x)[i, target[i]]`` for every row, without gradients, in batches."""
        out = []
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                chunk = self(x[start:start + batch_size])
                out.append(chunk.gather(1, target[start:start + batch_size, None])[:, 0].double())
        return torch.cat(out).numpy()


def check_target(target: object, n_rows: int, n_outputs: int, owner: str) -> torch.Tensor:
    """Per-row output index: ``None`` (one output), an int, or one int per row."""
    if target is None:
        if n_outputs != 1:
            raise ConfigError(f"The 'target' parameter of {owner} is required when 'f' returns {n_outputs} outputs "
                              f"per row: pass the output index to explain (an int in [0, {n_outputs - 1}], "
                              f"or one per row).")
        return torch.zeros(n_rows, dtype=torch.long)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        values = np.full(n_rows, int(target))
    else:
        values = np.asarray(target)
        if values.ndim != 1 or values.dtype.kind not in "iu" or len(values) != n_rows:
            raise ConfigError(f"The 'target' parameter of {owner} must be None, an int or one int per row "
                              f"({n_rows}). Got {_describe(target)} instead.")
    bad = (values < 0) | (values >= n_outputs)
    if bad.any():
        raise ConfigError(f"The 'target' parameter of {owner} must index one of the {n_outputs} output(s) of 'f' "
                          f"(0 to {n_outputs - 1}). Got {int(values[bad][0])} instead.")
    return torch.as_tensor(values, dtype=torch.long)


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


def as_baseline(baseline: object, x: torch.Tensor, owner: str, *, distribution: bool = False) -> torch.Tensor:
    """The reference input(s) as a tensor of shape ``(1, ...)`` or ``(n, ...)``.

    ``None`` is all zeros; a number fills every element; an array of one
    sample's shape is one reference for every row; ``(n, ...)`` gives each row
    its own. With ``distribution=True`` (GradientSHAP) any ``(m, ...)`` array is a
    set of references drawn from at random.
    """
    shape = tuple(x.shape[1:])
    if baseline is None:
        return torch.zeros((1, *shape))
    if isinstance(baseline, (int, float, np.integer, np.floating)) and not isinstance(baseline, bool):
        if not np.isfinite(float(baseline)):
            raise ConfigError(f"The 'baseline' parameter of {owner} must be finite. Got {baseline!r} instead.")
        return torch.full((1, *shape), float(baseline))
    array = as_array(baseline, "baseline")
    check_finite(array, "baseline")
    if tuple(array.shape) == shape:
        array = array[None]
    rows_ok = array.shape[0] >= 1 if distribution else array.shape[0] in (1, x.shape[0])
    if tuple(array.shape[1:]) != shape or not rows_ok:
        rows = "(m, " if distribution else f"(1 or {x.shape[0]}, "
        raise DataError(f"The 'baseline' parameter of {owner} must have one sample's shape {shape} or "
                        f"{rows}{', '.join(map(str, shape))}). Got shape {tuple(array.shape)} instead.")
    return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32)
