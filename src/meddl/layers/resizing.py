"""``Resizing`` and ``CenterCrop``: bring images of another size to the model's (Keras's preprocessing layers).

Both act in training and at inference alike, and are saved with the model, so a
model trained on 64×64 images can be given the scanner's 512×512 ones. Bilinear
resizing is torch's ``interpolate`` with half-pixel centres (``align_corners=False``),
the convention of Keras's ``ops.image.resize``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.base_pooling import check_rank

__all__ = ["Resizing", "CenterCrop"]

_MODES = {"bilinear": "bilinear", "nearest": "nearest-exact"}  # torch's "nearest" floors; Keras's rounds


def _check_size(height: Any, width: Any, layer: str) -> tuple[int, int]:
    for argument, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
            raise MeddlError(f"The '{argument}' parameter of {layer} must be a positive integer. Got {value!r} instead.")
    return int(height), int(width)


def _center_window(size: int, target: int) -> slice:
    start = (size - target) // 2
    return slice(start, start + target)


class Resizing(Layer):
    """Resize images ``(N, H, W, C)`` to ``(height, width)``; ``crop_to_aspect_ratio=True`` first crops the largest
    central window of the target's aspect ratio, so nothing is stretched.

    Example:
        >>> from meddl.layers import Resizing
        >>> layer = Resizing(64, 64, crop_to_aspect_ratio=True)
    """

    def __init__(self, height: int, width: int, interpolation: str = "bilinear", crop_to_aspect_ratio: bool = False,
                 pad_to_aspect_ratio: bool = False, fill_mode: str = "constant", fill_value: float = 0.0,
                 antialias: bool = False, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        check_channels_last(data_format, "Resizing")
        if pad_to_aspect_ratio or antialias:
            raise MeddlError("Resizing in meddl crops (crop_to_aspect_ratio) but does not pad to the aspect ratio, and "
                             f"does not antialias; got pad_to_aspect_ratio={pad_to_aspect_ratio!r}, "
                             f"antialias={antialias!r}.")
        self.height, self.width = _check_size(height, width, "Resizing")
        if interpolation not in _MODES:
            raise MeddlError(f"The 'interpolation' parameter of Resizing must be one of {sorted(_MODES)} in meddl. "
                             f"Got {interpolation!r} instead.")
        self.interpolation, self.crop_to_aspect_ratio = interpolation, bool(crop_to_aspect_ratio)

    def build(self, input_shape) -> None:
        check_rank(input_shape, 2, "Resizing")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if self.crop_to_aspect_ratio:
            height, width = x.shape[1], x.shape[2]
            crop_height = max(min(height, int(width * self.height / self.width)), 1)  # Keras's truncation
            crop_width = max(min(width, int(height * self.width / self.height)), 1)
            x = x[:, _center_window(height, crop_height), _center_window(width, crop_width)]
        images = x.permute(0, 3, 1, 2)
        mode = _MODES[self.interpolation]
        options = {"align_corners": False} if mode == "bilinear" else {}
        resized = F.interpolate(images.float() if not images.is_floating_point() else images,
                                size=(self.height, self.width), mode=mode, **options)
        return resized.permute(0, 2, 3, 1)

    def compute_output_shape(self, input_shape):
        return (self.height, self.width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width,
                "interpolation": self.interpolation, "crop_to_aspect_ratio": self.crop_to_aspect_ratio}


class CenterCrop(Layer):
    """Keep the central ``height`` × ``width`` window of each image (the window starts ``(H − height) // 2`` rows
    down, as in Keras). Images smaller than the window are refused: resize them first.

    Example:
        >>> from meddl.layers import CenterCrop
        >>> layer = CenterCrop(224, 224)
    """

    def __init__(self, height: int, width: int, data_format: str | None = None, **kwargs):
        super().__init__(**kwargs)
        check_channels_last(data_format, "CenterCrop")
        self.height, self.width = _check_size(height, width, "CenterCrop")

    def build(self, input_shape) -> None:
        check_rank(input_shape, 2, "CenterCrop")
        self.compute_output_shape(input_shape)

    def _check_fits(self, height: Any, width: Any) -> None:
        if height is not None and width is not None and (height < self.height or width < self.width):
            raise MeddlError(f"CenterCrop({self.height}, {self.width}) needs images at least that large; got "
                             f"{height}x{width}. Put a Resizing layer before it.")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        self._check_fits(x.shape[1], x.shape[2])
        return x[:, _center_window(x.shape[1], self.height), _center_window(x.shape[2], self.width)]

    def compute_output_shape(self, input_shape):
        self._check_fits(input_shape[0], input_shape[1])
        return (self.height, self.width, input_shape[-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "height": self.height, "width": self.width}
