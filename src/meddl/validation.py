"""Input checks shared across meddl (one validation module): arrays, probabilities, fractions, counts.

Every check raises :class:`~meddl.errors.DataError` (bad arrays) or
:class:`~meddl.errors.ConfigError` (bad parameters) with a message that names
the argument, says what was expected and what was received.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from meddl.errors import ConfigError, DataError, did_you_mean, unknown_name_error

__all__ = ["check_task", "check_fraction", "check_positive_int", "check_finite", "as_float_array", "check_probabilities", "check_same_length", "encode_labels", "binary_labels", "binary_scores", "multiclass_inputs", "check_groups", "check_parameters", "TASKS"]

TASKS = ("binary", "multiclass", "regression")


def check_task(task: object) -> str:
    """Return ``task`` if it is one of :data:`TASKS`, else raise with a suggestion."""
    if task not in TASKS:
        raise unknown_name_error("task", task, TASKS, error_class=ConfigError)
    return str(task)


def check_fraction(value: object, name: str, owner: str, *, low: float = 0.0, high: float = 1.0,
                   open_interval: bool = False) -> float:
    """Check a float parameter in ``[low, high]`` (or ``(low, high)``) and return it."""
    brackets = ("(", ")") if open_interval else ("[", "]")
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (low < value < high if open_interval else low <= value <= high)
    if not ok:
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be a float in the range "
            f"{brackets[0]}{low:g}, {high:g}{brackets[1]}. Got {value!r} instead."
        )
    return float(value)


def check_positive_int(value: object, name: str, owner: str, *, minimum: int = 1) -> int:
    """Check an integer parameter ``>= minimum`` and return it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(
            f"The '{name}' parameter of {owner} must be an int in the range [{minimum}, inf). "
            f"Got {value!r} instead."
        )
    return int(value)


def check_finite(values: np.ndarray, name: str) -> None:
    """Raise if ``values`` holds NaN or infinite entries, naming the first one."""
    bad = ~np.isfinite(values)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), values.shape)
        where = first[0] if len(first) == 1 else tuple(int(i) for i in first)
        raise DataError(
            f"{name} contains {int(bad.sum())} NaN or infinite values (first at index {where}); "
            "the model output must be finite."
        )


