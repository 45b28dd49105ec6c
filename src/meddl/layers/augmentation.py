"""Random image augmentation as layers (Keras's preprocessing-layer style).

They act only while training and are the identity at inference, so a saved
model carries its augmentation and predictions never see it. Each layer is a
one-transform :class:`~meddl.data.AugmentationPolicy` applied by the one
augmentation kernel, :func:`meddl.data.augment_images` (the run pipelines use
the same kernel through ``ImageAugmenter``), on whole batches at once, drawing
from torch's generator, so ``meddl.set_seed`` makes them reproducible.
"""

from __future__ import annotations

from typing import Any

import torch

from meddl.data.augmentation import AugmentationPolicy, augment_images
from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["RandomFlip", "RandomRotation", "RandomContrast", "RandomBrightness"]


def _check_factor(value: float, argument: str, layer: str, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
        raise MeddlError(f"The '{argument}' parameter of {layer} must be a float in [0, {high}]. Got {value!r} instead.")
    return float(value)


class _RandomLayer(Layer):
    def _check_images(self, input_shape):
        if len(input_shape) != 3:
            raise MeddlError(f"{type(self).__name__} expects images of shape (height, width, channels); "
                             f"got inputs of shape {tuple(input_shape)}.")

    def build(self, input_shape):
        self._check_images(input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        return self.call(x)

    def call(self, x):
        return augment_images(x, self.policy)


class RandomFlip(_RandomLayer):
    """Flip each image with probability 1/2: ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"``."""

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal", *, name: str | None = None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if mode not in self.MODES:
            raise MeddlError(f"The 'mode' parameter of RandomFlip must be one of {self.MODES}. Got {mode!r} instead.")
        self.mode = mode
        self.policy = AugmentationPolicy(flip=mode)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_RandomLayer):
    """Rotate each image by a random angle in [-factor·2π, factor·2π] (Keras's convention), reflecting at the edges."""

    def __init__(self, factor: float = 0.03, *, name: str | None = None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.factor = _check_factor(factor, "factor", "RandomRotation", high=0.5)
        self.policy = AugmentationPolicy(rotation=self.factor * 360.0)  # Keras's factor is a fraction of a turn

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class RandomContrast(_RandomLayer):
    """Scale each image's deviation from its mean by a random factor in [1 − factor, 1 + factor]."""

    def __init__(self, factor: float = 0.1, *, name: str | None = None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.factor = _check_factor(factor, "factor", "RandomContrast")
        self.policy = AugmentationPolicy(contrast=self.factor)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class RandomBrightness(_RandomLayer):
    """Add a random offset in [−factor, factor] to each image (for inputs scaled to [0, 1])."""

    def __init__(self, factor: float = 0.1, *, name: str | None = None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.factor = _check_factor(factor, "factor", "RandomBrightness")
        self.policy = AugmentationPolicy(brightness=self.factor)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}
