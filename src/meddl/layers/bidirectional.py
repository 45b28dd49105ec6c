"""``Bidirectional``: run a recurrent layer forwards and backwards in time and merge the two."""

from __future__ import annotations

from typing import Any

import torch

from meddl.errors import MeddlError
from meddl.layers.base import Layer, refuse_unsupported
from meddl.layers.base_rnn import BaseRNN

__all__ = ["Bidirectional"]

MERGE_MODES = ("concat", "sum", "mul", "ave", None)


class Bidirectional(Layer):
    """Keras's ``Bidirectional(layer, merge_mode="concat")`` over an ``LSTM``, ``GRU`` or ``SimpleRNN``.

    The backward copy has the same configuration with ``go_backwards`` flipped; with
    ``return_sequences`` its outputs are put back in forward time order before merging, as in Keras.

    Example:
        >>> from meddl.layers import Bidirectional, LSTM
        >>> layer = Bidirectional(LSTM(16, return_sequences=True))
    """

    def __init__(self, layer: BaseRNN, merge_mode: str | None = "concat", backward_layer: BaseRNN | None = None, *,
                 name: str | None = None, input_shape=None, trainable: bool = True, dtype=None, **ignored):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        refuse_unsupported(ignored, "Bidirectional")
        if not isinstance(layer, BaseRNN):
            raise MeddlError(f"Bidirectional wraps a recurrent layer (LSTM, GRU, SimpleRNN); got {type(layer).__name__}.")
        if merge_mode not in MERGE_MODES:
            raise MeddlError(f"The 'merge_mode' parameter of Bidirectional must be one of {MERGE_MODES}. "
                             f"Got {merge_mode!r} instead.")
        if layer.return_state:
            raise MeddlError("Bidirectional with return_state=True is not supported by meddl.")
        self.merge_mode = merge_mode
        config = layer.get_config()
        config.pop("name", None)
        self.forward_layer = layer
        if backward_layer is None:
            backward_layer = type(layer).from_config({**config, "go_backwards": not layer.go_backwards})
        self.backward_layer = backward_layer
        for direction in (self.forward_layer, self.backward_layer):  # Keras's rule for masked steps' outputs
            direction.zero_output_for_mask = direction.return_sequences
        self.forward_layer.name = self.forward_layer.name or f"forward_{layer.default_name}"
        self.backward_layer.name = self.backward_layer.name or f"backward_{layer.default_name}"

    def build(self, input_shape) -> None:
        self.forward_layer.build_for(input_shape)
        self.backward_layer.build_for(input_shape)

    consumes_mask = True  # each direction skips the padding steps itself

    def call(self, x: torch.Tensor) -> torch.Tensor:
        forward = self.forward_layer(x)
        backward = self.backward_layer(x)
        if self.forward_layer.return_sequences:
            backward = backward.flip(1)
        merged = self._merge(forward, backward)
        mask = getattr(x, "_keras_mask", None)
        if mask is not None and self.forward_layer.return_sequences and isinstance(merged, torch.Tensor):
            merged._keras_mask = mask
        return merged

    def _merge(self, forward: torch.Tensor, backward: torch.Tensor):
        if self.merge_mode == "concat":
            return torch.cat([forward, backward], dim=-1)
        if self.merge_mode == "sum":
            return forward + backward
        if self.merge_mode == "mul":
            return forward * backward
        if self.merge_mode == "ave":
            return (forward + backward) / 2
        return [forward, backward]

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.output_shape_
        if self.merge_mode == "concat":
            return (*shape[:-1], 2 * shape[-1])
        if self.merge_mode is None:
            return [shape, shape]
        return shape

    def get_config(self) -> dict[str, Any]:
        forward = {"class_name": type(self.forward_layer).__name__, "config": self.forward_layer.get_config()}
        return {**super().get_config(), "layer": forward, "merge_mode": self.merge_mode}
