"""``Average``: Mean of its inputs, element-wise."""

from __future__ import annotations

import torch

from meddl.layers.base_merge import BaseMerge

__all__ = ["Average"]


class Average(BaseMerge):
    """Mean of its inputs, element-wise."""

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(tensors).mean(dim=0)
