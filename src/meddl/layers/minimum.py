"""``Minimum``: Minimum of its inputs, element-wise."""

from __future__ import annotations

import torch

from meddl.layers.base_merge import BaseMerge

__all__ = ["Minimum"]


class Minimum(BaseMerge):
    """Minimum of its inputs, element-wise."""

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(tensors).amin(dim=0)
