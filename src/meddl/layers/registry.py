"""Layers as plain data: ``serialize(layer) -> {"class_name", "config"}`` and back."""

from __future__ import annotations

from typing import Any

from meddl.errors import MeddlError, unknown_name_error
from meddl.layers.base import Layer
from meddl.layers.augmentation import RandomBrightness, RandomContrast, RandomFlip, RandomRotation
from meddl.layers.batch_normalization import BatchNormalization
from meddl.layers.conv2d import Conv2D
from meddl.layers.core import Activation, Dropout, Flatten
from meddl.layers.dense import Dense
from meddl.layers.input_layer import InputLayer
from meddl.layers.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from meddl.layers.residual import ResidualBlock

__all__ = ["serialize", "deserialize", "get_layer_class", "LAYER_CLASSES"]

LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (InputLayer, Dense, Conv2D, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                Flatten, Dropout, BatchNormalization, Activation, ResidualBlock,
                RandomFlip, RandomRotation, RandomContrast, RandomBrightness)
}
_ALIASES = {"Input": "InputLayer", "MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D"}


def get_layer_class(class_name: str) -> type[Layer]:
    """Return the layer class called ``class_name`` (Keras's names and aliases accepted)."""
    name = _ALIASES.get(class_name, class_name)
    if name not in LAYER_CLASSES:
        raise unknown_name_error("layer", class_name, [*LAYER_CLASSES, *_ALIASES])
    return LAYER_CLASSES[name]


def serialize(layer: Layer) -> dict[str, Any]:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec: dict[str, Any]) -> Layer:
    """Build a layer from ``{"class_name": ..., "config": {...}}``."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise MeddlError(f"A layer specification must be a mapping with a 'class_name' key. Got {spec!r} instead.")
    cls = get_layer_class(spec["class_name"])
    config = dict(spec.get("config") or {})
    try:
        return cls.from_config(config)
    except TypeError as exc:
        raise MeddlError(f"Invalid configuration for layer {spec['class_name']}: {exc}.") from None
