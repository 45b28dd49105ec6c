"""Keras's default weight initialisers, so a meddl layer starts where a Keras one does."""

from __future__ import annotations

import math

import torch

__all__ = ["glorot_uniform_"]


def glorot_uniform_(tensor: torch.Tensor, fan_in: int, fan_out: int) -> torch.Tensor:
    """Fill ``tensor`` from U(-l, l) with l = sqrt(6 / (fan_in + fan_out)) (Keras's default)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-limit, limit)
