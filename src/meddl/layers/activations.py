"""Activation functions by name, Keras style: ``get("relu")`` returns a callable."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from meddl.errors import unknown_name_error

__all__ = ["get", "serialize", "ACTIVATIONS", "OUTPUT_ACTIVATIONS"]


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


def softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x, dim=-1)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    # Keras 3's default negative slope.
    return F.leaky_relu(x, negative_slope=0.2)


def gelu(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": linear,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": softmax,
    "gelu": gelu,
    "leaky_relu": leaky_relu,
    "selu": F.selu,
}

# Final activations that losses can fold into a numerically stable "from logits" form.
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax")


def get(identifier: str | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the activation function named ``identifier`` (``None`` means linear)."""
    if identifier is None:
        return linear
    if not isinstance(identifier, str):
        raise unknown_name_error("activation", identifier, ACTIVATIONS)
    name = identifier.lower()
    if name not in ACTIVATIONS:
        raise unknown_name_error("activation", identifier, ACTIVATIONS)
    return ACTIVATIONS[name]


def serialize(identifier: str | None) -> str:
    """Return the canonical name of an activation identifier."""
    get(identifier)
    return "linear" if identifier is None else identifier.lower()
