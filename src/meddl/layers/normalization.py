"""``Normalization``: standardise features inside the model with a mean and variance learnt by ``adapt``.

As Keras's preprocessing layer: ``layer.adapt(x_train)`` computes each feature's
mean and (population) variance, and the layer then maps ``x`` to
``(x − mean) / max(√variance, 1e-7)`` (``invert=True`` maps back). The statistics
are saved with the model (non-trainable weights), so a saved model standardises
new patients exactly as in training, with no scaler to carry around.

Example:
    >>> import numpy as np
    >>> from meddl.layers import Normalization
    >>> layer = Normalization()
    >>> layer.adapt(np.array([[1.0, 10.0], [3.0, 30.0]]))
    >>> layer(np.array([[2.0, 20.0]], "float32")).tolist()
    [[0.0, 0.0]]
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from meddl.errors import DataError, MeddlError, NotFittedError
from meddl.layers.base import Layer

__all__ = ["Normalization"]

_EPSILON = 1e-7  # Keras's backend epsilon


class Normalization(Layer):
    """Feature-wise standardisation with statistics from :meth:`adapt` (or given ``mean`` and ``variance``).

    Args:
        axis: the feature axis kept separate (default -1, the last; ``None``: one mean for everything).
        mean, variance: fixed statistics (numbers or one per feature) instead of ``adapt``.
        invert: map standardised values back to the original scale.
    """

    def __init__(self, axis: int | None = -1, mean: Any = None, variance: Any = None, invert: bool = False, **kwargs):
        super().__init__(**kwargs)
        if axis is not None and (isinstance(axis, bool) or not isinstance(axis, int) or axis == 0):
            raise MeddlError(f"The 'axis' parameter of Normalization must be a non-zero integer (axis 0 is the batch) "
                             f"or None. Got {axis!r} instead.")
        if (mean is None) != (variance is None):
            raise MeddlError("Normalization needs both 'mean' and 'variance', or neither (then call adapt(data)).")
        self.axis, self.invert = axis, bool(invert)
        self.given = None if mean is None else (self._statistic(mean, "mean"), self._statistic(variance, "variance"))
        if self.given is not None and np.any(self.given[1] < 0):
            raise MeddlError(f"The 'variance' of Normalization must be >= 0. Got {variance!r} instead.")
        for name in ("mean", "variance", "count"):
            self.register_buffer(name, None)  # created by build

    @staticmethod
    def _statistic(value: Any, argument: str) -> np.ndarray:
        try:
            array = np.asarray(value, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise MeddlError(f"The '{argument}' of Normalization must be a number or a list of numbers. "
                             f"Got {value!r} instead.") from None
        return array

    def _statistic_shape(self, input_shape: tuple[int, ...]) -> list[int]:
        if self.axis is None:
            return [1] * len(input_shape)
        axis = self.axis - 1 if self.axis > 0 else len(input_shape) + self.axis
        if not 0 <= axis < len(input_shape):
            raise MeddlError(f"Normalization axis {self.axis} does not fit inputs of shape {tuple(input_shape)}.")
        return [size if index == axis else 1 for index, size in enumerate(input_shape)]

    def build(self, input_shape: tuple[int, ...]) -> None:
        shape = self._statistic_shape(tuple(input_shape))
        mean, variance = torch.zeros(shape), torch.ones(shape)
        count = torch.zeros(())
        if self.given is not None:
            size = int(np.prod(shape))
            for name, value in zip(("mean", "variance"), self.given):
                if value.size not in (1, size):
                    raise MeddlError(f"Normalization's '{name}' has {value.size} values; the inputs of shape "
                                     f"{tuple(input_shape)} have {size} features on axis {self.axis}.")
            mean, variance = (torch.tensor(np.broadcast_to(value, size).reshape(shape), dtype=torch.float32)
                              for value in self.given)
            count = torch.ones(())
        self.register_buffer("mean", mean)
        self.register_buffer("variance", variance)
        self.register_buffer("count", count)  # rows adapt saw (1 for given statistics): 0 means not adapted

    def reset_weights(self) -> None:
        """The statistics are learnt by ``adapt``, not drawn at random: a re-seeded ``fit`` keeps them."""

    def adapt(self, data: Any, batch_size: Any = None, steps: Any = None) -> None:
        """Learn each feature's mean and variance from ``data`` (an array of samples, as ``fit``'s ``x``)."""
        try:
            array = np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"Normalization.adapt needs numeric data; got {type(data).__name__}.") from None
        if array.ndim < 2 or array.shape[0] == 0:
            raise DataError(f"Normalization.adapt needs samples of shape (N, features...); got shape {array.shape}.")
        if not np.isfinite(array).all():
            raise DataError("Normalization.adapt got NaN or infinite values; impute or drop them first.")
        if self.given is not None:
            raise MeddlError("This Normalization was given 'mean' and 'variance'; it does not adapt.")
        if not self.built:
            self.build_for(array.shape[1:])
        elif tuple(array.shape[1:]) != tuple(self.input_shape_):
            raise DataError(f"Normalization was built for samples of shape {tuple(self.input_shape_)}; adapt got "
                            f"{tuple(array.shape[1:])}.")
        shape = self._statistic_shape(tuple(array.shape[1:]))
        reduce = tuple(i for i in range(array.ndim) if i == 0 or shape[i - 1] == 1)
        with torch.no_grad():
            self.mean.copy_(torch.as_tensor(array.mean(axis=reduce).reshape(shape)))
            self.variance.copy_(torch.as_tensor(array.var(axis=reduce).reshape(shape)))
            self.count.fill_(float(array.shape[0]))

    def call(self, x: torch.Tensor) -> torch.Tensor:
        if float(self.count) == 0:
            raise NotFittedError(f"Normalization layer '{self.name}' has no statistics yet: call "
                                 "layer.adapt(x_train) before training, or give mean= and variance=.")
        scale = self.variance.sqrt().clamp_min(_EPSILON)
        return x * scale + self.mean if self.invert else (x - self.mean) / scale

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), "axis": self.axis, "invert": self.invert}
        if self.given is not None:
            config["mean"], config["variance"] = self.given[0].tolist(), self.given[1].tolist()
        return config
