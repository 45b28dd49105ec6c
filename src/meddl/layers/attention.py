"""``Attention``: Keras's dot-product attention layer (Luong), called on ``[query, value]`` or ``[query, value, key]``.

Each query step ``(batch, Tq, dim)`` scores every key step ``(batch, Tv, dim)`` by
their dot product (times a learnt ``scale`` with ``use_scale=True``), the scores
are a softmax over the key steps, and the output is the scores' weighted sum of
the value steps: ``(batch, Tq, dim)``. The key defaults to the value. Over a
patient's visits or a recording's time steps, the scores say which steps the
model drew on.

Example:
    >>> import numpy as np
    >>> from meddl.layers import Attention
    >>> query, value = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> Attention()([query, value]).shape
    torch.Size([2, 3, 4])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer, refuse_unsupported
from meddl.layers.initializers import initialize_

__all__ = ["Attention", "AdditiveAttention", "refuse_masks"]


def refuse_masks(inputs: list[torch.Tensor], layer: str) -> None:
    """Keras's attention layers turn padding masks into attention masks; meddl's do not, so they refuse them."""
    if any(getattr(item, "_keras_mask", None) is not None for item in inputs):
        raise MeddlError(f"{layer} in meddl does not apply padding masks (from Embedding(mask_zero=True) or Masking), "
                         "which Keras's would use; leave the mask out before it.")


class Attention(Layer):
    """Dot-product attention over ``[query, value]`` or ``[query, value, key]`` (Keras's ``Attention``)."""

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0, **kwargs):
        extras = {key: kwargs.pop(key) for key in list(kwargs) if key not in ("name", "trainable", "dtype",
                                                                                "input_shape")}
        super().__init__(**kwargs)
        refuse_unsupported(extras, "Attention")
        if score_mode != "dot":
            raise MeddlError(f"Attention in meddl supports score_mode='dot'. Got {score_mode!r} instead.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise MeddlError(f"The 'dropout' parameter of Attention must be in [0, 1). Got {dropout!r} instead.")
        self.use_scale, self.dropout = bool(use_scale), float(dropout)
        self.scale: nn.Parameter | None = None

    def build(self, input_shape) -> None:
        if not isinstance(input_shape, list) or len(input_shape) not in (2, 3):
            raise MeddlError(f"Attention must be called on [query, value] or [query, value, key]; got inputs of "
                             f"shape {input_shape}.")
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        if len(query) != 2 or len(value) != 2 or query[-1] != key[-1] or key[0] != value[0]:
            raise MeddlError(f"Attention needs query (Tq, dim), value (Tv, dim) and key (Tv, dim) of the same dim; "
                             f"got shapes {[(None, *s) for s in input_shape]}.")
        if self.use_scale:
            self.scale = nn.Parameter(torch.ones(()))

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        refuse_masks(inputs, "Attention")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        weights = torch.softmax(self.scores(query, key), dim=-1)
        if self.training and self.dropout:
            weights = torch.nn.functional.dropout(weights, self.dropout)
        return weights @ value

    def scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        """``(N, Tq, Tv)``: each query step's score for each key step (here their dot product)."""
        scores = query @ key.transpose(1, 2)
        return scores * self.scale if self.scale is not None else scores

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[1][-1])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": "dot", "dropout": self.dropout}


class AdditiveAttention(Attention):
    """Bahdanau-style attention (Keras's ``AdditiveAttention``): the score of query step ``q`` and key step ``k``
    is ``Σ scale · tanh(q + k)`` over the features, with a learnt ``scale`` per feature (``use_scale=True``)."""

    def __init__(self, use_scale: bool = True, dropout: float = 0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape) -> None:
        use_scale, self.use_scale = self.use_scale, False
        super().build(input_shape)  # the shape checks
        self.use_scale = use_scale
        if use_scale:
            dim = input_shape[0][-1]
            self.scale = nn.Parameter(initialize_(torch.empty(dim), "glorot_uniform", dim, dim))

    def scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        summed = torch.tanh(query.unsqueeze(2) + key.unsqueeze(1))  # (N, Tq, Tv, dim)
        return (summed * self.scale if self.scale is not None else summed).sum(dim=-1)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["score_mode"]
        return config
