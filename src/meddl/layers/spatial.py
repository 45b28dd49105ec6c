"""Shared helpers for channels-last 2-D layers (convolution and pooling).

meddl keeps images channels-last ``(N, H, W, C)`` as Keras does. Torch's
kernels want ``(N, C, H, W)``: ``x.permute(0, 3, 1, 2)`` of a contiguous
channels-last tensor is exactly torch's ``channels_last`` memory format, so
the round trip costs no copy.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from meddl.errors import MeddlError

__all__ = ["pair", "ntuple", "edge_pairs", "check_padding", "output_length", "same_padding", "same_padding_nd", "to_channels_first",
           "to_channels_last", "channels_first", "channels_last", "pad_same", "pad_same_nd"]

PADDINGS = ("valid", "same")


def pair(value, argument: str, layer: str) -> tuple[int, int]:
    """Normalise an int or a pair of ints into a pair of positive ints."""
    return ntuple(value, 2, argument, layer)


def ntuple(value, rank: int, argument: str, layer: str) -> tuple[int, ...]:
    """Normalise an int or ``rank`` ints into a tuple of ``rank`` positive ints."""
    what = "a positive integer" if rank == 1 else f"a positive integer or a tuple of {rank} of them"
    values = (value,) * rank if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        values = tuple(values)
        result = tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise MeddlError(f"The '{argument}' parameter of {layer} must be {what}. Got {value!r} instead.") from None
    if len(result) != rank or min(result) <= 0 or result != values:
        raise MeddlError(f"The '{argument}' parameter of {layer} must be {what}. Got {value!r} instead.")
    return result


def edge_pairs(value, argument: str, layer: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """An int, a pair ``(rows, columns)`` or ``((top, bottom), (left, right))`` of non-negative ints, as
    ``((top, bottom), (left, right))`` (ZeroPadding2D's padding, Cropping2D's cropping)."""
    message = (f"The '{argument}' parameter of {layer} must be an int, a pair (rows, columns) or "
               f"((top, bottom), (left, right)) of non-negative ints. Got {value!r} instead.")
    try:
        if isinstance(value, int):
            pairs = ((value, value), (value, value))
        elif all(isinstance(v, int) for v in value):
            rows, columns = value
            pairs = ((rows, rows), (columns, columns))
        else:
            (top, bottom), (left, right) = value
            pairs = ((int(top), int(bottom)), (int(left), int(right)))
    except (TypeError, ValueError):
        raise MeddlError(message) from None
    if isinstance(value, bool) or min(min(pairs)) < 0:
        raise MeddlError(message)
    return pairs


def check_padding(padding: str, layer: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in PADDINGS:
        raise MeddlError(f"The 'padding' parameter of {layer} must be 'valid' or 'same'. Got {padding!r} instead.")
    return padding.lower()


def output_length(length: int, window: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Output length along one axis, with TensorFlow/Keras's rounding."""
    if padding == "same":
        return math.ceil(length / stride)
    effective = (window - 1) * dilation + 1
    return max((length - effective) // stride + 1, 0)


def same_padding(size: tuple[int, int], window: tuple[int, int], strides: tuple[int, int],
                 dilation: tuple[int, int] = (1, 1)) -> tuple[int, int, int, int]:
    """TensorFlow's 'same' padding as ``F.pad`` arguments (left, right, top, bottom).

    When the total padding is odd TensorFlow puts the extra pixel at the end.
    """
    pads = []
    for length, k, s, d in zip(size, window, strides, dilation):
        total = max((math.ceil(length / s) - 1) * s + (k - 1) * d + 1 - length, 0)
        pads.append((total // 2, total - total // 2))
    (top, bottom), (left, right) = pads
    return (left, right, top, bottom)


def same_padding_nd(size, window, strides, dilation=None) -> list[int]:
    """TensorFlow's 'same' padding for any number of spatial axes, as ``F.pad`` arguments (last axis first)."""
    dilation = dilation or (1,) * len(size)
    pads: list[int] = []
    for length, k, s, d in zip(size, window, strides, dilation):
        total = max((math.ceil(length / s) - 1) * s + (k - 1) * d + 1 - length, 0)
        pads = [total // 2, total - total // 2, *pads]
    return pads


def pad_same_nd(x_first: torch.Tensor, window, strides, dilation=None, value: float = 0.0) -> torch.Tensor:
    """Pad a channels-first tensor ``(N, C, *spatial)`` for 'same' output sizes."""
    pads = same_padding_nd(tuple(x_first.shape[2:]), window, strides, dilation)
    return F.pad(x_first, pads, value=value) if any(pads) else x_first


def channels_first(x: torch.Tensor) -> torch.Tensor:
    """``(N, *spatial, C)`` → ``(N, C, *spatial)`` as a view (any number of spatial axes).

    An explicit ``permute``, not ``movedim``: torch's ONNX exporter writes a wrong Transpose for
    ``movedim(-1, 1)`` (ONNX Runtime then refuses the model; tests/runs/test_export.py).
    """
    rank = x.dim()
    return x.permute(0, rank - 1, *range(1, rank - 1))


def channels_last(x: torch.Tensor) -> torch.Tensor:
    rank = x.dim()
    return x.permute(0, *range(2, rank), 1)


def to_channels_first(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def pad_same(x_nchw: torch.Tensor, window, strides, dilation=(1, 1), value: float = 0.0) -> torch.Tensor:
    pads = same_padding(tuple(x_nchw.shape[2:]), window, strides, dilation)
    return F.pad(x_nchw, pads, value=value) if any(pads) else x_nchw
