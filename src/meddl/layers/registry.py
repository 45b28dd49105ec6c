"""Layers as plain data: ``serialize(layer) -> {"class_name", "config"}`` and back.

Models register themselves here too (``register_layer_class``), so a model used
as a layer inside another model round-trips through the same two functions.
"""

from __future__ import annotations

from typing import Any

from meddl.errors import MeddlError, unknown_name_error
from meddl.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from meddl.layers.add import Add
from meddl.layers.attention import Attention
from meddl.layers.augmentation import (RandomBrightness, RandomContrast, RandomFlip, RandomRotation, RandomTranslation,
                                      RandomZoom)
from meddl.layers.average import Average
from meddl.layers.average_pooling1d import AveragePooling1D
from meddl.layers.average_pooling2d import AveragePooling2D
from meddl.layers.average_pooling3d import AveragePooling3D
from meddl.layers.base import Layer
from meddl.layers.batch_normalization import BatchNormalization
from meddl.layers.bidirectional import Bidirectional
from meddl.layers.concatenate import Concatenate
from meddl.layers.conv1d import Conv1D
from meddl.layers.conv2d import Conv2D
from meddl.layers.conv_transpose import Conv1DTranspose, Conv2DTranspose, Conv3DTranspose
from meddl.layers.conv3d import Conv3D
from meddl.layers.core import Activation, Dropout, Flatten
from meddl.layers.cropping2d import Cropping2D
from meddl.layers.dense import Dense
from meddl.layers.embedding import Embedding
from meddl.layers.global_average_pooling1d import GlobalAveragePooling1D
from meddl.layers.global_average_pooling2d import GlobalAveragePooling2D
from meddl.layers.global_average_pooling3d import GlobalAveragePooling3D
from meddl.layers.global_max_pooling1d import GlobalMaxPooling1D
from meddl.layers.global_max_pooling2d import GlobalMaxPooling2D
from meddl.layers.global_max_pooling3d import GlobalMaxPooling3D
from meddl.layers.gru import GRU
from meddl.layers.input_layer import InputLayer
from meddl.layers.layer_normalization import LayerNormalization
from meddl.layers.lstm import LSTM
from meddl.layers.max_pooling1d import MaxPooling1D
from meddl.layers.max_pooling2d import MaxPooling2D
from meddl.layers.max_pooling3d import MaxPooling3D
from meddl.layers.maximum import Maximum
from meddl.layers.minimum import Minimum
from meddl.layers.multiply import Multiply
from meddl.layers.noise import ActivityRegularization, GaussianDropout, GaussianNoise
from meddl.layers.normalization import Normalization
from meddl.layers.rearranging import Identity, Permute, RepeatVector  # Lambda holds code: never loaded
from meddl.layers.resizing import CenterCrop, Resizing
from meddl.layers.time_distributed import TimeDistributed
from meddl.layers.multi_head_attention import MultiHeadAttention
from meddl.layers.group_normalization import GroupNormalization, RMSNormalization, UnitNormalization
from meddl.layers.masking import Masking
from meddl.layers.dot import Dot
from meddl.layers.attention import AdditiveAttention
from meddl.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from meddl.layers.spatial_dropout import SpatialDropout1D, SpatialDropout3D
from meddl.layers.categorical import CategoryEncoding, Discretization
from meddl.layers.padding_cropping import Cropping1D, Cropping3D, ZeroPadding1D, ZeroPadding3D
from meddl.layers.symbolic import SymbolicTensor
from meddl.layers.rescaling import Rescaling
from meddl.layers.separable_conv import DepthwiseConv2D, SeparableConv2D
from meddl.layers.reshape import Reshape
from meddl.layers.residual import ResidualBlock
from meddl.layers.simple_rnn import SimpleRNN
from meddl.layers.spatial_dropout2d import SpatialDropout2D
from meddl.layers.subtract import Subtract
from meddl.layers.upsampling import UpSampling1D, UpSampling2D, UpSampling3D
from meddl.layers.zero_padding2d import ZeroPadding2D
from meddl.saving import custom_object, custom_object_scope, register_class

__all__ = ["serialize", "deserialize", "get_layer_class", "register_layer_class", "custom_object_scope",
           "LAYER_CLASSES"]

