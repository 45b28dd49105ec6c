"""Keras's weight regularizers: ``L1``, ``L2``, ``L1L2`` (and ``l1``, ``l2``, ``l1_l2``), added to the training loss.

``Dense(64, kernel_regularizer=meddl.regularizers.l2(0.01))`` adds ``0.01·Σ w²`` of
its kernel to the loss each step, as Keras does, so the reported ``loss`` includes it.
A regularizer is saved with the layer as ``{"class_name": "L2", "config": {"l2": 0.01}}``,
Keras's form, which is also accepted wherever a regularizer is.

Example:
    >>> import torch
    >>> float(L2(0.5)(torch.tensor([1.0, 2.0])))
    2.5
"""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError, unknown_name_error

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get", "serialize"]


def _factor(value: Any, argument: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise MeddlError(f"The '{argument}' factor of {owner} must be a number >= 0. Got {value!r} instead.")
    return float(value)


class Regularizer:
    """A penalty on one weight: ``regularizer(weight) -> scalar tensor``."""

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def get_config(self) -> dict[str, float]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in self.get_config().items())})"


class L1L2(Regularizer):
    """``l1·Σ|w| + l2·Σw²``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        self.l1, self.l2 = _factor(l1, "l1", type(self).__name__), _factor(l2, "l2", type(self).__name__)

    def __call__(self, weight: torch.Tensor) -> torch.Tensor:
        penalty = weight.new_zeros(())
        if self.l1:
            penalty = penalty + self.l1 * weight.abs().sum()
        if self.l2:
            penalty = penalty + self.l2 * weight.square().sum()
        return penalty

    def get_config(self) -> dict[str, float]:
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1·Σ|w|`` (Keras's default factor 0.01)."""

    def __init__(self, l1: float = 0.01):
        super().__init__(l1=l1)

    def get_config(self) -> dict[str, float]:
        return {"l1": self.l1}


class L2(L1L2):
    """``l2·Σw²`` (Keras's default factor 0.01): weight decay in the loss."""

    def __init__(self, l2: float = 0.01):
        super().__init__(l2=l2)

    def get_config(self) -> dict[str, float]:
        return {"l2": self.l2}


l1, l2, l1_l2 = L1, L2, L1L2  # Keras's lower-case spellings
_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2}


def get(identifier: Any, argument: str = "regularizer") -> Regularizer | None:
    """A regularizer from ``None``, a name (``"l2"``), a regularizer, or Keras's ``{"class_name", "config"}``."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier.lower() not in _BY_NAME:
            raise unknown_name_error(argument, identifier, ["l1", "l2", "l1_l2"])
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict) and "class_name" in identifier:
        name = str(identifier["class_name"]).lower()
        if name not in _BY_NAME:
            raise unknown_name_error(argument, identifier["class_name"], ["L1", "L2", "L1L2"])
        config = dict(identifier.get("config") or {})
        try:
            return _BY_NAME[name](**config)
        except TypeError:
            raise MeddlError(f"The {argument} {identifier!r} has arguments {sorted(config)} that "
                             f"{identifier['class_name']} does not take.") from None
    raise MeddlError(f"The '{argument}' must be 'l1', 'l2', 'l1_l2' or a meddl.regularizers object (a function "
                     f"cannot be saved with the model). Got {identifier!r} instead.")


def serialize(regularizer: Regularizer) -> dict[str, Any]:
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
