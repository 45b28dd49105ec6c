"""``Minimum``: Minimum of its inputs, element-wise."""

from __future__ import annotations

import torch

from meddl.layers.base_merge import BaseMerge, fold_real_steps

__all__ = ["Minimum"]


class Minimum(BaseMerge):
    """Minimum of its inputs, element-wise."""

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(tensors).amin(dim=0)

    def merge_masked(self, tensors: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        return fold_real_steps(torch.minimum, tensors, masks)
