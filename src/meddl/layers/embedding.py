"""``Embedding``: a learned vector per integer code (ICD codes, medication ids, tokens)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import MeddlError
from meddl.layers.base import Layer, refuse_unsupported
from meddl.layers.initializers import check_initializer, initialize_

__all__ = ["Embedding"]


def _positive_int(value: Any, argument: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise MeddlError(f"The '{argument}' parameter of Embedding must be a positive integer. Got {value!r} instead.")
    return int(value)


class Embedding(Layer):
    """Map integer codes in ``[0, input_dim)`` to dense vectors of size ``output_dim`` (Keras's arguments).

    The table is Keras's ``embeddings`` weight, shape ``(input_dim, output_dim)``, started
    uniform in [-0.05, 0.05] as Keras does. With ``mask_zero=True`` code 0 is padding: the output carries a
    mask, and the recurrent layers and ``GlobalAveragePooling1D`` after it skip those steps, as in Keras.

    Example:
        >>> from meddl.layers import Embedding
        >>> layer = Embedding(1000, 16)
    """

    REGULARIZED_WEIGHTS = {"embeddings_regularizer": "embeddings"}

    def __init__(self, input_dim: int, output_dim: int, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero: bool = False, *, activity_regularizer=None,
                 name: str | None = None, input_shape=None, input_length=None, trainable: bool = True, dtype=None,
                 **ignored):
        super().__init__(name=name, input_shape=input_shape, trainable=trainable, dtype=dtype)
        refuse_unsupported({**ignored, "embeddings_constraint": embeddings_constraint}, "Embedding")
        self._set_regularizers(embeddings_regularizer=embeddings_regularizer, activity_regularizer=activity_regularizer)
        self.input_dim = _positive_int(input_dim, "input_dim")
        self.output_dim = _positive_int(output_dim, "output_dim")
        self.embeddings_initializer = check_initializer(embeddings_initializer, "embeddings_initializer", "Embedding")
        self.mask_zero = bool(mask_zero)

    def build(self, input_shape) -> None:
        table = torch.empty(self.input_dim, self.output_dim)
        self.embeddings = nn.Parameter(initialize_(table, self.embeddings_initializer, self.input_dim, self.output_dim))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        codes = x if not x.is_floating_point() else x.long()
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.input_dim):
            raise MeddlError(f"Embedding '{self.name}' got codes outside [0, {self.input_dim}) (from {int(codes.min())} "
                             f"to {int(codes.max())}). Raise input_dim or re-encode the codes.")
        vectors = F.embedding(codes, self.embeddings)
        if self.mask_zero:
            vectors._keras_mask = codes != 0
        return vectors

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                  **self._regularizer_config()}
        if self.embeddings_initializer != "random_uniform":
            config["embeddings_initializer"] = self.embeddings_initializer
        if self.mask_zero:
            config["mask_zero"] = True
        return config
