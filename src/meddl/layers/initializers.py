"""Keras's weight initialisers by name, so a meddl layer starts where a Keras one does.

Fans are passed in explicitly (a kernel's torch layout differs from Keras's, so
they cannot be read off the tensor's shape).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from meddl.errors import MeddlError, unknown_name_error

__all__ = ["glorot_uniform_", "initialize_", "check_initializer", "INITIALIZERS"]

INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "zeros", "ones", "random_uniform", "random_normal", "orthogonal", "uniform", "normal")
_ALIASES = {"zeros": "zeros", "Zeros": "zeros", "Ones": "ones", "GlorotUniform": "glorot_uniform",
            "GlorotNormal": "glorot_normal", "HeUniform": "he_uniform", "HeNormal": "he_normal",
            "LecunUniform": "lecun_uniform", "LecunNormal": "lecun_normal", "RandomUniform": "random_uniform",
            "RandomNormal": "random_normal", "Orthogonal": "orthogonal", "uniform": "random_uniform",
            "normal": "random_normal"}


def glorot_uniform_(tensor: torch.Tensor, fan_in: int, fan_out: int) -> torch.Tensor:
    """Fill ``tensor`` from U(-l, l) with l = sqrt(6 / (fan_in + fan_out)) (Keras's default)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-limit, limit)


def check_initializer(identifier: Any, argument: str, layer: str) -> str:
    """Return the canonical name of an initializer given by name or as a Keras config dict."""
    if isinstance(identifier, dict):  # Keras config: {"class_name": "GlorotUniform", "config": {...}}
        identifier = identifier.get("class_name", identifier.get("module"))
    if not isinstance(identifier, str):
        raise MeddlError(f"The '{argument}' parameter of {layer} must be an initializer name such as "
                         f"'glorot_uniform'. Got {identifier!r} instead.")
    name = _ALIASES.get(identifier, identifier)
    if name not in INITIALIZERS:
        raise unknown_name_error("initializer", identifier, INITIALIZERS)
    return name


def initialize_(tensor: torch.Tensor, name: str, fan_in: int, fan_out: int) -> torch.Tensor:
    """Fill ``tensor`` in place with Keras's initializer ``name`` (default arguments)."""
    with torch.no_grad():
        if name == "glorot_uniform":
            return glorot_uniform_(tensor, fan_in, fan_out)
        if name == "glorot_normal":
            return _truncated_normal_(tensor, math.sqrt(2.0 / (fan_in + fan_out)))
        if name == "he_uniform":
            limit = math.sqrt(6.0 / fan_in)
            return tensor.uniform_(-limit, limit)
        if name == "he_normal":
            return _truncated_normal_(tensor, math.sqrt(2.0 / fan_in))
        if name == "lecun_uniform":
            limit = math.sqrt(3.0 / fan_in)
            return tensor.uniform_(-limit, limit)
        if name == "lecun_normal":
            return _truncated_normal_(tensor, math.sqrt(1.0 / fan_in))
        if name == "zeros":
            return tensor.zero_()
        if name == "ones":
            return tensor.fill_(1.0)
        if name == "random_uniform":
            return tensor.uniform_(-0.05, 0.05)
        if name == "random_normal":
            return tensor.normal_(0.0, 0.05)
        if name == "orthogonal":
            flat = tensor.view(tensor.shape[0], -1) if tensor.dim() > 1 else tensor.view(1, -1)
            torch.nn.init.orthogonal_(flat)
            return tensor
    raise MeddlError(f"Unknown initializer {name!r}.")


def _truncated_normal_(tensor: torch.Tensor, stddev: float) -> torch.Tensor:
    # Keras's variance-scaling normal: a normal truncated at two standard deviations, rescaled.
    return torch.nn.init.trunc_normal_(tensor, 0.0, stddev / 0.87962566103423978, -2 * stddev / 0.87962566103423978,
                                       2 * stddev / 0.87962566103423978)
