"""Keras-style layers on PyTorch. Images are channels-last ``(N, H, W, C)``, signals ``(N, steps, C)``,
volumes ``(N, D, H, W, C)``.

Example:
    >>> from meddl import Sequential
    >>> from meddl.layers import Dense
    >>> model = Sequential([Dense(64, activation="relu", input_shape=(100,)), Dense(10, activation="softmax")])
"""

from meddl.layers import activations
from meddl.layers.activation_layers import ELU, LeakyReLU, PReLU, ReLU, Softmax
from meddl.layers.add import Add
from meddl.layers.attention import AdditiveAttention, Attention
from meddl.layers.augmentation import (RandomBrightness, RandomContrast, RandomFlip, RandomRotation, RandomTranslation,
                                      RandomZoom)
from meddl.layers.average import Average
from meddl.layers.average_pooling1d import AveragePooling1D, AvgPool1D
from meddl.layers.average_pooling2d import AveragePooling2D, AvgPool2D
from meddl.layers.average_pooling3d import AveragePooling3D, AvgPool3D
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
from meddl.layers.global_average_pooling1d import GlobalAveragePooling1D, GlobalAvgPool1D
from meddl.layers.global_average_pooling2d import GlobalAveragePooling2D, GlobalAvgPool2D
from meddl.layers.global_average_pooling3d import GlobalAveragePooling3D, GlobalAvgPool3D
from meddl.layers.global_max_pooling1d import GlobalMaxPool1D, GlobalMaxPooling1D
from meddl.layers.global_max_pooling2d import GlobalMaxPool2D, GlobalMaxPooling2D
from meddl.layers.global_max_pooling3d import GlobalMaxPool3D, GlobalMaxPooling3D
from meddl.layers.gru import GRU
from meddl.layers.input_layer import Input, InputLayer
from meddl.layers.layer_normalization import LayerNormalization
from meddl.layers.lstm import LSTM
from meddl.layers.max_pooling1d import MaxPool1D, MaxPooling1D
from meddl.layers.max_pooling2d import MaxPool2D, MaxPooling2D
from meddl.layers.max_pooling3d import MaxPool3D, MaxPooling3D
from meddl.layers.maximum import Maximum
from meddl.layers.minimum import Minimum
from meddl.layers.multiply import Multiply
from meddl.layers.noise import ActivityRegularization, GaussianDropout, GaussianNoise
from meddl.layers.normalization import Normalization
from meddl.layers.registry import (custom_object_scope, deserialize, get_layer_class, register_layer_class,
                                   serialize)
from meddl.layers.rearranging import Identity, Lambda, Permute, RepeatVector
from meddl.layers.rescaling import Rescaling
from meddl.layers.resizing import CenterCrop, Resizing
from meddl.layers.time_distributed import TimeDistributed
from meddl.layers.multi_head_attention import MultiHeadAttention
from meddl.layers.group_normalization import GroupNormalization, RMSNormalization, UnitNormalization
from meddl.layers.masking import Masking
from meddl.layers.dot import Dot
from meddl.layers.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from meddl.layers.spatial_dropout import SpatialDropout1D, SpatialDropout3D
from meddl.layers.categorical import CategoryEncoding, Discretization
from meddl.layers.padding_cropping import Cropping1D, Cropping3D, ZeroPadding1D, ZeroPadding3D
from meddl.layers.separable_conv import DepthwiseConv2D, SeparableConv2D
from meddl.layers.reshape import Reshape
from meddl.layers.residual import ResidualBlock
from meddl.layers.simple_rnn import SimpleRNN
from meddl.layers.spatial_dropout2d import SpatialDropout2D
from meddl.layers.subtract import Subtract
from meddl.layers.upsampling import UpSampling1D, UpSampling2D, UpSampling3D
from meddl.layers.symbolic import SymbolicTensor
from meddl.layers.zero_padding2d import ZeroPadding2D
# after the merge layers' modules: these functions take the names (meddl.layers.add) those modules had
from meddl.layers.merge_functions import add, average, concatenate, dot, maximum, minimum, multiply, subtract
from meddl.errors import missing_name

__all__ = [
    "Activation",
    "Add",
    "AdditiveAttention",
    "Attention",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AveragePooling3D",
    "AvgPool1D",
    "AvgPool2D",
    "AvgPool3D",
    "BatchNormalization",
    "Bidirectional",
    "CategoryEncoding",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "Cropping1D",
    "Cropping2D",
    "Cropping3D",
    "Dense",
    "Discretization",
    "Dot",
    "DepthwiseConv2D",
    "Dropout",
    "ELU",
    "Embedding",
    "Flatten",
    "GRU",
    "GaussianDropout",
    "GaussianNoise",
    "ActivityRegularization",
    "GroupNormalization",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalAvgPool3D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPool3D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "Input",
    "Identity",
    "InputLayer",
    "LSTM",
    "Lambda",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "Masking",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPool3D",
    "MaxPooling1D",
    "MaxPooling2D",
    "MaxPooling3D",
    "Maximum",
    "Minimum",
    "MultiHeadAttention",
    "Multiply",
    "Permute",
    "Normalization",
    "PReLU",
    "RMSNormalization",
    "RandomBrightness",
    "RandomContrast",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "RepeatVector",
    "Rescaling",
    "Resizing",
    "CenterCrop",
    "Reshape",
    "ResidualBlock",
    "SeparableConv2D",
    "SimpleRNN",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "Subtract",
    "SymbolicTensor",
    "TimeDistributed",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "UnitNormalization",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
    "activations",
    "add",
    "average",
    "concatenate",
    "custom_object_scope",
    "deserialize",
    "dot",
    "get_layer_class",
    "maximum",
    "minimum",
    "multiply",
    "register_layer_class",
    "serialize",
    "subtract",
]

#: Keras names meddl does not have, and what to use instead
_LOOKUP = ("map codes or words to integers before the model (pandas' factorize, scikit-learn's OrdinalEncoder), "
           "then Embedding or CategoryEncoding")
_NOT_IN_MEDDL = {
    "StringLookup": _LOOKUP, "IntegerLookup": _LOOKUP, "Hashing": _LOOKUP, "TextVectorization": _LOOKUP,
    "HashedCrossing": _LOOKUP,
    "EinsumDense": "use Dense (MultiHeadAttention holds its own projections)",
    "AlphaDropout": "use Dropout or GaussianDropout",
    "RandomCrop": "use RandomTranslation or RandomZoom (which keep the size), or CenterCrop",
}


def __getattr__(name: str):
    raise missing_name("meddl.layers", name, __all__, _NOT_IN_MEDDL)
