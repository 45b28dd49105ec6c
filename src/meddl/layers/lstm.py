"""``LSTM``: long short-term memory over ``(N, steps, features)`` (vital-sign series, ECG beats, visits)."""

from __future__ import annotations

from typing import Any

import torch

from meddl.layers.base_rnn import BaseRNN

__all__ = ["LSTM"]


class LSTM(BaseRNN):
    """Keras's LSTM (Hochreiter & Schmidhuber 1997): gates in Keras's order input, forget, cell, output.

    ``c = f·c + i·tanh(x W_c + h U_c + b_c)``, ``h = o·tanh(c)``; ``unit_forget_bias=True`` (Keras's
    default) starts the forget-gate bias at 1. Parameters: ``4·(units·(features + units) + units)``.

    Example:
        >>> from meddl.layers import LSTM
        >>> layer = LSTM(32, return_sequences=True)
    """

    gates = 4
    n_states = 2

    def __init__(self, units: int, *args, unit_forget_bias: bool = True, **kwargs):
        self.unit_forget_bias = bool(unit_forget_bias)
        super().__init__(units, *args, **kwargs)

    def initial_bias(self) -> torch.Tensor:
        bias = super().initial_bias()
        if self.unit_forget_bias:
            with torch.no_grad():
                bias[self.units:2 * self.units] = 1.0
        return bias

    def step(self, projected, states):
        h, c = states
        z = projected + h @ self.recurrent_kernel
        i, f, g, o = z.chunk(4, dim=-1)
        i, f, o = self.recurrent_activation(i), self.recurrent_activation(f), self.recurrent_activation(o)
        c = f * c + i * self.cell_activation(g)
        return [o * self.cell_activation(c), c]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}
