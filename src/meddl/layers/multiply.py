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

    def merge_masked(self, tensors: list[torch.Tensor], masks: list[torch.Tensor | None]) -> torch.Tensor:
        """Keras's: a padded step counts as 1 in the product, and is 0 where every input is padded."""
        kept = [tensor if mask is None else torch.where(mask.unsqueeze(-1), tensor, torch.ones_like(tensor))
                for tensor, mask in zip(tensors, masks)]
        product = self.merge(kept)
        if any(mask is None for mask in masks):
            return product
        real = masks[0]
        for mask in masks[1:]:
            real = real | mask
        return torch.where(real.unsqueeze(-1), product, torch.zeros_like(product))
