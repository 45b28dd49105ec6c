"""``Maximum``: Maximum of its inputs, element-wise."""

from __future__ import annotations

import torch

from meddl.layers.base_merge import BaseMerge, fold_real_steps

__all__ = ["Maximum"]


class Maximum(BaseMerge):
    """Maximum of its inputs, element-wise."""

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        return torch.stack(tensors).amax(dim=0)

    def merge_masked(self, tensors: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        return fold_real_steps(torch.maximum, tensors, masks)
