"""``Masking``: mark the padding steps of a sequence, so the recurrent layers after it skip them (Keras's)."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer

__all__ = ["Masking"]


class Masking(Layer):
    """A step whose features all equal ``mask_value`` is padding: it is zeroed, and the output carries a mask
    that ``LSTM``/``GRU``/``SimpleRNN``/``Bidirectional`` and ``GlobalAveragePooling1D`` use to skip it
    (layers such as ``Dense`` and ``Dropout`` pass it on), as in Keras.

    Example:
        >>> import meddl
        >>> visits = meddl.Sequential([meddl.Input((20, 6)), meddl.layers.Masking(0.0), meddl.layers.LSTM(8)])
    """

    supports_masking = True

    def __init__(self, mask_value: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if isinstance(mask_value, bool) or not isinstance(mask_value, (int, float)):
            raise MeddlError(f"The 'mask_value' parameter of Masking must be a number. Got {mask_value!r} instead.")
        self.mask_value = float(mask_value)

    def build(self, input_shape) -> None:
        if len(input_shape) != 2:
            raise MeddlError(f"Masking expects sequences of shape (steps, features); got inputs of shape "
                             f"{tuple(input_shape)}.")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        keep = (x != self.mask_value).any(dim=-1)
        output = x * keep[..., None].to(x.dtype)
        output._keras_mask = keep
        return output

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mask_value": self.mask_value}
