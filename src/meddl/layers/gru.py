"""``GRU``: gated recurrent unit over ``(N, steps, features)``, Keras 3's default variant (``reset_after``)."""

from __future__ import annotations

from typing import Any

import torch

from meddl.layers.base_rnn import BaseRNN

__all__ = ["GRU"]


class GRU(BaseRNN):
    """Keras's GRU (Cho et al. 2014), gates in Keras's order update (z), reset (r), candidate (h).

    With ``reset_after=True`` (Keras's default, cuDNN-compatible) the reset gate multiplies the recurrent
    product after it, and the bias has two rows (input and recurrent): parameters
    ``3·units·(features + units) + 6·units``; with ``reset_after=False`` one row, ``... + 3·units``.

    Example:
        >>> from meddl.layers import GRU
        >>> layer = GRU(16)
    """

    gates = 3

    def __init__(self, units: int, *args, reset_after: bool = True, **kwargs):
        self.reset_after = bool(reset_after)
        super().__init__(units, *args, **kwargs)

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def input_bias(self) -> torch.Tensor:
        return self.bias[0] if self.reset_after else self.bias

    def step(self, projected, states):
        (h,) = states
        x_z, x_r, x_h = projected.chunk(3, dim=-1)
        units = self.units
        if self.reset_after:
            recurrent = h @ self.recurrent_kernel
            if self.bias is not None:
                recurrent = recurrent + self.bias[1]
            r_z, r_r, r_h = recurrent.chunk(3, dim=-1)
            z = self.recurrent_activation(x_z + r_z)
            r = self.recurrent_activation(x_r + r_r)
            candidate = self.cell_activation(x_h + r * r_h)
        else:
            gates = h @ self.recurrent_kernel[:, :2 * units]
            z = self.recurrent_activation(x_z + gates[:, :units])
            r = self.recurrent_activation(x_r + gates[:, units:])
            candidate = self.cell_activation(x_h + (r * h) @ self.recurrent_kernel[:, 2 * units:])
        return [z * h + (1 - z) * candidate]

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "reset_after": self.reset_after}
