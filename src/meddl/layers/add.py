"""``Add``: Sum of its inputs, element-wise (a residual connection in a functional model)."""

from __future__ import annotations

import torch

from meddl.layers.base_merge import BaseMerge

__all__ = ["Add"]


class Add(BaseMerge):
    """Sum of its inputs, element-wise (a residual connection in a functional model)."""

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        result = tensors[0]
        for tensor in tensors[1:]:
            result = result + tensor
        return result
