"""Spatial dropout: drop whole channels (feature maps) during training, for signals ``(N, steps, C)``
(``SpatialDropout1D``), images (``SpatialDropout2D``) and volumes ``(N, D, H, W, C)`` (``SpatialDropout3D``)."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer
from meddl.layers.base_conv import check_channels_last
from meddl.layers.base_pooling import check_rank

__all__ = ["SpatialDropoutND", "SpatialDropout1D", "SpatialDropout3D"]


class SpatialDropoutND(Layer):
    """Zero each channel of each sample with probability ``rate`` in training (scaled by 1/(1−rate)).

    Neighbouring positions of a feature map are strongly correlated, so dropping single values
    (``Dropout``) barely regularises a convolutional network; dropping whole maps does
    (Tompson et al. 2015). Identity at inference. Subclasses set ``rank``.
    """

    rank = 2

    def __init__(self, rate: float, data_format: str | None = None, seed: int | None = None, *,
                 name: str | None = None, input_shape=None, trainable: bool = True, dtype=None):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        layer = type(self).__name__
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise MeddlError(f"The 'rate' parameter of {layer} must be a float in the range [0, 1). "
                             f"Got {rate!r} instead.")
        check_channels_last(data_format, layer)
        self.rate = float(rate)
        self.seed = seed  # accepted for Keras compatibility; meddl.set_seed governs randomness

    def build(self, input_shape) -> None:
        check_rank(input_shape, self.rank, type(self).__name__)

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate == 0:
            return x
        shape = (x.shape[0], *(1,) * self.rank, x.shape[-1])
        keep = torch.empty(shape, device=x.device, dtype=x.dtype).bernoulli_(1 - self.rate)
        return x * keep / (1 - self.rate)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rate": self.rate}


class SpatialDropout1D(SpatialDropoutND):
    """Drop whole channels of signals ``(N, steps, C)`` (an ECG lead's learnt feature, all along the trace)."""

    rank = 1


class SpatialDropout3D(SpatialDropoutND):
    """Drop whole channels of volumes ``(N, D, H, W, C)``."""

    rank = 3
