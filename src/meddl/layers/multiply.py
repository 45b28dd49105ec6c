"""``Multiply``: Product of its inputs, element-wise (gating, attention weights)."""

from __future__ import annotations

import torch

from meddl.layers.base_merge import BaseMerge

__all__ = ["Multiply"]


class Multiply(BaseMerge):
    """Product of its inputs, element-wise (gating, attention weights)."""

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        result = tensors[0]
        for tensor in tensors[1:]:
            result = result * tensor
        return result
