"""Keras's numeric preprocessing layers for clinical tables and code lists: ``Discretization`` (age to age
bands, inside the model) and ``CategoryEncoding`` (a patient's diagnosis codes to a multi-hot vector)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from meddl.errors import DataError, MeddlError, NotFittedError
from meddl.layers.base import Layer

__all__ = ["CategoryEncoding", "Discretization"]

_MODES = ("one_hot", "multi_hot", "count")


class CategoryEncoding(Layer):
    """Integer codes in ``[0, num_tokens)`` to vectors: ``"multi_hot"`` (1 for each code a row holds, Keras's
    default), ``"count"`` (how often), or ``"one_hot"`` (one vector per code).

    Example:
        >>> from meddl.layers import CategoryEncoding
        >>> codes = CategoryEncoding(num_tokens=500)       # rows of diagnosis codes -> (N, 500)
    """

    def __init__(self, num_tokens: int | None = None, output_mode: str = "multi_hot", sparse: bool = False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_tokens, bool) or not isinstance(num_tokens, (int, np.integer)) or num_tokens <= 0:
            raise MeddlError(f"The 'num_tokens' parameter of CategoryEncoding must be a positive integer. Got "
                             f"{num_tokens!r} instead.")
        if output_mode not in _MODES:
            raise MeddlError(f"The 'output_mode' parameter of CategoryEncoding must be one of {_MODES}. Got "
                             f"{output_mode!r} instead.")
        if sparse:
            raise MeddlError("CategoryEncoding(sparse=True) is not supported by meddl; its outputs are dense.")
        self.num_tokens, self.output_mode = int(num_tokens), output_mode

    def build(self, input_shape) -> None:
        if len(input_shape) > 1:
            raise MeddlError(f"CategoryEncoding takes one code or a list of codes per sample; got inputs of shape "
                             f"{tuple(input_shape)}.")

    def call(self, x: torch.Tensor) -> torch.Tensor:
        codes = x.long()
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.num_tokens):
            raise DataError(f"CategoryEncoding '{self.name}' got codes from {int(codes.min())} to {int(codes.max())}; "
                            f"they must lie in [0, {self.num_tokens}).")
        hot = F.one_hot(codes, self.num_tokens).to(torch.get_default_dtype())
        if self.output_mode == "one_hot" and codes.dim() == 2 and codes.shape[1] == 1:
            return hot[:, 0]  # one code per sample, as a column: one vector each (Keras's)
        if self.output_mode == "one_hot" or codes.dim() == 1:
            return hot
        counts = hot.sum(dim=1)
        return counts if self.output_mode == "count" else (counts > 0).to(counts.dtype)

    def compute_output_shape(self, input_shape):
        if self.output_mode == "one_hot" and len(input_shape) == 1 and input_shape[0] != 1:
            return (input_shape[0], self.num_tokens)
        return (self.num_tokens,)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "num_tokens": self.num_tokens, "output_mode": self.output_mode}


class Discretization(Layer):
    """Values to the index of their bin: ``bin_boundaries`` ``[b1, b2, ...]`` give bins ``(-inf, b1)``,
    ``[b1, b2)``, ..., ``[bk, inf)`` (Keras's rule); or ``num_bins`` bins of equal counts learnt by
    :meth:`adapt` (exact quantiles; Keras's are approximate, to ``epsilon``). ``output_mode="one_hot"`` gives
    one vector per value instead of the index.

    Example:
        >>> from meddl.layers import Discretization
        >>> age_band = Discretization(bin_boundaries=[18, 40, 65, 80])
    """

    def __init__(self, bin_boundaries=None, num_bins: int | None = None, epsilon: float = 0.01,
                 output_mode: str = "int", sparse: bool = False, **kwargs):
        super().__init__(**kwargs)
        if (bin_boundaries is None) == (num_bins is None):
            raise MeddlError("Discretization needs either 'bin_boundaries' or 'num_bins' (then call adapt(data)).")
        if output_mode not in ("int", "one_hot"):
            raise MeddlError(f"The 'output_mode' parameter of Discretization must be 'int' or 'one_hot' in meddl. Got "
                             f"{output_mode!r} instead.")
        if sparse:
            raise MeddlError("Discretization(sparse=True) is not supported by meddl; its outputs are dense.")
        if num_bins is not None and (isinstance(num_bins, bool) or not isinstance(num_bins, (int, np.integer))
                                     or num_bins < 2):
            raise MeddlError(f"The 'num_bins' parameter of Discretization must be an integer >= 2. Got {num_bins!r} "
                             "instead.")
        self.output_mode, self.num_bins, self.epsilon = output_mode, num_bins, float(epsilon)
        self.bin_boundaries = None if bin_boundaries is None else self._boundaries(bin_boundaries)

    @staticmethod
    def _boundaries(values: Any) -> list[float]:
        try:
            boundaries = [float(v) for v in values]
        except (TypeError, ValueError):
            raise MeddlError(f"The 'bin_boundaries' of Discretization must be a list of numbers. Got {values!r} "
                             "instead.") from None
        if any(b > a for b, a in zip(boundaries, boundaries[1:])) or not all(map(np.isfinite, boundaries)):
            raise MeddlError(f"The 'bin_boundaries' of Discretization must be finite and in increasing order. Got "
                             f"{values!r} instead.")
        return boundaries

    def adapt(self, data: Any, batch_size: Any = None, steps: Any = None) -> None:
        """Learn ``num_bins - 1`` boundaries at the quantiles of ``data`` (equal counts per bin)."""
        values = np.asarray(data, dtype=np.float64).reshape(-1)
        if values.size == 0 or not np.isfinite(values).all():
            raise DataError("Discretization.adapt needs finite numbers (impute or drop missing values first).")
        if self.num_bins is None:
            raise MeddlError("This Discretization was given 'bin_boundaries'; it does not adapt.")
        quantiles = np.quantile(values, np.linspace(0, 1, self.num_bins + 1)[1:-1])
        self.bin_boundaries = [float(q) for q in quantiles]  # ties kept: num_bins bins, some maybe empty

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if self.bin_boundaries is None:
            raise NotFittedError(f"Discretization layer '{self.name}' has no bin boundaries yet: call "
                                 "layer.adapt(x_train) first, or give bin_boundaries=.")
        boundaries = torch.tensor(self.bin_boundaries, dtype=x.dtype if x.is_floating_point() else torch.float64,
                                  device=x.device)
        indices = torch.bucketize(x.to(boundaries.dtype), boundaries, right=True)
        if self.output_mode == "one_hot":
            return F.one_hot(indices, len(self.bin_boundaries) + 1).to(torch.get_default_dtype())
        return indices

    def compute_output_shape(self, input_shape):
        if self.output_mode == "one_hot":
            bins = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None else self.num_bins
            return (*input_shape, bins)
        return input_shape

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "output_mode": self.output_mode}
        if self.bin_boundaries is not None:
            config["bin_boundaries"] = self.bin_boundaries  # learnt ones too: the model reloads with them
        else:
            config["num_bins"] = self.num_bins
        return config
