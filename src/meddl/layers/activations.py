"""Activation functions by name, Keras style: ``get("relu")`` returns a callable."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError, unknown_name_error
from meddl.saving import custom_object, get_registered_name

__all__ = ["get", "serialize", "ACTIVATIONS", "OUTPUT_ACTIVATIONS", "linear", "relu", "sigmoid", "tanh", "softmax",
           "gelu", "leaky_relu", "hard_sigmoid", "log_softmax", "hard_silu", "relu6", "mish", "log_sigmoid",
           "hard_tanh", "celu", "selu", "elu", "softplus", "softsign", "silu", "swish", "exponential"]


def linear(x: torch.Tensor) -> torch.Tensor:
    return x


def softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.softmax(x, dim=-1)


def leaky_relu(x: torch.Tensor) -> torch.Tensor:
    # Keras 3's default negative slope.
    return F.leaky_relu(x, negative_slope=0.2)


def gelu(x: torch.Tensor) -> torch.Tensor:
    return F.gelu(x)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    # Keras 3's definition: relu6(x + 3) / 6.
    return F.relu6(x + 3.0) / 6.0


def log_softmax(x: torch.Tensor) -> torch.Tensor:
    return torch.log_softmax(x, dim=-1)


def hard_silu(x: torch.Tensor) -> torch.Tensor:
    # Keras 3's hard_silu (alias hard_swish): x · relu6(x + 3) / 6.
    return F.hardswish(x)


# torch's own functions, so ``Activation(torch.relu)`` and ``Activation(activations.relu)`` save as "relu".
relu = torch.relu
sigmoid = torch.sigmoid
tanh = torch.tanh
relu6, mish, log_sigmoid, hard_tanh, celu = F.relu6, F.mish, F.logsigmoid, F.hardtanh, F.celu
selu, elu, softplus, softsign, silu, exponential = F.selu, F.elu, F.softplus, F.softsign, F.silu, torch.exp
swish = silu


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "linear": linear,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": softmax,
    "gelu": gelu,
    "leaky_relu": leaky_relu,
    "selu": F.selu,
    "elu": F.elu,
    "softplus": F.softplus,
    "softsign": F.softsign,
    "swish": F.silu,
    "silu": F.silu,
    "exponential": torch.exp,
    "hard_sigmoid": hard_sigmoid,
    "log_softmax": log_softmax,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "relu6": F.relu6,
    "mish": F.mish,
    "log_sigmoid": F.logsigmoid,
    "hard_tanh": F.hardtanh,
    "celu": F.celu,
}

# Final activations that losses can fold into a numerically stable "from logits" form.
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax")


def get(identifier: str | Callable | None) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return the activation function named ``identifier`` (``None`` means linear; a callable is used as is)."""
    if identifier is None:
        return linear
    if callable(identifier):
        return identifier
    if not isinstance(identifier, str):
        raise unknown_name_error("activation", identifier, ACTIVATIONS)
    name = identifier.lower()
    if name not in ACTIVATIONS:
        custom = custom_object(identifier)  # a function of your own, saved by name
        if callable(custom) and not isinstance(custom, type):
            return custom
        own = identifier.split(">")[-1]
        raise MeddlError(f"{unknown_name_error('activation', identifier, ACTIVATIONS)} A function of your own "
                         f"must be known by name: pass custom_objects={{{own!r}: {own}}} to load_model, or decorate "
                         "it with @meddl.saving.register_keras_serializable().")
    return ACTIVATIONS[name]


def serialize(identifier: str | Callable | None) -> str | None:
    """Return the canonical name of an activation identifier; ``None`` for a callable meddl does not know by name.

    A known callable (``torch.relu``, ``meddl.layers.activations.softmax``) gets its name, so a model
    written with ``Activation(torch.relu)`` still saves as plain data; a function of your own registered
    with ``register_keras_serializable`` saves as its registered name (``"package>name"``), and one that is
    not as its ``__name__``, which ``load_model`` finds in ``custom_objects`` (as Keras saves them). A
    lambda has no name to save.
    """
    get(identifier)
    if identifier is None:
        return "linear"
    if callable(identifier):
        known = next((name for name, function in ACTIVATIONS.items() if function is identifier), None)
        if known is not None:
            return known
        name = getattr(identifier, "__name__", "<lambda>")
        if getattr(identifier, "_registered_name", None):
            return get_registered_name(identifier)
        return None if name == "<lambda>" or not name.isidentifier() else name
    if identifier.lower() in ACTIVATIONS:
        return identifier.lower()
    return identifier
