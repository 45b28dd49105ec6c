"""Keras-style layers on PyTorch. Images are channels-last ``(N, H, W, C)``.

Example:
    >>> from meddl import Sequential
    >>> from meddl.layers import Dense
    >>> model = Sequential([Dense(64, activation="relu", input_shape=(100,)), Dense(10, activation="softmax")])
"""

from meddl.layers import activations
from meddl.layers.augmentation import RandomBrightness, RandomContrast, RandomFlip, RandomRotation
from meddl.layers.base import Layer
from meddl.layers.batch_normalization import BatchNormalization
from meddl.layers.conv2d import Conv2D
from meddl.layers.core import Activation, Dropout, Flatten
from meddl.layers.dense import Dense
from meddl.layers.input_layer import Input, InputLayer
from meddl.layers.pooling import AveragePooling2D, AvgPool2D, GlobalAveragePooling2D, MaxPool2D, MaxPooling2D
from meddl.layers.residual import ResidualBlock
from meddl.layers.registry import deserialize, get_layer_class, serialize

__all__ = [
    "Activation",
    "AveragePooling2D",
    "AvgPool2D",
    "BatchNormalization",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "Input",
    "InputLayer",
    "Layer",
    "MaxPool2D",
    "MaxPooling2D",
    "RandomBrightness",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "ResidualBlock",
    "activations",
    "deserialize",
    "get_layer_class",
    "serialize",
]
