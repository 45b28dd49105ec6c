"""``GroupNormalization`` (Keras 3): normalise each sample's channels in groups, independently of the batch,
so it works with the batch of 1 or 2 volumes a 3-D segmentation network trains on (BatchNormalization
does not); ``groups=-1`` is instance normalisation. ``UnitNormalization``: scale to unit L2 norm.
``RMSNormalization``: divide by the root mean square, then a learnt scale (a Transformer's normalisation)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer, refuse_unsupported
from meddl.layers.spatial import channels_first, channels_last

__all__ = ["GroupNormalization", "UnitNormalization", "RMSNormalization"]


def _last_axis(axis: Any, layer: str) -> None:
    if axis not in (-1, [-1], (-1,)):
        raise MeddlError(f"The 'axis' parameter of {layer} must be -1 (the channel axis, last). Got {axis!r} instead.")


class GroupNormalization(Layer):
    """Split the channels into ``groups`` and normalise each group over its channels and all positions,
    per sample; then a learnt scale (``gamma``) and offset (``beta``) per channel, as Keras's."""

    def __init__(self, groups: int = 32, axis: int = -1, epsilon: float = 1e-3, center: bool = True,
                 scale: bool = True, *, name: str | None = None, input_shape=None, trainable: bool = True, dtype=None,
                 **ignored):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        refuse_unsupported(ignored, "GroupNormalization")
        _last_axis(axis, "GroupNormalization")
        if isinstance(groups, bool) or not isinstance(groups, int) or (groups <= 0 and groups != -1):
            raise MeddlError(f"The 'groups' parameter of GroupNormalization must be a positive integer or -1 (one "
                             f"group per channel). Got {groups!r} instead.")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise MeddlError(f"The 'epsilon' parameter of GroupNormalization must be positive. Got {epsilon!r} instead.")
        self.groups, self.epsilon, self.center, self.scale = groups, float(epsilon), bool(center), bool(scale)

    def build(self, input_shape) -> None:
        channels = input_shape[-1]
        groups = channels if self.groups == -1 else self.groups
        if groups > channels or channels % groups:
            raise MeddlError(f"GroupNormalization(groups={self.groups}) needs a channel count divisible by the groups "
                             f"and at least as large; the inputs have {channels} channels.")
        self.gamma = nn.Parameter(torch.ones(channels)) if self.scale else None
        self.beta = nn.Parameter(torch.zeros(channels)) if self.center else None

    def call(self, x: torch.Tensor) -> torch.Tensor:
        groups = x.shape[-1] if self.groups == -1 else self.groups
        return channels_last(F.group_norm(channels_first(x), groups, self.gamma, self.beta, self.epsilon))

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "groups": self.groups, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale}


class UnitNormalization(Layer):
    """Divide each sample's feature vector by its L2 norm (Keras's ``UnitNormalization``, last axis)."""

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, axis: int = -1, **kwargs):
        super().__init__(**kwargs)
        _last_axis(axis, "UnitNormalization")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).sum(dim=-1, keepdim=True).clamp(min=1e-12))


class RMSNormalization(Layer):
    """Keras's ``RMSNormalization``: ``x / sqrt(mean(x²) + epsilon) · scale`` over the last axis (Zhang and
    Sennrich 2019), with a learnt ``scale`` per feature."""

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, axis: int = -1, epsilon: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        _last_axis(axis, "RMSNormalization")
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise MeddlError(f"The 'epsilon' parameter of RMSNormalization must be positive. Got {epsilon!r} instead.")
        self.epsilon = float(epsilon)

    def build(self, input_shape) -> None:
        self.scale = nn.Parameter(torch.ones(input_shape[-1]))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.scale, self.epsilon)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "epsilon": self.epsilon}