LAYER_CLASSES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (InputLayer, Dense, Conv1D, Conv2D, Conv3D, MaxPooling1D, MaxPooling2D, MaxPooling3D,
                AveragePooling1D, AveragePooling2D, AveragePooling3D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D,
                Flatten, Dropout, BatchNormalization, Activation, ResidualBlock, Reshape, Concatenate, Add, Subtract,
                Multiply, Average, Maximum, LSTM, GRU, SimpleRNN, Bidirectional, Embedding, LayerNormalization,
                Rescaling, ZeroPadding2D, SpatialDropout2D,
                RandomFlip, RandomRotation, RandomContrast, RandomBrightness, RandomZoom, RandomTranslation,
                Resizing, CenterCrop, TimeDistributed, MultiHeadAttention, GroupNormalization, UnitNormalization,
                RMSNormalization, Masking, CategoryEncoding, Discretization, Dot, SpatialDropout1D,
                SpatialDropout3D, ConvLSTM1D, ConvLSTM2D, ConvLSTM3D, AdditiveAttention,
                ZeroPadding1D, ZeroPadding3D, Cropping1D, Cropping3D,
                ReLU, LeakyReLU, ELU, Softmax, PReLU, Normalization, GaussianNoise, GaussianDropout, Minimum,
                Cropping2D, UpSampling1D, UpSampling2D, UpSampling3D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose,
                DepthwiseConv2D, SeparableConv2D, Permute, RepeatVector, Identity, Attention, ActivityRegularization)
}
SymbolicTensor.OPERATOR_LAYERS.update({"+": Add, "-": Subtract, "*": Multiply})
for _cls in LAYER_CLASSES.values():  # meddl.saving.deserialize_keras_object finds them by class name
    register_class("keras")(_cls)

_ALIASES = {"Input": "InputLayer", "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D",
            "MaxPool3D": "MaxPooling3D", "AvgPool1D": "AveragePooling1D", "AvgPool2D": "AveragePooling2D",
            "AvgPool3D": "AveragePooling3D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
            "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalAvgPool3D": "GlobalAveragePooling3D",
            "GlobalMaxPool1D": "GlobalMaxPooling1D", "GlobalMaxPool2D": "GlobalMaxPooling2D",
            "GlobalMaxPool3D": "GlobalMaxPooling3D", "Convolution2DTranspose": "Conv2DTranspose",
            "Convolution3DTranspose": "Conv3DTranspose",
            "SeparableConvolution2D": "SeparableConv2D"}
_NESTED = ("layer", "backward_layer")  # config keys holding a layer of their own (Bidirectional, TimeDistributed)


def register_layer_class(cls: type[Layer]) -> type[Layer]:
    """Make ``cls`` known to ``deserialize`` and ``load_model`` by its class name; usable as a class decorator
    (Keras's ``register_keras_serializable``). Models register themselves this way."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise MeddlError(f"register_layer_class's argument must be a subclass of meddl.layers.Layer. "
                         f"Got {cls!r} instead.")
    LAYER_CLASSES[cls.__name__] = cls
    register_class("keras")(cls)
    return cls


def get_layer_class(class_name: str) -> type[Layer]:
    """Return the layer class called ``class_name`` (Keras's names and aliases, registered and custom classes)."""
    custom = custom_object(str(class_name))
    if custom is not None:
        if not (isinstance(custom, type) and issubclass(custom, Layer)):
            raise MeddlError(f"custom_objects[{class_name!r}] must be a subclass of meddl.layers.Layer for the "
                             f"layer {class_name!r}. Got {custom!r} instead.")
        return custom
    name = _ALIASES.get(class_name, class_name)
    if name not in LAYER_CLASSES:
        error = unknown_name_error("layer", class_name, [*LAYER_CLASSES, *_ALIASES])
        raise MeddlError(f"{error} A layer of your own must be known by name: pass "
                         f"custom_objects={{{class_name!r}: {class_name}}} to load_model, or decorate its class "
                         "with @meddl.layers.register_layer_class.")
    return LAYER_CLASSES[name]


def serialize(layer: Layer) -> dict[str, Any]:
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(spec: dict[str, Any]) -> Layer:
    """Build a layer from ``{"class_name": ..., "config": {...}}``."""
    if not isinstance(spec, dict) or "class_name" not in spec:
        raise MeddlError(f"A layer specification must be a mapping with a 'class_name' key. Got {spec!r} instead.")
    cls = get_layer_class(spec["class_name"])
    config = dict(spec.get("config") or {})
    for key in _NESTED:
        if isinstance(config.get(key), dict) and "class_name" in config[key]:
            config[key] = deserialize(config[key])
    try:
        return cls.from_config(config)
    except TypeError as exc:
        raise MeddlError(f"Invalid configuration for layer {spec['class_name']}: {exc}.") from None
