"""``SimpleRNN``: the plain recurrent layer ``h = tanh(x W + h U + b)`` (Keras's arguments)."""

from __future__ import annotations

from meddl.layers.base_rnn import BaseRNN

__all__ = ["SimpleRNN"]


class SimpleRNN(BaseRNN):
    """Elman's recurrent layer; parameters ``units·(features + units) + units``.

    Example:
        >>> from meddl.layers import SimpleRNN
        >>> layer = SimpleRNN(8)
    """

    def step(self, projected, states):
        return [self.cell_activation(projected + states[0] @ self.recurrent_kernel)]
