"""Grad-CAM for meddl's convolutional models (Selvaraju et al. 2017), via Captum's ``LayerGradCam``.

The class score's gradients are averaged over a convolution layer's feature
map to weight its channels; the weighted sum, clipped at zero, is a coarse map
of the evidence for that class, upsampled (bilinear) to the image size. The
layer is the model's last ``Conv2D`` or ``ResidualBlock`` unless one is named.

meddl keeps images channels-last ``(N, H, W, C)``; Captum's Grad-CAM expects
channels-first feature maps, so the model is run through a thin wrapper that
hands Captum the chosen layer's output as ``(N, C, H, W)`` -- the computation
is the model's own, layer by layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from meddl.errors import ConfigError, DataError, did_you_mean
from meddl.explain.checks import (OutputFunction, as_input_tensor, auto_batch_size, captum_attr, check_batch_size,
                                   check_target, eval_mode)
from meddl.layers.base import Layer
from meddl.layers.conv2d import Conv2D
from meddl.layers.residual import ResidualBlock
from meddl.layers.spatial import to_channels_first, to_channels_last
from meddl.models.inputs import check_input_shape

__all__ = ["grad_cam", "grad_cam_plus_plus", "conv_layers", "find_target_layer", "resolution_layer", "layer_map_size", "CONV_LAYER_TYPES"]

#: resolution_layer keeps layers whose map side is at least this fraction of the image side (7 x 7 for 28 x 28).
MIN_MAP_FRACTION = 0.25

CONV_LAYER_TYPES = (Conv2D, ResidualBlock)
_INSTEAD = "Use 'integrated_gradients' or 'occlusion' instead (meddl.explain.attribute), which need no convolution layer."


def _layers(model: Any, owner: str) -> list[Layer]:
    layers = getattr(model, "layers", None)
    if not isinstance(model, nn.Module) or layers is None or not all(isinstance(layer, Layer) for layer in layers):
        raise ConfigError(f"{owner} needs a meddl Sequential model (a stack of meddl layers); got "
                          f"{type(model).__name__}. {_INSTEAD}")
    return list(layers)


def conv_layers(model: Any) -> list[str]:
    """Names of the model's convolution layers (``Conv2D`` and ``ResidualBlock``), in order.

    Example:
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> model = Sequential([Conv2D(4, 3, input_shape=(8, 8, 1)), Conv2D(4, 3), GlobalAveragePooling2D(), Dense(2)])
        >>> conv_layers(model)
        ['conv2d', 'conv2d_1']
    """
    return [layer.name for layer in _layers(model, "conv_layers") if isinstance(layer, CONV_LAYER_TYPES)]


def find_target_layer(model: Any, layer: str | None = None) -> str:
    """The Grad-CAM layer: ``layer`` if given (checked), else the last convolution layer.

    Raises:
        ConfigError: the model has no convolution layer, ``layer`` is not one of
            its layers, or its output is not an image-shaped feature map.

    Example:
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> model = Sequential([Conv2D(4, 3, input_shape=(8, 8, 1)), Conv2D(4, 3), GlobalAveragePooling2D(), Dense(2)])
        >>> find_target_layer(model), find_target_layer(model, "conv2d")
        ('conv2d_1', 'conv2d')
    """
    layers = _layers(model, "grad_cam")
    convs = [item.name for item in layers if isinstance(item, CONV_LAYER_TYPES)]
    listed = ", ".join(repr(name) for name in convs)
    if layer is None:
        if not convs:
            names = ", ".join(repr(item.name) for item in layers)
            raise ConfigError(f"Grad-CAM needs a convolution layer (Conv2D or ResidualBlock), but the model "
                              f"'{getattr(model, 'name', type(model).__name__)}' has none (layers: {names}). {_INSTEAD}")
        return convs[-1]
    by_name = {item.name: item for item in layers}
    if layer not in by_name:
        hint = did_you_mean(layer, convs or list(by_name))
        raise ConfigError(f"The 'layer' parameter of grad_cam names a layer the model does not have: {layer!r}."
                          f"{hint} Convolution layers: {listed or 'none'}." + ("" if convs else f" {_INSTEAD}"))
    shape = by_name[layer].output_shape_
    if shape is None or len(shape) != 3:
        raise ConfigError(f"The 'layer' parameter of grad_cam must be a layer with an image-shaped output "
                          f"(height, width, channels); {layer!r} outputs {shape}. Convolution layers: "
                          f"{listed or 'none'}." + ("" if convs else f" {_INSTEAD}"))
    return layer


def resolution_layer(model: Any, *, min_fraction: float = MIN_MAP_FRACTION) -> tuple[str, tuple[int, int]]:
    """The deepest convolution layer whose map keeps at least ``min_fraction`` of the image side, and its map size.

    Deeper layers are more class-specific but coarser: the default image model's
    last block maps a 224 x 224 image to 56 x 56, a 28 x 28 one to 7 x 7. A map
    coarser than a quarter of the image cannot point at a lesion, so an earlier
    layer is used then (the last convolution layer if none qualifies).

    Example:
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> model = Sequential([Conv2D(4, 3, padding="same", input_shape=(16, 16, 1)), Conv2D(4, 3, strides=8),
        ...                     GlobalAveragePooling2D(), Dense(2)])
        >>> resolution_layer(model)
        ('conv2d', (16, 16))
    """
    layers = _layers(model, "resolution_layer")
    last = find_target_layer(model)
    image_side = min(model.input_shape_[:2]) if getattr(model, "input_shape_", None) else None
    chosen = last
    for layer in layers:
        shape = layer.output_shape_
        if (isinstance(layer, CONV_LAYER_TYPES) and shape is not None and len(shape) == 3
                and (image_side is None or min(shape[:2]) >= min_fraction * image_side)):
            chosen = layer.name
    return chosen, layer_map_size(model, chosen)


def layer_map_size(model: Any, layer: str) -> tuple[int, int]:
    """The height and width of a layer's feature map.

    Example:
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> model = Sequential([Conv2D(4, 3, strides=2, input_shape=(16, 16, 1)), GlobalAveragePooling2D(), Dense(2)])
        >>> layer_map_size(model, "conv2d")
        (7, 7)
    """
    shape = {item.name: item.output_shape_ for item in _layers(model, "layer_map_size")}[find_target_layer(model, layer)]
    return int(shape[0]), int(shape[1])


class _ExposedLayer(nn.Module):
    """Runs a Sequential's layers to its logits, passing one layer's output through ``self.exposed`` channels-first."""

    def __init__(self, model: nn.Module, index: int):
        super().__init__()
        self.model, self.index = model, index
        self.exposed = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = self.model.layers
        for i, layer in enumerate(layers[:-1]):
            x = layer(x)
            if i == self.index:
                x = to_channels_last(self.exposed(to_channels_first(x)))
        return layers[-1].call(x)  # the last layer without its activation: class scores (logits)


def _cam_setup(model, images, layer, batch_size, owner: str):
    """What Grad-CAM and Grad-CAM++ share: checked inputs, the model with its CAM layer exposed, the output."""
    name = find_target_layer(model, layer)
    batch_size = check_batch_size(batch_size, owner)
    inputs = as_input_tensor(images, "images")
    if inputs.ndim != 4:
        raise DataError(f"The 'images' parameter of {owner} must be preprocessed images of shape (n, H, W, C); "
                        f"got shape {tuple(inputs.shape)}. Grayscale images need a channel axis: images[..., None].")
    if getattr(model, "input_shape_", None) is not None:
        check_input_shape(inputs.numpy(), tuple(model.input_shape_), "images")
    wrapped = _ExposedLayer(model, [item.name for item in model.layers].index(name))
    return batch_size, inputs, wrapped, OutputFunction(wrapped, owner)


def grad_cam(model: Any, images: Any, *, target: Any = None, layer: str | None = None,
             batch_size: int | None = None) -> np.ndarray:
    """Grad-CAM heatmaps ``(n, H, W)`` (non-negative), upsampled to the image size.

    Args:
        model: a meddl ``Sequential`` with at least one ``Conv2D``/``ResidualBlock``.
        images: preprocessed images ``(n, H, W, C)`` as the model takes them.
        target: the class to explain: ``None`` for the predicted class (the
            only output of a one-output model), an int, or one int per image.
        layer: name of the layer to use (default: the last convolution layer).
        batch_size: images per forward pass (default: sized to the image).

    Returns:
        A float64 array ``(n, H, W)``; larger values mark regions that raise
        the class score (before softmax). A map that is all zero means no
        positive evidence was found at that layer.

    Raises:
        ConfigError: no convolution layer, an unknown or non-spatial ``layer``,
            a model that is not a meddl ``Sequential``, or a bad ``target``.
        DataError: images of the wrong shape or with NaN values.

    Example:
        >>> import numpy as np
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> model = Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        ...                     GlobalAveragePooling2D(), Dense(2, activation="softmax")])
        >>> grad_cam(model, np.ones((2, 8, 8, 1)), target=1).shape
        (2, 8, 8)
    """
    owner = "grad_cam"
    batch_size, inputs, wrapped, output = _cam_setup(model, images, layer, batch_size, owner)
    height, width = inputs.shape[1:3]
    rows = auto_batch_size(tuple(inputs.shape[1:]), batch_size)
    with eval_mode(model):
        n_outputs = output.probe(inputs)
        if target is None:
            targets = _predicted(output, inputs, rows) if n_outputs > 1 else torch.zeros(len(inputs), dtype=torch.long)
        else:
            targets = check_target(target, inputs.shape[0], n_outputs, owner)
        explainer = captum_attr().LayerGradCam(output, wrapped.exposed)
        maps = []
        with torch.enable_grad():
            for start in range(0, inputs.shape[0], rows):
                part = slice(start, start + rows)
                cam = explainer.attribute(inputs[part], target=targets[part], relu_attributions=True)
                maps.append(F.interpolate(cam.detach(), size=(height, width), mode="bilinear", align_corners=False))
    return torch.cat(maps)[:, 0].clamp_min(0).double().numpy()


def _predicted(output: OutputFunction, inputs: torch.Tensor, rows: int) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([output(inputs[s:s + rows]).argmax(dim=1) for s in range(0, inputs.shape[0], rows)])


def grad_cam_plus_plus(model: Any, images: Any, *, target: Any = None, layer: str | None = None,
                       batch_size: int | None = None) -> np.ndarray:
    """Grad-CAM++ heatmaps ``(n, H, W)`` (Chattopadhay et al. 2018), upsampled to the image size.

    Like Grad-CAM, but each channel's weight counts only the positive gradients,
    weighted per position by second- and third-order terms of the exponentiated
    class score, so several separate regions of evidence (two lesions) are all
    shown rather than the strongest one. Captum has no Grad-CAM++; the
    activations and gradients are read at the same layer Grad-CAM uses.
    Arguments and errors as for :func:`grad_cam`.

    Example:
        >>> import numpy as np
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> model = Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        ...                     GlobalAveragePooling2D(), Dense(2, activation="softmax")])
        >>> grad_cam_plus_plus(model, np.ones((2, 8, 8, 1)), target=1).shape
        (2, 8, 8)
    """
    owner = "grad_cam_plus_plus"
    batch_size, inputs, wrapped, output = _cam_setup(model, images, layer, batch_size, owner)
    captured: list[torch.Tensor] = []
    hook = wrapped.exposed.register_forward_hook(lambda module, args, out: captured.append(out))
    rows = auto_batch_size(tuple(inputs.shape[1:]), batch_size)
    maps = []
    try:
        with eval_mode(model):
            n_outputs = output.probe(inputs)
            if target is None:
                targets = (_predicted(output, inputs, rows) if n_outputs > 1
                           else torch.zeros(len(inputs), dtype=torch.long))
            else:
                targets = check_target(target, inputs.shape[0], n_outputs, owner)
            with torch.enable_grad():
                for start in range(0, inputs.shape[0], rows):
                    part = slice(start, start + rows)
                    captured.clear()
                    scores = output(inputs[part]).gather(1, targets[part, None])[:, 0]
                    activation = captured[-1]
                    gradient = torch.autograd.grad(scores.sum(), activation)[0]
                    maps.append(_plus_plus_map(activation.detach(), gradient, inputs.shape[1:3]))
    finally:
        hook.remove()
    return torch.cat(maps).double().numpy()


def _plus_plus_map(activation: torch.Tensor, gradient: torch.Tensor, size) -> torch.Tensor:
    """Chattopadhay et al.'s closed form with S = exp(score).

    With S = exp(score) the k-th derivative of S is exp(score) times the k-th power
    of the score's gradient; exp(score) cancels in alpha and only scales each
    image's map by a positive constant, so it is left out (and cannot overflow).
    """
    second, third = gradient ** 2, gradient ** 3
    spatial_sum = activation.sum(dim=(2, 3), keepdim=True)
    denominator = 2 * second + spatial_sum * third
    alpha = torch.where(denominator != 0, second / torch.where(denominator != 0, denominator, 1.0), 0.0)
    weights = (alpha * torch.relu(gradient)).sum(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * activation).sum(dim=1, keepdim=True))
    return F.interpolate(cam, size=tuple(size), mode="bilinear", align_corners=False)[:, 0].clamp_min(0)
