"""``ResidualBlock``: two 3×3 convolutions with batch norm and a shortcut (He et al. 2016)."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.batch_normalization import BatchNormalization
from meddl.layers.conv2d import Conv2D

__all__ = ["ResidualBlock"]


class ResidualBlock(Layer):
    """A ResNet basic block on ``(N, H, W, C)`` images: ``relu(F(x) + shortcut(x))``.

    ``F`` is conv3×3 → BN → relu → conv3×3 → BN; the shortcut is the identity,
    or a strided 1×1 conv + BN when the shape changes. A Sequential model can
    stack these to form a small ResNet.

    Example:
        >>> from meddl.layers import ResidualBlock
        >>> block = ResidualBlock(64, strides=2)
    """

    def __init__(self, filters: int, strides: int = 1, *, name: str | None = None, input_shape=None,
                 trainable: bool = True):
        super().__init__(name=name, input_shape=input_shape, activation="relu", trainable=trainable)
        if isinstance(filters, bool) or not isinstance(filters, int) or filters <= 0:
            raise MeddlError(f"The 'filters' parameter of ResidualBlock must be a positive integer. Got {filters!r} instead.")
        if strides not in (1, 2):
            raise MeddlError(f"The 'strides' parameter of ResidualBlock must be 1 or 2. Got {strides!r} instead.")
        self.filters, self.strides = filters, strides

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise MeddlError(f"ResidualBlock expects images of shape (height, width, channels); got {tuple(input_shape)}.")
        trainable = self.trainable
        self.conv1 = Conv2D(self.filters, 3, strides=self.strides, padding="same", use_bias=False, trainable=trainable)
        self.bn1 = BatchNormalization(momentum=0.9, trainable=trainable)
        self.conv2 = Conv2D(self.filters, 3, padding="same", use_bias=False, trainable=trainable)
        self.bn2 = BatchNormalization(momentum=0.9, trainable=trainable)
        shape = self.conv1.build_for(input_shape)
        self.bn1.build_for(shape)
        shape = self.conv2.build_for(shape)
        self.bn2.build_for(shape)
        if self.strides != 1 or input_shape[-1] != self.filters:
            self.shortcut = Conv2D(self.filters, 1, strides=self.strides, use_bias=False, trainable=trainable)
            self.shortcut_bn = BatchNormalization(momentum=0.9, trainable=trainable)
            self.shortcut_bn.build_for(self.shortcut.build_for(input_shape))
        else:
            self.shortcut = None

    def call(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        skip = x if self.shortcut is None else self.shortcut_bn(self.shortcut(x))
        return y + skip

    def compute_output_shape(self, input_shape):
        return self.conv2.output_shape_

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "filters": self.filters, "strides": self.strides}
        config.pop("activation", None)
        return config
