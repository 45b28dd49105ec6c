"""Keras's functional spellings of the merge layers: ``layers.concatenate([a, b])`` is ``Concatenate()([a, b])``.

Keras tutorials write the lowercase forms (``x = layers.add([x, residual])``); each builds the layer with the
given arguments and calls it on ``inputs`` at once. Defining them in ``meddl.layers`` also replaces the
package attributes that would otherwise be the layers' own modules (``meddl.layers.add`` is this function,
not ``add.py``), so a Keras program does not meet "'module' object is not callable".
"""

from __future__ import annotations

from meddl.layers.add import Add
from meddl.layers.average import Average
from meddl.layers.concatenate import Concatenate
from meddl.layers.dot import Dot
from meddl.layers.maximum import Maximum
from meddl.layers.minimum import Minimum
from meddl.layers.multiply import Multiply
from meddl.layers.subtract import Subtract

__all__ = ["add", "average", "concatenate", "dot", "maximum", "minimum", "multiply", "subtract"]


def add(inputs, **kwargs):
    """The element-wise sum of ``inputs`` (Keras's ``layers.add``)."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """``inputs[0] - inputs[1]`` (Keras's ``layers.subtract``)."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """The element-wise product of ``inputs`` (Keras's ``layers.multiply``)."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """The element-wise mean of ``inputs`` (Keras's ``layers.average``)."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """The element-wise maximum of ``inputs`` (Keras's ``layers.maximum``)."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """The element-wise minimum of ``inputs`` (Keras's ``layers.minimum``)."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis: int = -1, **kwargs):
    """``inputs`` joined along ``axis`` (Keras's ``layers.concatenate``)."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """The dot product of two inputs along ``axes`` (Keras's ``layers.dot``)."""
    return Dot(axes=axes, **kwargs)(inputs)
