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

import numpy as np
import torch
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer, padding_mask, refuse_unsupported
from meddl.layers.initializers import initialize_
from meddl.layers.symbolic import SymbolicTensor, is_symbolic

__all__ = ["Attention", "AdditiveAttention", "as_mask", "attention_weights", "causal_mask", "fixed_call_flag",
           "refuse_graph_mask"]

#: what a masked score becomes before the softmax (Keras's value for float32)
_MASKED = -1e9


def refuse_graph_mask(layer: str, argument: str) -> None:
    """A mask passed to a layer called on symbolic tensors: meddl's graphs carry tensors, not masks, between
    layers, so it is refused by name (padding masks from Embedding or Masking do flow through a graph)."""
    raise MeddlError(f"{layer}'s '{argument}' cannot be given in a functional model (meddl.Input ...): mark padding "
                     "with Embedding(mask_zero=True) or Masking() before the layer, which the layer applies, or call "
                     "the layer inside a layer of your own, where the mask is a real tensor.")


def as_mask(value: Any, argument: str, layer: str, shape: tuple[int, ...]) -> torch.Tensor:
    """A mask given by the caller as a boolean tensor that broadcasts to ``shape`` (non-zero numbers are kept
    steps, as Keras reads them); anything else is refused by name."""
    if isinstance(value, SymbolicTensor) or is_symbolic(value):
        refuse_graph_mask(layer, argument)
    try:
        mask = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    except (TypeError, ValueError):
        raise MeddlError(f"{layer}'s '{argument}' must be a boolean array of shape {shape}. Got {value!r} "
                         "instead.") from None
    if mask.dtype != torch.bool:
        if mask.is_complex() or not (mask.is_floating_point() or mask.dtype in _INTEGER_DTYPES):
            raise MeddlError(f"{layer}'s '{argument}' must be boolean (or 0/1 numbers). Got dtype {mask.dtype}.")
        mask = mask != 0
    try:
        torch.broadcast_shapes(tuple(mask.shape), shape)
    except RuntimeError:
        raise MeddlError(f"{layer}'s '{argument}' must broadcast to shape {shape} (batch, query steps, value "
                         f"steps); got shape {tuple(mask.shape)}.") from None
    if mask.dim() > len(shape):
        raise MeddlError(f"{layer}'s '{argument}' must have at most {len(shape)} axes {shape}; got shape "
                         f"{tuple(mask.shape)}.")
    return mask


_INTEGER_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def attention_weights(scores: torch.Tensor, allowed: torch.Tensor | None) -> torch.Tensor:
    """Softmax over the last axis with the positions ``allowed`` is False at left out (Keras 3's masked softmax:
    their scores become -1e9, and their weights 0, so a query step that may attend to nothing attends to
    nothing)."""
    if allowed is None:
        return torch.softmax(scores, dim=-1)
    allowed = allowed.to(scores.device)
    weights = torch.softmax(scores.masked_fill(~allowed, _MASKED), dim=-1)
    return weights.masked_fill(~allowed, 0.0)


def causal_mask(query_steps: int, key_steps: int, device: torch.device) -> torch.Tensor:
    """``(Tq, Tv)``: each query step may attend to itself and to earlier steps only."""
    return torch.ones(query_steps, key_steps, dtype=torch.bool, device=device).tril()


