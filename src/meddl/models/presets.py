"""Model presets by name, sized to the data: ``default``, ``seed-mlp``, ``seed-cnn``, or a layer list.

``default`` is the strong choice for each input kind: a regularised MLP for
tables; for images a small residual CNN (three ResNet basic blocks, ~0.3 M
parameters) suited to 28–64 px images, with augmentation layers in front.
"""

from __future__ import annotations

from typing import Any

from meddl.errors import ConfigError, unknown_name_error
from meddl.layers import (Activation, BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D,
                          Input, MaxPooling2D, RandomContrast, RandomFlip, RandomRotation, ResidualBlock,
                          deserialize)
from meddl.models import Sequential

__all__ = ["build_model", "PRESETS", "default_epochs", "image_encoder"]

PRESETS = ("default", "seed-mlp", "seed-cnn", "resnet18", "custom")


def _head(n_outputs: int, output_activation: str) -> Dense:
    return Dense(n_outputs, activation=output_activation, name="output")


def _table_default(n_outputs, output_activation, options):
    units = options.get("units", (128, 64))
    dropout = options.get("dropout", 0.3)
    layers = []
    for width in units:
        layers += [Dense(int(width), activation="relu"), Dropout(dropout)]
    return layers + [_head(n_outputs, output_activation)]


def _seed_mlp(n_outputs, output_activation, options):
    return [Dense(64, activation="relu"), Dense(64, activation="relu"), _head(n_outputs, output_activation)]


def augmentation_layers(options: dict[str, Any]) -> list:
    return [RandomFlip(options.get("flip", "horizontal")), RandomRotation(options.get("rotation", 0.03)),
            RandomContrast(options.get("contrast", 0.1))]


def image_encoder(options: dict[str, Any] | None = None) -> list:
    """The ``default`` image preset without its head: residual CNN -> global average pooling (``4 * width`` features).

    ``meddl pretrain`` trains these layers; ``model.init_from`` loads them back by name.
    """
    width = int((options or {}).get("width", 32))
    return [Conv2D(width, 3, padding="same", use_bias=False, name="stem"), BatchNormalization(momentum=0.9),
            Activation("relu"), ResidualBlock(width), ResidualBlock(2 * width, strides=2),
            ResidualBlock(4 * width, strides=2), GlobalAveragePooling2D()]


def _image_default(n_outputs, output_activation, options):
    return [*image_encoder(options), Dropout(options.get("dropout", 0.3)), _head(n_outputs, output_activation)]


def _resnet18(n_outputs, output_activation, options):
    """ResNet-18 adapted to small images (as in MedMNIST v2's "ResNet-18 (28)"): a 3x3 stem without max-pooling,
    then 4 stages of 2 basic blocks (width w, 2w, 4w, 8w; stride 2 from the second stage). ``width`` defaults
    to 32 (half the original 64: ~2.8 M parameters, a quarter of the compute, for CPU training).

    Built from meddl's own layers (not MONAI's ``ResNet``, which imports here) so the run folder saves and
    loads it like any other model.
    """
    width = int(options.get("width", 32))
    layers = [Conv2D(width, 3, padding="same", use_bias=False, name="stem"), BatchNormalization(momentum=0.9),
              Activation("relu")]
    for stage, factor in enumerate((1, 2, 4, 8)):
        layers += [ResidualBlock(width * factor, strides=1 if stage == 0 else 2), ResidualBlock(width * factor)]
    return layers + [GlobalAveragePooling2D(), Dropout(options.get("dropout", 0.0)), _head(n_outputs, output_activation)]


def _seed_cnn(n_outputs, output_activation, options):
    return [Conv2D(32, (3, 3), activation="relu"), MaxPooling2D((2, 2)), Conv2D(64, (3, 3), activation="relu"),
            MaxPooling2D((2, 2)), Flatten(), _head(n_outputs, output_activation)]


def _custom(layers: list[dict[str, Any]] | None) -> list:
    if not layers:
        raise ConfigError("model.layers: a custom model needs a list of layers, e.g. "
                          "[{type: Dense, units: 64, activation: relu}, {type: Dense, units: 2, activation: softmax}].")
    built = []
    for index, spec in enumerate(layers):
        if not isinstance(spec, dict):
            raise ConfigError(f"model.layers[{index}] must be a mapping like {{type: Dense, units: 64}}; got {spec!r}.")
        spec = dict(spec)
        if "class_name" in spec:
            built.append(deserialize(spec))
            continue
        kind = spec.pop("type", None)
        if kind is None:
            raise ConfigError(f"model.layers[{index}] needs 'type', e.g. type: Dense.")
        try:
            built.append(deserialize({"class_name": kind, "config": spec}))
        except Exception as exc:  # noqa: BLE001 - re-raised with the key that caused it
            raise ConfigError(f"model.layers[{index}]: {exc}") from None
    return built


def default_epochs(kind: str) -> int:
    return 200 if kind == "table" else 40


def build_model(preset: str, *, kind: str, input_shape: tuple[int, ...], n_outputs: int, output_activation: str,
                augment: bool = False, options: dict[str, Any] | None = None,
                layers: list[dict[str, Any]] | None = None) -> Sequential:
    """Build the model a config asks for, for inputs of ``input_shape`` and ``n_outputs`` outputs."""
    options = dict(options or {})
    if preset not in PRESETS:
        raise unknown_name_error("model preset", preset, PRESETS, error_class=ConfigError)
    if preset == "custom":
        body = _custom(layers)
    elif preset == "resnet18":
        if kind != "image":
            raise ConfigError("model preset 'resnet18' is for images; the data is a table. Use 'default' or 'seed-mlp'.")
        body = _resnet18(n_outputs, output_activation, options)
    elif preset == "seed-cnn" or (preset == "default" and kind == "image"):
        if kind != "image":
            raise ConfigError(f"model preset '{preset}' is for images; the data is a table. Use 'default' or 'seed-mlp'.")
        body = (_seed_cnn if preset == "seed-cnn" else _image_default)(n_outputs, output_activation, options)
    else:
        if kind == "image" and preset == "seed-mlp":
            body = [Flatten(), *_seed_mlp(n_outputs, output_activation, options)]
        else:
            body = (_seed_mlp if preset == "seed-mlp" else _table_default)(n_outputs, output_activation, options)
    if augment and kind == "image":
        body = augmentation_layers(options.get("augmentation", {})) + body
    return Sequential([Input(shape=input_shape), *body], name=preset.replace("-", "_"))
