"""The state variables of a metric of your own, as Keras's ``Metric.add_variable`` makes them.

A Keras metric subclass keeps its running state in variables (``self.true_positives =
self.add_variable(shape=(), initializer="zeros")``) that it changes with ``assign``,
``assign_add`` and ``assign_sub`` and reads with ``.value`` (or in arithmetic). A
:class:`StateVariable` is that, over a torch tensor that needs no gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from meddl.errors import MeddlError

__all__ = ["StateVariable", "initial_value"]

_INITIALIZERS = {"zeros": 0.0, "ones": 1.0}


def initial_value(shape: Any, initializer: Any, dtype: Any, name: str) -> torch.Tensor:
    """The tensor a state variable starts from: ``initializer`` ``"zeros"``, ``"ones"`` or a number."""
    shape = () if shape is None or shape == () else tuple(int(size) for size in np.atleast_1d(shape))
    if isinstance(initializer, str) and initializer.lower() in _INITIALIZERS:
        fill = _INITIALIZERS[initializer.lower()]
    elif isinstance(initializer, (int, float)) and not isinstance(initializer, bool):
        fill = float(initializer)
    else:
        raise MeddlError(f"The 'initializer' of the metric variable {name!r} must be 'zeros', 'ones' or a number "
                         f"(a metric's state starts from a constant). Got {initializer!r} instead.")
    torch_dtype = torch.float32 if dtype is None else getattr(torch, str(dtype), None)
    if not isinstance(torch_dtype, torch.dtype):
        raise MeddlError(f"The 'dtype' of the metric variable {name!r} must be a torch dtype name such as "
                         f"'float32' or 'int32'. Got {dtype!r} instead.")
    return torch.full(shape, fill, dtype=torch_dtype)


class StateVariable:
    """One piece of a metric's state, changed in place with Keras's ``assign`` methods.

    Example:
        >>> count = StateVariable(torch.zeros(()), name="count")
        >>> count.assign_add(3.0); float(count.value)
        3.0
    """

    def __init__(self, value: torch.Tensor, *, name: str):
        self.name = name
        self._value = value.detach().clone()

    @property
    def value(self) -> torch.Tensor:
        return self._value

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._value.shape)

    @property
    def dtype(self) -> torch.dtype:
        return self._value.dtype

    def _as_value(self, value: Any) -> torch.Tensor:
        value = value.value if isinstance(value, StateVariable) else value
        tensor = torch.as_tensor(value.detach() if isinstance(value, torch.Tensor) else np.asarray(value))
        return tensor.to(device=self._value.device, dtype=self._value.dtype).expand_as(self._value).clone()

    def assign(self, value: Any) -> "StateVariable":
        self._value = self._as_value(value)
        return self

    def assign_add(self, delta: Any) -> "StateVariable":
        self._value = self._value + self._as_value(delta)
        return self

    def assign_sub(self, delta: Any) -> "StateVariable":
        self._value = self._value - self._as_value(delta)
        return self

    def reset(self) -> None:
        """Back to zeros, as Keras's ``Metric.reset_state`` sets every variable (whatever its initializer)."""
        self._value = torch.zeros_like(self._value)

    def numpy(self) -> np.ndarray:
        return self._value.cpu().numpy()

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.numpy(), dtype=dtype)

    def __float__(self) -> float:
        return float(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __repr__(self) -> str:
        return f"<StateVariable {self.name!r} shape={self.shape} value={self._value.tolist()}>"

    # Arithmetic reads the value, as with Keras's variables: ``self.total / self.count``.
    def __add__(self, other):
        return self._value + _unwrapped(other)

    def __radd__(self, other):
        return _unwrapped(other) + self._value

    def __sub__(self, other):
        return self._value - _unwrapped(other)

    def __rsub__(self, other):
        return _unwrapped(other) - self._value

    def __mul__(self, other):
        return self._value * _unwrapped(other)

    def __rmul__(self, other):
        return _unwrapped(other) * self._value

    def __truediv__(self, other):
        return self._value / _unwrapped(other)

    def __rtruediv__(self, other):
        return _unwrapped(other) / self._value

    def __neg__(self):
        return -self._value


def _unwrapped(value: Any) -> Any:
    return value.value if isinstance(value, StateVariable) else value
