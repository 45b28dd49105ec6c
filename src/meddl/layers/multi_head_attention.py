"""``MultiHeadAttention``: Keras's multi-head (scaled dot-product) attention, the core of a Transformer encoder,
for sequences such as ECG beats, vital-sign windows or the visits of a record."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError
from meddl.layers.attention import refuse_masks
from meddl.layers.base import Layer, refuse_unsupported
from meddl.layers.initializers import check_initializer

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
    default the query's). Weights are laid out as Keras's (``query_kernel`` is ``(features, heads, key_dim)``),
    and ``use_causal_mask=True`` lets each step attend only to itself and earlier steps.

    Example:
        >>> import meddl
        >>> x = meddl.Input((100, 8))
        >>> y = meddl.layers.MultiHeadAttention(num_heads=2, key_dim=16)(x, x)
    """

    def __init__(self, num_heads: int, key_dim: int, value_dim: int | None = None, dropout: float = 0.0,
                 use_bias: bool = True, output_shape: int | None = None, attention_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", use_causal_mask: bool = False,
                 **kwargs):
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
        self.use_causal_mask = bool(use_causal_mask)  # Keras's call argument, kept here so a saved model keeps it

    def __call__(self, query, value=None, key=None, *, use_causal_mask: bool | None = None, attention_mask=None,
                 return_attention_scores: bool = False, training=None, query_mask=None, value_mask=None,
                 key_mask=None):
        """Keras's call: ``layer(query, value[, key])``; ``value`` defaults to ``query``."""
        if any(mask is not None for mask in (attention_mask, query_mask, value_mask, key_mask)) \
                or return_attention_scores:
            raise MeddlError("MultiHeadAttention in meddl takes no attention_mask (or query/value/key masks) and "
                             "does not return the attention scores; use_causal_mask=True is supported.")
        if use_causal_mask is not None:
            if self.built and bool(use_causal_mask) != self.use_causal_mask:
                raise MeddlError(f"MultiHeadAttention '{self.name}' was built with use_causal_mask="
                                 f"{self.use_causal_mask}; call it the same way each time.")
            self.use_causal_mask = bool(use_causal_mask)
        if isinstance(query, (list, tuple)) and value is None and key is None:  # the model's own call: [q, v(, k)]
            inputs = list(query)
        else:
            inputs = [query, query if value is None else value] + ([] if key is None else [key])
        return super().__call__(inputs) if training is None else super().__call__(inputs, training=training)

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

    def call(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        refuse_masks(inputs, "MultiHeadAttention")
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) == 3 else value
        q = self._project(query, "query") / math.sqrt(self.key_dim)
        k, v = self._project(key, "key"), self._project(value, "value")
        scores = torch.einsum("nqhd,nkhd->nhqk", q, k)
        if self.use_causal_mask:
            steps_q, steps_k = scores.shape[-2], scores.shape[-1]
            allowed = torch.ones(steps_q, steps_k, dtype=torch.bool, device=scores.device).tril()
            scores = scores.masked_fill(~allowed, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        if self.training and self.dropout:
            weights = F.dropout(weights, self.dropout)
        attended = torch.einsum("nhqk,nkhd->nqhd", weights, v)
        output = torch.einsum("nqhd,hdo->nqo", attended, self.output_kernel)
        return output + self.output_bias if self.use_bias else output

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.output_dim or input_shape[0][-1])

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                  "value_dim": self.value_dim, "dropout": self.dropout, "use_bias": self.use_bias,
                  "output_shape": self.output_dim, "use_causal_mask": self.use_causal_mask}
        for argument, default in (("kernel_initializer", "glorot_uniform"), ("bias_initializer", "zeros")):
            if getattr(self, argument) != default:
                config[argument] = getattr(self, argument)
        return config
