"""One call to make a run repeatable: seed Python, NumPy and torch."""

from __future__ import annotations

import random

import numpy as np
import torch

from meddl.errors import MeddlError

__all__ = ["set_seed"]


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and CUDA) with ``seed``.

    Same seed, same machine → identical weights and metrics.

    Example:
        >>> import meddl
        >>> meddl.set_seed(42)
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MeddlError(f"The 'seed' must be a non-negative integer. Got {seed!r} instead.")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    torch.manual_seed(int(seed))
