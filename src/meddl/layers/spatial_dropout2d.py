"""``SpatialDropout2D``: drop whole feature maps (channels) during training."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.base_pooling import check_rank

__all__ = ["SpatialDropout2D"]


class SpatialDropout2D(Layer):
    """Zero each channel of each image with probability ``rate`` in training (scaled by 1/(1−rate)).

    Neighbouring pixels of a feature map are strongly correlated, so dropping single pixels
    (``Dropout``) barely regularises a convolutional network; dropping whole maps does
    (Tompson et al. 2015). Identity at inference.

    Example:
        >>> from meddl.layers import SpatialDropout2D
        >>> layer = SpatialDropout2D(0.2)
    """

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None, *,
                 name: str | None = None, input_shape=None, trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise MeddlError(f"The 'rate' parameter of SpatialDropout2D must be a float in the range [0, 1). "
                             f"Got {rate!r} instead.")
        check_channels_last(data_format, "SpatialDropout2D")
        self.rate = float(rate)
        self.seed = seed  # accepted for Keras compatibility; meddl.set_seed governs randomness

    def build(self, input_shape) -> None:
        check_rank(input_shape, 2, "SpatialDropout2D")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        keep = torch.empty((x.shape[0], 1, 1, x.shape[-1]), device=x.device, dtype=x.dtype).bernoulli_(1 - self.rate)
        return x * keep / (1 - self.rate)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}