class Attention(Layer):
    """Dot-product attention over ``[query, value]`` or ``[query, value, key]`` (Keras's ``Attention``).

    Padding masks left by ``Embedding(mask_zero=True)`` or ``Masking`` are applied as in Keras: padded value
    steps get no weight, padded query steps give zeros, and the output keeps the query's mask. ``mask=[query_mask,
    value_mask]`` gives them by hand; ``use_causal_mask=True`` lets each query step see only itself and earlier
    steps; ``return_attention_scores=True`` also returns the weights ``(N, Tq, Tv)``, which say which steps each
    query step drew on. ``score_mode="concat"`` scores ``Σ tanh(q + k)`` (times a learnt weight).
    """

    def __init__(self, use_scale: bool = False, score_mode: str = "dot", dropout: float = 0.0,
                 use_causal_mask: bool = False, return_attention_scores: bool = False, **kwargs):
        extras = {key: kwargs.pop(key) for key in list(kwargs) if key not in ("name", "trainable", "dtype",
                                                                                "input_shape")}
        super().__init__(**kwargs)
        refuse_unsupported(extras, type(self).__name__)
        if score_mode not in ("dot", "concat"):
            raise MeddlError(f"The 'score_mode' parameter of Attention must be 'dot' or 'concat'. Got "
                             f"{score_mode!r} instead.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise MeddlError(f"The 'dropout' parameter of {type(self).__name__} must be in [0, 1). Got {dropout!r} "
                             "instead.")
        self.use_scale, self.score_mode, self.dropout = bool(use_scale), score_mode, float(dropout)
        # Keras's call arguments, kept on the layer when a functional model's call sets them, so it is saved
        self.use_causal_mask, self.return_attention_scores = bool(use_causal_mask), bool(return_attention_scores)
        self.scale: nn.Parameter | None = None
        self.concat_score_weight: nn.Parameter | None = None

    def __call__(self, inputs, mask=None, training=None, return_attention_scores: bool | None = None,
                 use_causal_mask: bool | None = None):
        """Keras's call: ``layer([query, value])`` or ``layer([query, value, key], mask=[query_mask, value_mask])``."""
        name = type(self).__name__
        self.use_causal_mask = fixed_call_flag(self, "use_causal_mask", use_causal_mask)
        options: dict[str, Any] = {} if training is None else {"training": training}
        if is_symbolic(inputs):
            if mask is not None:
                refuse_graph_mask(name, "mask")
            self.return_attention_scores = fixed_call_flag(self, "return_attention_scores", return_attention_scores)
            return super().__call__(inputs, **options)
        if mask is not None:
            if not isinstance(mask, (list, tuple)) or len(mask) != 2:
                raise MeddlError(f"{name}'s 'mask' must be a list [query_mask, value_mask] (either may be None). "
                                 f"Got {type(mask).__name__} instead.")
            options["masks"] = mask
        if return_attention_scores is not None:
            options["return_scores"] = bool(return_attention_scores)
        return super().__call__(inputs, **options)

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
        if self.score_mode == "concat":
            self.concat_score_weight = nn.Parameter(torch.ones(()))

    def forward(self, inputs: list[torch.Tensor], masks=None, return_scores: bool | None = None):
        return self.call(inputs, masks=masks, return_scores=return_scores)

    def call(self, inputs: list[torch.Tensor], masks=None, return_scores: bool | None = None):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        batch, query_steps, value_steps = query.shape[0], query.shape[1], value.shape[1]
        if masks is None:
            query_mask, value_mask = padding_mask(query), padding_mask(value)
        else:
            name = type(self).__name__
            query_mask, value_mask = (None if given is None else as_mask(given, f"mask[{index}]", name, shape)
                                      for index, (given, shape) in enumerate(zip(masks, [(batch, query_steps),
                                                                                         (batch, value_steps)])))
        scores = self.scores(query, key)
        allowed = None if value_mask is None else value_mask.reshape(-1, 1, value_steps)
        if self.use_causal_mask:
            causal = causal_mask(query_steps, value_steps, scores.device)
            allowed = causal if allowed is None else allowed & causal
        if allowed is not None:  # Keras lowers these scores by 1e9 (it does not replace them)
            scores = torch.where(allowed.to(scores.device), scores, scores - 1e9)
        weights = torch.softmax(scores, dim=-1)
        if self.training and self.dropout:
            weights = torch.nn.functional.dropout(weights, self.dropout)
        output = weights @ value
        if query_mask is not None:
            query_mask = query_mask.reshape(-1, query_steps).to(output.device)
            output = output.masked_fill(~query_mask.unsqueeze(-1), 0.0)
            output._keras_mask = query_mask.expand(batch, query_steps)  # passed on, as Keras's compute_mask
        wanted = self.return_attention_scores if return_scores is None else return_scores
        return (output, weights) if wanted else output

    #: reads its inputs' padding masks itself, and passes the query's on
    consumes_mask = True

    def scores(self, query: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
        """``(N, Tq, Tv)``: each query step's score for each key step (their dot product, or for
        ``score_mode="concat"`` the sum of ``tanh(q + k)``)."""
        if self.score_mode == "concat":
            summed = query.unsqueeze(2) + key.unsqueeze(1)  # (N, Tq, Tv, dim)
            if self.scale is not None:
                summed = summed * self.scale
            return self.concat_score_weight * torch.tanh(summed).sum(dim=-1)
        scores = query @ key.transpose(1, 2)
        return scores * self.scale if self.scale is not None else scores

    def compute_output_shape(self, input_shape):
        output = (input_shape[0][0], input_shape[1][-1])
        return [output, (input_shape[0][0], input_shape[1][0])] if self.return_attention_scores else output

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                  "dropout": self.dropout}
        for flag in ("use_causal_mask", "return_attention_scores"):
            if getattr(self, flag):
                config[flag] = True
        return config


def fixed_call_flag(layer: Layer, flag: str, value: bool | None) -> bool:
    """A call argument that changes what a layer computes or returns (``use_causal_mask``,
    ``return_attention_scores`` in a graph): set by its first call, and the same in every later call."""
    current = getattr(layer, flag)
    if value is None:
        return current
    if layer.built and bool(value) != current:
        raise MeddlError(f"{type(layer).__name__} '{layer.name}' was built with {flag}={current}; call it the same "
                         "way each time.")
    return bool(value)


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
