"""Keras 3's ``keras.random`` for the code of your own layers: ``normal``, ``uniform``, ``truncated_normal``,
``randint``, ``categorical``, ``dropout``, ``shuffle`` and ``SeedGenerator``, on torch.

``seed`` works as in Keras: ``None`` draws from the global generator (``meddl.set_seed`` fixes it); an integer
gives the same values at every call; a ``SeedGenerator`` gives new values at every call, reproducibly from its
seed (what a layer that samples, such as a variational autoencoder's, keeps as ``self.seed_generator``).
Inside a layer's ``call`` the values are made on the device of the call's inputs. With an integer seed,
``normal``, ``uniform`` and ``randint`` give the values Keras's torch backend gives; the other draws, and a
``SeedGenerator``'s stream, differ from Keras's values but follow its distributions.

Example:
    >>> import meddl
    >>> from meddl import layers, ops, random
    >>> class Sampling(layers.Layer):  # keras.io's variational autoencoder, as written there
    ...     def __init__(self, **kwargs):
    ...         super().__init__(**kwargs)
    ...         self.seed_generator = random.SeedGenerator(1337)
    ...     def call(self, inputs):
    ...         z_mean, z_log_var = inputs
    ...         epsilon = random.normal(shape=ops.shape(z_mean), seed=self.seed_generator)
    ...         return z_mean + ops.exp(0.5 * z_log_var) * epsilon
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from meddl.errors import MeddlError, missing_name
from meddl.layers.added_losses import CALLS
from meddl.ops import convert_to_tensor, torch_dtype

__all__ = ["SeedGenerator", "categorical", "dropout", "normal", "randint", "shuffle", "truncated_normal",
           "uniform"]


class SeedGenerator:
    """A seeded stream of random draws: each use gives new values, and the same seed the same stream
    (``seed=None``: seeded from the global generator, which ``meddl.set_seed`` fixes)."""

    def __init__(self, seed: int | None = None, **kwargs):
        if kwargs:
            raise MeddlError(f"SeedGenerator got unexpected argument(s) {sorted(kwargs)}; it takes 'seed'.")
        if seed is None:
            seed = int(torch.randint(0, 2**62, ()).item())
        self.seed = _check_seed(seed)
        self._generators: dict[torch.device, torch.Generator] = {}

    def generator(self, device: torch.device) -> torch.Generator:
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]

    def get_config(self) -> dict[str, int]:
        return {"seed": self.seed}


def _check_seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise MeddlError(f"'seed' must be None, a non-negative integer or a meddl.random.SeedGenerator. Got "
                         f"{seed!r} instead.")
    return int(seed)


def _device() -> torch.device:
    return CALLS.device if CALLS.depth and CALLS.device is not None else torch.get_default_device()


def _generator(seed: Any, device: torch.device) -> torch.Generator | None:
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        return seed.generator(device)
    return torch.Generator(device=device).manual_seed(_check_seed(seed))  # the same values at every call


def _shape(shape: Any) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in (shape if isinstance(shape, (list, tuple, torch.Size)) else [shape]))
    except (TypeError, ValueError):
        raise MeddlError(f"'shape' must be a tuple of integers. Got {shape!r} instead.") from None


def _float(dtype: Any) -> torch.dtype:
    found = torch_dtype(dtype) or torch.get_default_dtype()
    if not found.is_floating_point:
        raise MeddlError(f"dtype must be a floating-point type here. Got {dtype!r} instead.")
    return found


def normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
           seed: Any = None) -> torch.Tensor:
    device = _device()
    values = torch.randn(_shape(shape), generator=_generator(seed, device), dtype=_float(dtype), device=device)
    return values * stddev + mean


def uniform(shape: Sequence[int], minval: float = 0.0, maxval: float = 1.0, dtype: Any = None,
            seed: Any = None) -> torch.Tensor:
    device = _device()
    values = torch.rand(_shape(shape), generator=_generator(seed, device), dtype=_float(dtype), device=device)
    return values * (maxval - minval) + minval


def truncated_normal(shape: Sequence[int], mean: float = 0.0, stddev: float = 1.0, dtype: Any = None,
                     seed: Any = None) -> torch.Tensor:
    """Normal values redrawn until within two standard deviations of the mean, as Keras's."""
    device = _device()
    values = torch.empty(_shape(shape), dtype=_float(dtype), device=device)
    torch.nn.init.trunc_normal_(values, 0.0, 1.0, -2.0, 2.0, generator=_generator(seed, device))
    return values * stddev + mean


def randint(shape: Sequence[int], minval: int, maxval: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """Integers in ``[minval, maxval)``."""
    device = _device()
    return torch.randint(int(minval), int(maxval), _shape(shape), generator=_generator(seed, device),
                         device=device).to(torch_dtype(dtype))


def categorical(logits: Any, num_samples: int, dtype: Any = "int32", seed: Any = None) -> torch.Tensor:
    """``num_samples`` class indices per row of ``logits`` ``(batch, classes)``, drawn from their softmax."""
    logits = convert_to_tensor(logits)
    if logits.dim() != 2:
        raise MeddlError(f"categorical needs logits of shape (batch, classes); got shape {tuple(logits.shape)}.")
    probabilities = torch.softmax(logits.float(), dim=-1)
    return torch.multinomial(probabilities, int(num_samples), replacement=True,
                             generator=_generator(seed, probabilities.device)).to(torch_dtype(dtype))


def dropout(inputs: Any, rate: float, noise_shape: Sequence[int] | None = None, seed: Any = None) -> torch.Tensor:
    """Zero each value with probability ``rate`` and scale the others by ``1 / (1 - rate)``; ``noise_shape``
    (broadcast to the inputs) drops whole rows, channels or steps together."""
    inputs = convert_to_tensor(inputs)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise MeddlError(f"The 'rate' of dropout must be in [0, 1]. Got {rate!r} instead.")
    if rate == 1:
        return torch.zeros_like(inputs)
    shape = tuple(inputs.shape) if noise_shape is None else tuple(
        size if wanted is None else int(wanted) for size, wanted in zip(inputs.shape, noise_shape))
    kept = torch.rand(shape, generator=_generator(seed, inputs.device), device=inputs.device) >= rate
    return inputs * kept / (1.0 - rate)


def shuffle(x: Any, axis: int = 0, seed: Any = None) -> torch.Tensor:
    x = convert_to_tensor(x)
    order = torch.randperm(x.shape[axis], generator=_generator(seed, x.device), device=x.device)
    return torch.index_select(x, axis, order)

def __getattr__(name: str):
    raise missing_name("meddl.random", name, __all__)