def as_float_array(values: object, name: str, *, ndim: int | tuple[int, ...] = 1) -> np.ndarray:
    """Convert to a finite float array of the given rank(s); raise a DataError otherwise."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numeric; got values that cannot be converted to float.") from None
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in ranks:
        expected = " or ".join(f"{r}-D" for r in ranks)
        raise DataError(f"{name} must be a {expected} array; got shape {array.shape}.")
    if array.shape[0] == 0:
        raise DataError(f"{name} is empty; at least one sample is needed.")
    check_finite(array, name)
    return array


def check_probabilities(values: np.ndarray, name: str) -> None:
    """Raise if any value lies outside [0, 1]."""
    bad = (values < 0) | (values > 1)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), values.shape)
        where = first[0] if len(first) == 1 else tuple(int(i) for i in first)
        raise DataError(
            f"{name} must contain probabilities in [0, 1]; got {int(bad.sum())} values outside "
            f"(range {values.min():g} to {values.max():g}, first at index {where}). "
            "Pass probabilities (e.g. after a sigmoid or softmax), not logits."
        )


def check_same_length(*named: tuple[str, np.ndarray | None]) -> None:
    """Raise if the given arrays do not all have the same number of rows."""
    present = [(name, len(a)) for name, a in named if a is not None]
    if len({n for _, n in present}) > 1:
        raise DataError(f"{_join([name for name, _ in present])} must have the same length; "
                        f"got {_join([str(n) for _, n in present])}.")


def _join(words: list[str]) -> str:
    """'a and b', 'a, b and c'."""
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def encode_labels(y_true: object, class_names: Sequence[str] | None, name: str = "y_true") -> np.ndarray:
    """Return integer class indices for ``y_true``.

    ``y_true`` may hold integer indices (0..k-1), booleans, or class names when
    ``class_names`` is given (e.g. ``"benign"``/``"malignant"``).
    """
    array = np.asarray(y_true)
    if array.ndim != 1:
        raise DataError(f"{name} must be a 1-D array of class labels; got shape {array.shape}.")
    if array.shape[0] == 0:
        raise DataError(f"{name} is empty; at least one sample is needed.")
    if array.dtype.kind in "OUS":
        if class_names is None:
            raise DataError(
                f"{name} holds class names ({_preview(np.unique(array.astype(str)))}); "
                "pass class_names to map them to column indices."
            )
        lookup = {str(c): i for i, c in enumerate(class_names)}
        unknown = sorted({str(v) for v in array if str(v) not in lookup})
        if unknown:
            raise DataError(
                f"{name} contains labels not in class_names: {_preview(unknown)}; "
                f"expected one of {list(lookup)}."
            )
        return np.array([lookup[str(v)] for v in array], dtype=np.int64)
    if array.dtype.kind == "b":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        check_finite(array, name)
        if not np.all(array == np.round(array)):
            raise DataError(f"{name} must hold integer class labels; got non-integer values such as "
                            f"{array[array != np.round(array)][0]:g}.")
    if array.dtype.kind not in "iuf":
        raise DataError(f"{name} must hold class labels (integers or names); got dtype {array.dtype}.")
    return array.astype(np.int64)


def binary_labels(y_true: object, class_names: Sequence[str] | None = None) -> np.ndarray:
    """Return ``y_true`` as a 0/1 int array, raising if it has other values."""
    labels = encode_labels(y_true, class_names)
    values = np.unique(labels)
    if not np.isin(values, (0, 1)).all():
        raise DataError(
            f"y_true must contain only 0 and 1 for a binary task; got values {_preview(values.tolist())}."
        )
    return labels


def binary_scores(y_score: object, name: str = "y_score") -> np.ndarray:
    """Return the positive-class probability as a 1-D array in [0, 1].

    An ``(n, 2)`` probability matrix is accepted; its second column is used.
    """
    scores = as_float_array(y_score, name, ndim=(1, 2))
    if scores.ndim == 2:
        if scores.shape[1] != 2:
            raise DataError(
                f"{name} must be 1-D (probability of the positive class) or (n, 2) for a binary task; "
                f"got shape {scores.shape}."
            )
        scores = scores[:, 1]
    check_probabilities(scores, name)
    return scores


def multiclass_inputs(y_true: object, proba: object, class_names: Sequence[str] | None,
                      name: str = "proba") -> tuple[np.ndarray, np.ndarray]:
    """Check a label vector and an ``(n, k)`` probability matrix; return both as arrays."""
    matrix = as_float_array(proba, name, ndim=2)
    if matrix.shape[1] < 2:
        raise DataError(f"{name} must have one column per class (at least 2); got shape {matrix.shape}.")
    check_probabilities(matrix, name)
    sums = matrix.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > 1e-3):
        raise DataError(
            f"Each row of {name} must sum to 1; got row sums from {sums.min():.4g} to {sums.max():.4g}. "
            "Pass softmax probabilities, not logits."
        )
    if class_names is not None and len(class_names) != matrix.shape[1]:
        raise DataError(
            f"class_names has {len(class_names)} names but {name} has {matrix.shape[1]} columns."
        )
    labels = encode_labels(y_true, class_names)
    check_same_length(("y_true", labels), (name, matrix))
    k = matrix.shape[1]
    bad = (labels < 0) | (labels >= k)
    if bad.any():
        raise DataError(
            f"y_true must hold class indices in [0, {k - 1}] to match the {k} columns of {name}; "
            f"got {labels[bad][0]} at index {int(np.argmax(bad))}."
        )
    return labels, matrix


def check_groups(groups: object, n: int, name: str = "groups") -> np.ndarray | None:
    """Return group codes 0..G-1 for ``groups`` (patient ids), or None."""
    if groups is None:
        return None
    array = np.asarray(groups)
    if array.ndim != 1:
        raise DataError(f"{name} must be a 1-D array of patient (group) ids; got shape {array.shape}.")
    check_same_length(("y_true", np.empty(n)), (name, array))
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise DataError(f"{name} contains missing ids (NaN); every row needs a patient id.")
    _, codes = np.unique(array.astype(str) if array.dtype.kind == "O" else array, return_inverse=True)
    return codes.astype(np.int64)


def _preview(values: Sequence[object], limit: int = 5) -> str:
    values = list(values)
    shown = ", ".join(repr(v) for v in values[:limit])
    return f"[{shown}{', ...' if len(values) > limit else ''}]"


def check_parameters(owner: Any, constraints: dict[str, tuple], nullable: tuple[str, ...] = ()) -> None:
    """Check ``owner``'s parameters against ``constraints``: meddl's one parameter-constraint system.

    Estimators declare their rules as data (scikit-learn's ``_parameter_constraints``) and call
    this once, at ``fit``; every message names the parameter, the rule and the value received.
    A constraint is ``("int", low, high)``, ``("float", low, high)`` (``None`` = unbounded,
    bounds inclusive unless given as ``("open", value)``), ``("bool",)``, ``("options", names)``,
    ``("units",)`` (layer widths: a tuple of positive ints, or one) or ``("seed",)`` (None or an int >= 0).
    Parameters listed in ``nullable`` may also be ``None``.

    >>> class Model:
    ...     epochs = 0
    >>> check_parameters(Model(), {"epochs": ("int", 1, None)})
    Traceback (most recent call last):
    ...
    meddl.errors.ConfigError: The 'epochs' parameter of Model must be an int in the range [1, inf). Got 0 instead.
    """
    name_of_owner = type(owner).__name__
    for name, rule in constraints.items():
        value = getattr(owner, name)
        if value is None and name in nullable:
            continue
        kind = rule[0]
        if kind == "options":
            if value not in rule[1]:
                listed = ", ".join(repr(o) for o in rule[1])
                raise ConfigError(f"The '{name}' parameter of {name_of_owner} must be one of {listed}. Got {value!r} "
                                  f"instead.{did_you_mean(str(value), [str(o) for o in rule[1]])}")
            continue
        if kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise ConfigError(f"The '{name}' parameter of {name_of_owner} must be True or False. Got {value!r} instead.")
            continue
        if kind == "units":
            units = (value,) if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
            ok = isinstance(units, (tuple, list)) and all(
                isinstance(u, (int, np.integer)) and not isinstance(u, bool) and u > 0 for u in units)
            if not ok:
                raise ConfigError(f"The '{name}' parameter of {name_of_owner} must be a tuple of positive integers "
                                  f"(units per layer). Got {value!r} instead.")
            continue
        if kind == "seed":
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0):
                raise ConfigError(f"The '{name}' parameter of {name_of_owner} must be None or a non-negative integer. "
                                  f"Got {value!r} instead.")
            continue
        _check_number(value, name, name_of_owner, kind, rule[1], rule[2], nullable=name in nullable)


def _check_number(value: Any, name: str, owner: str, kind: str, low, high, *, nullable: bool = False) -> None:
    low_open = isinstance(low, tuple)
    high_open = isinstance(high, tuple)
    low_value = low[1] if low_open else low
    high_value = high[1] if high_open else high
    if kind == "int":
        ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        type_name = "an int"
    else:
        ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
        ok = ok and math.isfinite(float(value))
        type_name = "a float"
    if ok and low_value is not None:
        ok = value > low_value if low_open else value >= low_value
    if ok and high_value is not None:
        ok = value < high_value if high_open else value <= high_value
    if not ok:
        left = "(" if low_open or low_value is None else "["
        right = ")" if high_open or high_value is None else "]"
        low_text = "-inf" if low_value is None else f"{low_value:g}"
        high_text = "inf" if high_value is None else f"{high_value:g}"
        raise ConfigError(f"The '{name}' parameter of {owner} must be {type_name} in the range "
                          f"{left}{low_text}, {high_text}{right}{' or None' if nullable else ''}. Got {value!r} instead.")
