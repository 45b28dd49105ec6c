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

__all__ = ["RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness"]


def _check_factor(value: float, argument: str, layer: str, high: float = 1.0) -> float:
    """A symmetric range's half-width: a float, or Keras's ``(-f, f)`` pair (asymmetric pairs are refused)."""
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        if value[0] != -value[1]:
            raise MeddlError(f"The '{argument}' parameter of {layer} must be symmetric in meddl, a float f or "
                             f"(-f, f). Got {tuple(value)!r} instead.")
        value = value[1]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= high:
        raise MeddlError(f"The '{argument}' parameter of {layer} must be a float in [0, {high}]. Got {value!r} instead.")
    return float(value)


def _check_sampling(layer: str, fill_mode: str, interpolation: str) -> None:
    """meddl's warps reflect at the edges and interpolate bilinearly (Keras's defaults); others are refused."""
    if fill_mode != "reflect" or interpolation != "bilinear":
        raise MeddlError(f"{layer} in meddl fills by reflection and interpolates bilinearly (Keras's defaults); "
                         f"got fill_mode={fill_mode!r}, interpolation={interpolation!r}.")


def _check_range(value_range: Any, layer: str) -> tuple[float, float] | None:
    if value_range is None:
        return None
    if (not isinstance(value_range, (list, tuple)) or len(value_range) != 2
            or not all(isinstance(v, (int, float)) for v in value_range) or not value_range[0] < value_range[1]):
        raise MeddlError(f"The 'value_range' parameter of {layer} must be a pair (low, high) with low < high, such as "
                         f"(0, 255). Got {value_range!r} instead.")
    return float(value_range[0]), float(value_range[1])


class _RandomLayer(Layer):
    """``seed`` is accepted as in Keras; the draws come from torch's generator, which ``meddl.set_seed`` seeds."""

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
    """Flip each image with probability 1/2: ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"``
    (Keras's default; for chest X-rays and other images with a fixed orientation, give ``"horizontal"``)."""

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None, *, name: str | None = None,
                 input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if mode not in self.MODES:
            raise MeddlError(f"The 'mode' parameter of RandomFlip must be one of {self.MODES}. Got {mode!r} instead.")
        self.mode = mode
        self.policy = AugmentationPolicy(flip=mode)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


class RandomRotation(_RandomLayer):
    """Rotate each image by a random angle in [-factor·2π, factor·2π] (Keras's convention), reflecting at the edges."""

    def __init__(self, factor: float = 0.03, fill_mode: str = "reflect", interpolation: str = "bilinear",
                 seed: int | None = None, fill_value: float = 0.0, *, value_range=None, name: str | None = None,
                 input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        _check_sampling("RandomRotation", fill_mode, interpolation)
        self.factor = _check_factor(factor, "factor", "RandomRotation", high=0.5)
        self.policy = AugmentationPolicy(rotation=self.factor * 360.0)  # Keras's factor is a fraction of a turn

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


class RandomZoom(_RandomLayer):
    """Zoom each image in or out by a random factor in [1 − f, 1 + f] of its size (the same for height and
    width, as Keras's default ``width_factor=None``), reflecting at the edges."""

    def __init__(self, height_factor: float = 0.1, width_factor: float | None = None, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0, *,
                 value_range=None, name: str | None = None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        _check_sampling("RandomZoom", fill_mode, interpolation)
        self.height_factor = _check_factor(height_factor, "height_factor", "RandomZoom", high=0.9)
        if width_factor is not None and _check_factor(width_factor, "width_factor", "RandomZoom") != self.height_factor:
            raise MeddlError("RandomZoom in meddl keeps the aspect ratio: leave width_factor=None (or equal to "
                             f"height_factor). Got height_factor={height_factor!r}, width_factor={width_factor!r}.")
        self.policy = AugmentationPolicy(scale=self.height_factor)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor}


class RandomTranslation(_RandomLayer):
    """Shift each image by up to ``height_factor`` of its height and ``width_factor`` of its width (equal in
    meddl), reflecting at the edges."""

    def __init__(self, height_factor: float, width_factor: float, fill_mode: str = "reflect",
                 interpolation: str = "bilinear", seed: int | None = None, fill_value: float = 0.0, *,
                 value_range=None, name: str | None = None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        _check_sampling("RandomTranslation", fill_mode, interpolation)
        self.height_factor = _check_factor(height_factor, "height_factor", "RandomTranslation")
        self.width_factor = _check_factor(width_factor, "width_factor", "RandomTranslation")
        if self.height_factor != self.width_factor:
            raise MeddlError("RandomTranslation in meddl shifts by the same fraction along both axes; got "
                             f"height_factor={height_factor!r} and width_factor={width_factor!r}.")
        self.policy = AugmentationPolicy(translate=self.height_factor)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height_factor": self.height_factor, "width_factor": self.width_factor}


class _IntensityLayer(_RandomLayer):
    """An intensity change; with ``value_range`` its results are clipped to that range, as Keras's are."""

    def __init__(self, factor: float, value_range, *, name: str | None = None, input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        self.factor = _check_factor(factor, "factor", type(self).__name__)
        self.value_range = _check_range(value_range, type(self).__name__)

    def call(self, x):
        x = augment_images(x, self.policy)
        return x if self.value_range is None else x.clamp(*self.value_range)

    def get_config(self) -> dict[str, Any]:
        value_range = {} if self.value_range is None else {"value_range": list(self.value_range)}
        return {**super().get_config(), "factor": self.factor, **value_range}


class RandomContrast(_IntensityLayer):
    """Scale each image's deviation from its mean by a random factor in [1 − factor, 1 + factor]."""

    def __init__(self, factor: float = 0.1, seed: int | None = None, value_range=None, *, name: str | None = None,
                 input_shape=None):
        super().__init__(factor, value_range, name=name, input_shape=input_shape)
        self.policy = AugmentationPolicy(contrast=self.factor)


class RandomBrightness(_IntensityLayer):
    """Add a random offset in [−factor, factor] × the width of ``value_range`` to each image, clipped to it.

    Keras's default range is (0, 255). meddl's default, ``None``, is [0, 1] images, and training
    refuses a batch outside [0, 1] rather than brighten 0–255 images by a fraction of a grey level.
    """

    def __init__(self, factor: float = 0.1, value_range=None, seed: int | None = None, *, name: str | None = None,
                 input_shape=None):
        super().__init__(factor, value_range, name=name, input_shape=input_shape)
        width = 1.0 if self.value_range is None else self.value_range[1] - self.value_range[0]
        self.policy = AugmentationPolicy(brightness=self.factor * width)

    def call(self, x):
        if self.value_range is None and x.numel() and (x.min() < -1e-6 or x.max() > 1 + 1e-6):
            raise MeddlError(f"RandomBrightness got images with values in [{float(x.min()):g}, {float(x.max()):g}], "
                             "but its value_range is [0, 1] by default. Give value_range=(0, 255) (Keras's default) "
                             "for 0-255 images, or scale them to [0, 1] first (e.g. Rescaling(1 / 255)).")
        return super().call(x)
