"""``MultiHeadAttention``: Keras's multi-head (scaled dot-product) attention, the core of a Transformer encoder,
for sequences such as ECG beats, vital-sign windows or the visits of a record."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.attention import as_mask, attention_weights, causal_mask, fixed_call_flag, refuse_graph_mask
from meddl.layers.base import Layer, padding_mask, refuse_unsupported
from meddl.layers.initializers import check_initializer
from meddl.layers.symbolic import is_symbolic

__all__ = ["MultiHeadAttention"]


def _positive_int(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise MeddlError(f"The '{argument}' parameter of MultiHeadAttention must be a positive integer. Got {value!r} "
                         "instead.")
    return value


class MultiHeadAttention(Layer):
    """Keras's ``MultiHeadAttention(num_heads, key_dim)``, called as ``layer(query, value)`` or
    ``layer(query, value, key)`` on ``(N, steps, features)`` sequences (self-attention: ``layer(x, x)``).

    Each head projects the query, key and value (``key_dim`` / ``value_dim`` features), weighs the values by
    ``softmax(q·kᵀ / √key_dim)``, and the heads' results are projected back to ``output_shape`` features (by
    default the query's). Weights are laid out as Keras's (``query_kernel`` is ``(features, heads, key_dim)``).

    Masks, as in Keras: padding masks left by ``Embedding(mask_zero=True)`` or ``Masking`` on the query, value
    and key are applied (no step attends to a padded step, a padded query step attends to nothing) and the
    output keeps the query's mask; ``use_causal_mask=True`` lets each step attend only to itself and earlier
    steps; ``attention_mask`` ``(N, Tq, Tv)`` (and ``query_mask`` / ``value_mask`` / ``key_mask``) can be given
    by hand when the layer is called on real tensors (inside a layer of your own).
    ``return_attention_scores=True`` also returns the weights ``(N, heads, Tq, Tv)``: which steps each step drew
    on.

    Example:
        >>> import meddl
        >>> x = meddl.Input((100, 8))
        >>> y = meddl.layers.MultiHeadAttention(num_heads=2, key_dim=16)(x, x)
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: int | None = None, attention_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", use_causal_mask: bool = False,
                 return_attention_scores: bool = False, **kwargs):
        extras = {key: kwargs.pop(key) for key in list(kwargs) if key not in ("name", "trainable", "dtype",
                                                                                "input_shape")}
        super().__init__(**kwargs)
        refuse_unsupported(extras, "MultiHeadAttention")
        self.num_heads, self.key_dim = _positive_int(num_heads, "num_heads"), _positive_int(key_dim, "key_dim")
        self.value_dim = self.key_dim if value_dim is None else _positive_int(value_dim, "value_dim")
        if isinstance(output_shape, (list, tuple)) and len(output_shape) == 1:
            output_shape = output_shape[0]
        self.output_dim = None if output_shape is None else _positive_int(output_shape, "output_shape")
        if attention_axes not in (None, 1, (1,), [1], -2, (-2,), [-2]):
            raise MeddlError("MultiHeadAttention in meddl attends over the steps axis of (N, steps, features) "
                             f"inputs; attention_axes={attention_axes!r} is not supported.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise MeddlError(f"The 'dropout' parameter of MultiHeadAttention must be in [0, 1). Got {dropout!r} "
                             "instead.")
        self.dropout, self.use_bias = float(dropout), bool(use_bias)
        self.kernel_initializer = check_initializer(kernel_initializer, "kernel_initializer", "MultiHeadAttention")
        self.bias_initializer = check_initializer(bias_initializer, "bias_initializer", "MultiHeadAttention")
        # Keras's call arguments, kept on the layer when a functional model's call sets them, so it is saved
        self.use_causal_mask, self.return_attention_scores = bool(use_causal_mask), bool(return_attention_scores)

    def __call__(self, query, value=None, key=None, *, query_mask=None, value_mask=None, key_mask=None,
                 attention_mask=None, return_attention_scores: bool | None = None, training=None,
                 use_causal_mask: bool | None = None):
        """Keras's call: ``layer(query, value[, key])``; ``value`` defaults to ``query``."""
        self.use_causal_mask = fixed_call_flag(self, "use_causal_mask", use_causal_mask)
        if isinstance(query, (list, tuple)) and value is None and key is None:  # the model's own call: [q, v(, k)]
            inputs = list(query)
        else:
            inputs = [query, query if value is None else value] + ([] if key is None else [key])
        given = {name: mask for name, mask in (("query_mask", query_mask), ("value_mask", value_mask),
                                               ("key_mask", key_mask), ("attention_mask", attention_mask))
                 if mask is not None}
        options: dict[str, Any] = {} if training is None else {"training": training}
        if is_symbolic(inputs):
            if given:
                refuse_graph_mask("MultiHeadAttention", next(iter(given)))
            self.return_attention_scores = fixed_call_flag(self, "return_attention_scores", return_attention_scores)
            return super().__call__(inputs, **options)
        if given:
            options["masks"] = given
        if return_attention_scores is not None:
            options["return_scores"] = bool(return_attention_scores)
        return super().__call__(inputs, **options)

    def build(self, input_shape) -> None:
        if not isinstance(input_shape, list) or any(len(shape) != 2 for shape in input_shape):
            raise MeddlError("MultiHeadAttention needs query, value (and key) of shape (steps, features) per sample; "
                             f"got shapes {[(None, *s) for s in input_shape] if isinstance(input_shape, list) else input_shape}.")
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        if key[0] != value[0]:
            raise MeddlError(f"MultiHeadAttention needs key and value with the same number of steps; got {key[0]} "
                             f"and {value[0]}.")
        heads = self.num_heads
        for part, features, width in (("query", query[-1], self.key_dim), ("key", key[-1], self.key_dim),
                                      ("value", value[-1], self.value_dim)):
            setattr(self, f"{part}_kernel", self.add_weight((features, heads, width), self.kernel_initializer))
            if self.use_bias:
                setattr(self, f"{part}_bias", self.add_weight((heads, width), self.bias_initializer))
        output_dim = self.output_dim or query[-1]
        self.output_kernel = self.add_weight((heads, self.value_dim, output_dim), self.kernel_initializer)
        if self.use_bias:
            self.output_bias = self.add_weight((output_dim,), self.bias_initializer)

    def _project(self, x: torch.Tensor, part: str) -> torch.Tensor:
        projected = torch.einsum("ntf,fhd->nthd", x, getattr(self, f"{part}_kernel"))
        return projected + getattr(self, f"{part}_bias") if self.use_bias else projected

    def forward(self, inputs: list[torch.Tensor], masks=None, return_scores: bool | None = None):
        return self.call(inputs, masks=masks, return_scores=return_scores)

    def call(self, inputs: list[torch.Tensor], masks: dict[str, Any] | None = None,
             return_scores: bool | None = None):
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        allowed, query_mask = self._allowed(inputs, masks or {})
        q = self._project(query, "query") / math.sqrt(self.key_dim)
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = torch.einsum("nqhd,nkhd->nhqk", q, k)
        weights = attention_weights(scores, None if allowed is None else allowed.unsqueeze(1))  # over the heads
        dropped = F.dropout(weights, self.dropout) if self.training and self.dropout else weights
        attended = torch.einsum("nhqk,nkhd->nqhd", dropped, v)
        output = torch.einsum("nqhd,hdo->nqo", attended, self.output_kernel)
        if self.use_bias:
            output = output + self.output_bias
        if query_mask is not None:
            output._keras_mask = query_mask  # the query's padding mask is passed on, as in Keras
        wanted = self.return_attention_scores if return_scores is None else return_scores
        return (output, weights) if wanted else output

    #: turns its inputs' padding masks into an attention mask, and passes the query's on
    consumes_mask = True

    def _allowed(self, inputs: list[torch.Tensor], masks: dict[str, Any]):
        """Which value steps each query step may attend to, ``(N, Tq, Tv)`` (None: all), as Keras combines them:
        the query's, value's and key's padding masks (from Embedding(mask_zero=True) or Masking, or given), the
        causal mask and ``attention_mask``; and the query's padding mask ``(N, Tq)``."""
        query, value = inputs[0], inputs[1]
        batch, query_steps, value_steps = query.shape[0], query.shape[1], value.shape[1]
        found = {"query_mask": padding_mask(query), "value_mask": padding_mask(value),
                 "key_mask": padding_mask(inputs[2]) if len(inputs) == 3 else None}
        shapes = {"query_mask": (batch, query_steps), "value_mask": (batch, value_steps),
                  "key_mask": (batch, value_steps), "attention_mask": (batch, query_steps, value_steps)}
        for name, mask in masks.items():
            found[name] = as_mask(mask, name, "MultiHeadAttention", shapes[name])
        parts = []
        if found["query_mask"] is not None:
            parts.append(found["query_mask"].reshape(-1, query_steps, 1))
        parts += [found[name].reshape(-1, 1, value_steps) for name in ("value_mask", "key_mask")
                  if found[name] is not None]
        if self.use_causal_mask:
            parts.append(causal_mask(query_steps, value_steps, query.device))
        if found.get("attention_mask") is not None:
            parts.append(found["attention_mask"])
        allowed = None
        for part in parts:
            part = part.to(query.device)
            allowed = part if allowed is None else allowed & part
        if allowed is not None and allowed.dim() < 3:  # a causal or given (Tq, Tv) mask: the same for every sample
            allowed = allowed.reshape(1, *[1] * (2 - allowed.dim()), *allowed.shape)
        query_mask = found["query_mask"]
        if query_mask is not None:
            query_mask = query_mask.reshape(-1, query_steps).to(query.device).expand(batch, query_steps)
        return allowed, query_mask

    def compute_output_shape(self, input_shape):
        output = (input_shape[0][0], self.output_dim or input_shape[0][-1])
        if self.return_attention_scores:
            return [output, (self.num_heads, input_shape[0][0], input_shape[1][0])]
        return output

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                  "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                  "output_shape": self.output_dim, "use_causal_mask": self.use_causal_mask}
        if self.return_attention_scores:
            config["return_attention_scores"] = True
        for argument, default in (("kernel_initializer", "glorot_uniform"), ("bias_initializer", "zeros")):
            if getattr(self, argument) != default:
                config[argument] = getattr(self, argument)
        return config
