"""Keras's activation layers: ``ReLU``, ``LeakyReLU``, ``ELU``, ``Softmax`` and ``PReLU`` (a learned slope)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.initializers import check_initializer, initialize_

__all__ = ["ReLU", "LeakyReLU", "ELU", "Softmax", "PReLU"]


def _number(value: Any, argument: str, layer: str, *, minimum: float | None = None, optional: bool = False):
    if optional and value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise MeddlError(f"The '{argument}' parameter of {layer} must be a number{bound}"
                         f"{' or None' if optional else ''}. Got {value!r} instead.")
    return float(value)


class ReLU(Layer):
    """Keras's ``ReLU``: ``max_value`` above it, ``x`` from ``threshold`` up, ``negative_slope·(x − threshold)`` below.

    Example:
        >>> from meddl.layers import ReLU
        >>> ReLU(max_value=6.0)([[-1.0, 3.0, 9.0]]).tolist()
        [[0.0, 3.0, 6.0]]
    """

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, max_value: float | None = None, negative_slope: float = 0.0, threshold: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = _number(max_value, "max_value", "ReLU", minimum=0, optional=True)
        self.negative_slope = _number(negative_slope, "negative_slope", "ReLU", minimum=0)
        self.threshold = _number(threshold, "threshold", "ReLU")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.where(x >= self.threshold, x, self.negative_slope * (x - self.threshold))
        return y if self.max_value is None else y.clamp(max=self.max_value)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}


class LeakyReLU(Layer):
    """``x`` for ``x >= 0``, ``negative_slope·x`` below (Keras 3's default slope 0.3; Keras 2's ``alpha`` too)."""

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, negative_slope: float = 0.3, alpha: float | None = None, **kwargs):
        super().__init__(**kwargs)
        self.negative_slope = _number(negative_slope if alpha is None else alpha, "negative_slope", "LeakyReLU",
                                      minimum=0)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "negative_slope": self.negative_slope}


class ELU(Layer):
    """``x`` for ``x > 0``, ``alpha·(exp(x) − 1)`` below."""

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, alpha: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = _number(alpha, "alpha", "ELU")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(x, self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "alpha": self.alpha}


class Softmax(Layer):
    """Softmax over ``axis`` (the last by default)."""

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int) or axis == 0:
            raise MeddlError(f"The 'axis' parameter of Softmax must be a non-zero integer (axis 0 is the batch). "
                             f"Got {axis!r} instead.")
        self.axis = axis

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=self.axis)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "axis": self.axis}


class PReLU(Layer):
    """A ReLU whose negative slope ``alpha`` is learned, one per position and channel (Keras's ``PReLU``);
    ``shared_axes`` (1-based, as in Keras) share one slope along those axes, e.g. ``[1, 2]`` for images."""

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, alpha_initializer: Any = "zeros", shared_axes: Any = None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = check_initializer(alpha_initializer, "alpha_initializer", "PReLU")
        axes = [] if shared_axes is None else [shared_axes] if isinstance(shared_axes, int) else list(shared_axes)
        if any(isinstance(a, bool) or not isinstance(a, int) or a < 1 for a in axes):
            raise MeddlError(f"The 'shared_axes' parameter of PReLU must be axes >= 1 (axis 0 is the batch). "
                             f"Got {shared_axes!r} instead.")
        self.shared_axes = sorted(set(axes))
        self.alpha: nn.Parameter | None = None

    def build(self, input_shape: tuple[int, ...]) -> None:
        if any(a > len(input_shape) for a in self.shared_axes):
            raise MeddlError(f"PReLU shared_axes {self.shared_axes} do not fit inputs of shape {tuple(input_shape)}.")
        shape = [1 if axis + 1 in self.shared_axes else size for axis, size in enumerate(input_shape)]
        self.alpha = nn.Parameter(initialize_(torch.empty(shape), self.alpha_initializer, shape[-1], shape[-1]))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x >= 0, x, self.alpha * x)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "shared_axes": self.shared_axes or None}
        if self.alpha_initializer != "zeros":
            config["alpha_initializer"] = self.alpha_initializer
        return config
