"""Shared helpers for channels-last 2-D layers (convolution and pooling).

meddl keeps images channels-last ``(N, H, W, C)`` as Keras does. Torch's
kernels want ``(N, C, H, W)``: ``x.permute(0, 3, 1, 2)`` of a contiguous
channels-last tensor is exactly torch's ``channels_last`` memory format, so
the round trip costs no copy.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from meddl.errors import MeddlError

__all__ = ["pair", "check_padding", "output_length", "same_padding", "to_channels_first", "to_channels_last"]

PADDINGS = ("valid", "same")


def pair(value, argument: str, layer: str) -> tuple[int, int]:
    """Normalise an int or a pair of ints into a pair of positive ints."""
    values = (value, value) if isinstance(value, int) and not isinstance(value, bool) else value
    try:
        first, second = values
        result = (int(first), int(second))
    except (TypeError, ValueError):
        raise MeddlError(f"The '{argument}' parameter of {layer} must be a positive integer or a pair of them. Got {value!r} instead.") from None
    if min(result) <= 0 or result != (first, second):
        raise MeddlError(f"The '{argument}' parameter of {layer} must be a positive integer or a pair of them. Got {value!r} instead.")
    return result


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


def to_channels_first(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def pad_same(x_nchw: torch.Tensor, window, strides, dilation=(1, 1), value: float = 0.0) -> torch.Tensor:
    pads = same_padding(tuple(x_nchw.shape[2:]), window, strides, dilation)
    return F.pad(x_nchw, pads, value=value) if any(pads) else x_nchw
