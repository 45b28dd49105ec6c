"""What ``LSTM``, ``GRU`` and ``SimpleRNN`` share: Keras's arguments, the time loop, the output shapes.

Inputs are ``(N, steps, features)``. Weights are kept in Keras's layout
(``kernel`` (features, gates·units), ``recurrent_kernel`` (units, gates·units),
``bias``), so Keras models import without reordering. The input projection of
every step is one matrix product before the loop; only the recurrent product
runs per step.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from meddl.errors import MeddlError
from meddl.layers import activations
from meddl.layers.base import Layer, refuse_unsupported
from meddl.layers.initializers import check_initializer, initialize_

__all__ = ["BaseRNN"]


class BaseRNN(Layer):
    """A recurrent layer over ``(N, steps, features)``; subclasses set ``gates`` and implement ``step``."""

    gates = 1
    REGULARIZED_WEIGHTS = {"kernel_regularizer": "kernel", "recurrent_regularizer": "recurrent_kernel",
                           "bias_regularizer": "bias"}

    def __init__(self, units: int, activation="tanh", recurrent_activation="sigmoid", use_bias: bool = True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal", bias_initializer="zeros",
                 dropout: float = 0.0, recurrent_dropout: float = 0.0, return_sequences: bool = False,
                 return_state: bool = False, go_backwards: bool = False, stateful: bool = False,
                 unroll: bool = False, kernel_regularizer=None, recurrent_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, *, zero_output_for_mask: bool = False, name: str | None = None,
                 input_shape=None, trainable: bool = True, dtype=None, **ignored):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        layer = type(self).__name__
        refuse_unsupported(ignored, layer)
        self._set_regularizers(kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                               bias_regularizer=bias_regularizer, activity_regularizer=activity_regularizer)
        if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units <= 0:
            raise MeddlError(f"The 'units' parameter of {layer} must be a positive integer. Got {units!r} instead.")
        for argument, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not isinstance(value, (int, float)) or not 0 <= value < 1:
                raise MeddlError(f"The '{argument}' parameter of {layer} must be in [0, 1). Got {value!r} instead.")
        if stateful:
            raise MeddlError(f"{layer}(stateful=True) is not supported by meddl; each batch starts from zero state.")
        self.units = int(units)
        self.cell_activation_name = activations.serialize(activation)
        self.recurrent_activation_name = activations.serialize(recurrent_activation)
        self.cell_activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = check_initializer(kernel_initializer, "kernel_initializer", layer)
        self.recurrent_initializer = check_initializer(recurrent_initializer, "recurrent_initializer", layer)
        self.bias_initializer = check_initializer(bias_initializer, "bias_initializer", layer)
        self.dropout, self.recurrent_dropout = float(dropout), float(recurrent_dropout)
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards = bool(go_backwards)
        # with return_sequences and a padding mask: a padding step's output is 0 (True) or the last real one (False)
        self.zero_output_for_mask = bool(zero_output_for_mask)

    # -- per cell type --------------------------------------------------------
    n_states = 1

    def bias_shape(self) -> tuple[int, ...]:
        return (self.gates * self.units,)

    def initial_bias(self) -> torch.Tensor:
        return initialize_(torch.empty(self.bias_shape()), self.bias_initializer, 1, self.units)

    def step(self, projected: torch.Tensor, states: list[torch.Tensor]) -> list[torch.Tensor]:
        """One time step: ``projected`` is this step's ``x @ kernel (+ bias)``; return the new states (h first)."""
        raise NotImplementedError

    # -- shared ------------------------------------------------------------------
    def build(self, input_shape) -> None:
        if len(input_shape) != 2:
            raise MeddlError(f"{type(self).__name__} expects sequences of shape (steps, features); got inputs of "
                             f"shape {tuple(input_shape)}. Add a features axis with x[..., None].")
        features, width = input_shape[-1], self.gates * self.units
        self.kernel = nn.Parameter(initialize_(torch.empty(features, width), self.kernel_initializer, features, width))
        self.recurrent_kernel = nn.Parameter(initialize_(torch.empty(self.units, width), self.recurrent_initializer,
                                                         self.units, width))
        self.bias = nn.Parameter(self.initial_bias()) if self.use_bias else None

    consumes_mask = True

    def call(self, x: torch.Tensor):
        mask = getattr(x, "_keras_mask", None)  # padding steps (Embedding(mask_zero=True), Masking): skipped
        if mask is not None and self.go_backwards:
            mask = mask.flip(1)
        if self.go_backwards:
            x = x.flip(1)
        if self.training and self.dropout:
            mask = torch.empty_like(x[:, :1]).bernoulli_(1 - self.dropout) / (1 - self.dropout)
            x = x * mask  # Keras drops the same input units at every step
        projected = x @ self.kernel
        if self.bias is not None:
            projected = projected + self.input_bias()
        states = [x.new_zeros(x.shape[0], self.units) for _ in range(self.n_states)]
        recurrent_mask = None
        if self.training and self.recurrent_dropout:
            recurrent_mask = torch.empty_like(states[0]).bernoulli_(1 - self.recurrent_dropout) / (1 - self.recurrent_dropout)
        outputs = []
        for t in range(x.shape[1]):
            before = states
            if recurrent_mask is not None:
                states = [states[0] * recurrent_mask, *states[1:]]
            states = self.step(projected[:, t], states)
            if mask is not None:  # a padding step leaves the state (and the output) as they were, as in Keras
                keep = mask[:, t, None]
                states = [torch.where(keep, new, old) for new, old in zip(states, before)]
            if self.return_sequences:
                padding_output = mask is not None and self.zero_output_for_mask
                outputs.append(torch.where(mask[:, t, None], states[0], 0.0) if padding_output else states[0])
        sequence = torch.stack(outputs, dim=1) if self.return_sequences else states[0]
        if mask is not None and self.return_sequences and not self.go_backwards:
            sequence._keras_mask = mask  # passed on to the next layer
        if self.return_state:
            return [sequence, *states]
        return sequence

    def input_bias(self) -> torch.Tensor:
        return self.bias

    def compute_output_shape(self, input_shape):
        output = (input_shape[0], self.units) if self.return_sequences else (self.units,)
        if self.return_state:
            return [output, *[(self.units,)] * self.n_states]
        return output

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "units": self.units, "activation": self.cell_activation_name,
                  "recurrent_activation": self.recurrent_activation_name, "use_bias": self.use_bias,
                  "return_sequences": self.return_sequences, "return_state": self.return_state,
                  "go_backwards": self.go_backwards, "dropout": self.dropout,
                  "recurrent_dropout": self.recurrent_dropout, **self._regularizer_config()}
        if self.zero_output_for_mask:
            config["zero_output_for_mask"] = True
        if None in (self.cell_activation_name, self.recurrent_activation_name):
            raise MeddlError(f"Layer '{self.name}' uses a custom activation function, which cannot be saved.")
        for key, default in (("kernel_initializer", "glorot_uniform"), ("recurrent_initializer", "orthogonal"),
                             ("bias_initializer", "zeros")):
            if getattr(self, key) != default:
                config[key] = getattr(self, key)
        return config
