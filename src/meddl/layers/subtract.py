"""``Subtract``: The first input minus the second, element-wise."""

from __future__ import annotations

import torch

from meddl.errors import MeddlError
from meddl.layers.base_merge import BaseMerge

__all__ = ["Subtract"]


class Subtract(BaseMerge):
    """The first input minus the second, element-wise."""

    def merge(self, tensors: list[torch.Tensor]) -> torch.Tensor:
        if len(tensors) != 2:
            raise MeddlError(f"Subtract needs exactly 2 inputs; got {len(tensors)}.")
        return tensors[0] - tensors[1]
