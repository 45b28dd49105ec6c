"""``TimeDistributed``: apply one layer to every step of a sequence (the frames of an echocardiogram, the
slices of a CT volume, each visit of a record) with the same weights."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer, refuse_unsupported

__all__ = ["TimeDistributed"]


class TimeDistributed(Layer):
    """Keras's ``TimeDistributed(layer)``: inputs ``(N, steps, ...)``, ``layer`` applied to each ``(N, ...)``
    slice, outputs ``(N, steps, ...)``; one set of weights for all steps.

    Example:
        >>> from meddl.layers import Conv2D, TimeDistributed
        >>> frames = TimeDistributed(Conv2D(8, 3, activation="relu"))   # on (N, frames, H, W, C)
    """

    supports_masking = True  # steps kept: a padding mask passes through

    def __init__(self, layer: Layer, *, name: str | None = None, input_shape=None, trainable: bool = True, dtype=None,
                 **ignored):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        refuse_unsupported(ignored, "TimeDistributed")
        if not isinstance(layer, Layer):
            raise MeddlError(f"TimeDistributed wraps a meddl layer, e.g. TimeDistributed(Dense(8)); got {layer!r}.")
        self.layer = layer

    def build(self, input_shape) -> None:
        if len(input_shape) < 2:
            raise MeddlError(f"TimeDistributed needs inputs of shape (steps, ...) per sample, at least two axes; got "
                             f"inputs of shape {tuple(input_shape)}.")
        self.layer.build_for(input_shape[1:])

    def call(self, x: torch.Tensor) -> torch.Tensor:
        n, steps = x.shape[0], x.shape[1]
        outputs = self.layer(x.reshape(n * steps, *x.shape[2:]))
        if isinstance(outputs, (list, tuple)):
            raise MeddlError(f"TimeDistributed wraps layers with one output; {type(self.layer).__name__} gives "
                             f"{len(outputs)}.")
        return outputs.reshape(n, steps, *outputs.shape[1:])

    def keras_weight(self, key: str, tensor: torch.Tensor):
        return self.layer.keras_weight(key.split(".", 1)[1], tensor)  # "layer.kernel": the wrapped layer's layout

    def from_keras_weight(self, key: str, array) -> torch.Tensor:
        return self.layer.from_keras_weight(key.split(".", 1)[1], array)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self.layer.output_shape_)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "layer": {"class_name": type(self.layer).__name__,
                                                  "config": self.layer.get_config()}}
