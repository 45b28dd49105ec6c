"""Keras's ``image_dataset_from_directory``: a folder of PNG/JPEG images as a DataLoader that reads them batch by batch.

A Keras user's first image program reads ``xrays/normal/*.png`` and
``xrays/pneumonia/*.png`` with this call and gives the result to ``fit``. Here it
returns a torch ``DataLoader`` of ``(images, labels)`` batches (float32 images
``(batch, height, width, channels)`` with their original 0–255 values, as Keras
gives them), which meddl's ``fit`` / ``evaluate`` / ``predict`` take; the images
are read when a batch is drawn, so a folder larger than memory trains too. The
loader's ``class_names`` and ``file_paths`` say what it holds. Images are read
and resized by :func:`meddl.data.read_png_jpeg_files`, the rule meddl's runs and
serving use (PIL bicubic), not Keras's bilinear resize.

Example:
    >>> train, val = image_dataset_from_directory("xrays/", image_size=(64, 64), color_mode="grayscale",
    ...                                           validation_split=0.2, subset="both", seed=0)  # doctest: +SKIP
    >>> train.class_names                                                                   # doctest: +SKIP
    ['normal', 'pneumonia']
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from meddl.data.image_folder import class_folder_files, image_files_under, read_png_jpeg_files
from meddl.data.images import target_size
from meddl.errors import ConfigError, DataError

__all__ = ["image_dataset_from_directory", "LABEL_MODES", "COLOR_MODES"]

LABEL_MODES = ("int", "categorical", "binary", None)
COLOR_MODES = ("grayscale", "rgb")
SUBSETS = ("training", "validation", "both")


class _FolderImages(Dataset):
    """One image (and its label) per item, read from its file when asked for."""

    def __init__(self, paths: list[str], labels: np.ndarray | None, image_size, color: str, label_mode, n_classes):
        self.paths, self.labels, self.image_size, self.color = paths, labels, image_size, color
        self.label_mode, self.n_classes = label_mode, n_classes

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        image = torch.as_tensor(read_png_jpeg_files([self.paths[index]], self.image_size, self.color).images[0]
                                .astype(np.float32))
        if self.labels is None:
            return image
        label = int(self.labels[index])
        if self.label_mode == "categorical":
            return image, torch.nn.functional.one_hot(torch.tensor(label), self.n_classes).float()
        if self.label_mode == "binary":
            return image, torch.tensor([float(label)])
        return image, torch.tensor(label)


def _check_arguments(label_mode, color_mode, batch_size, validation_split, subset, shuffle, seed) -> None:
    if label_mode not in LABEL_MODES:
        raise ConfigError(f"The 'label_mode' parameter must be one of {list(LABEL_MODES)}. Got {label_mode!r} instead.")
    if color_mode not in COLOR_MODES:
        raise ConfigError(f"The 'color_mode' parameter must be 'grayscale' or 'rgb' (meddl reads no alpha channel). "
                          f"Got {color_mode!r} instead.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigError(f"The 'batch_size' parameter must be a positive integer. Got {batch_size!r} instead.")
    if validation_split is None:
        if subset is not None:
            raise ConfigError(f"subset={subset!r} needs a validation_split, e.g. validation_split=0.2.")
        return
    if isinstance(validation_split, bool) or not isinstance(validation_split, (int, float)) \
            or not 0 < validation_split < 1:
        raise ConfigError(f"The 'validation_split' parameter must be a float in (0, 1). Got {validation_split!r} "
                          "instead.")
    if subset not in SUBSETS:
        raise ConfigError(f"With a validation_split, 'subset' must be one of {list(SUBSETS)}. Got {subset!r} instead.")
    if shuffle and seed is None:
        raise ConfigError("With a validation_split and shuffle=True, give a seed (e.g. seed=0), so the training "
                          "and validation subsets never share an image.")


def _files_and_labels(directory: Path, labels: Any, label_mode, class_names):
    """``(paths, labels or None, class names)`` as Keras finds them."""
    if labels == "inferred":
        paths, found, class_dirs = class_folder_files(directory)
        names = [d.name for d in class_dirs]
        if class_names is not None:
            if sorted(class_names) != sorted(names):
                raise DataError(f"class_names {list(class_names)} must name the subfolders of '{directory}': {names}.")
            order = {name: index for index, name in enumerate(class_names)}
            found = [order[names[label]] for label in found]
            names = list(class_names)
        return paths, np.asarray(found, dtype=np.int64), names
    paths = [str(p) for p in image_files_under(directory)]
    if not paths:
        raise DataError(f"'{directory}' holds no PNG/JPEG images.")
    if labels is None or label_mode is None:
        return paths, None, None
    values = np.asarray(labels)
    if values.ndim != 1 or len(values) != len(paths) or values.dtype.kind not in "iu":
        raise DataError(f"'labels' must be 'inferred', None, or one integer per image file ({len(paths)} under "
                        f"'{directory}', in sorted path order); got {values.shape[0] if values.ndim else 'a scalar'} "
                        f"values of type {values.dtype}.")
    n_classes = int(values.max()) + 1
    return paths, values.astype(np.int64), class_names or [str(c) for c in range(n_classes)]


def image_dataset_from_directory(directory: str | os.PathLike, labels: Any = "inferred", label_mode: str | None = "int",
                                 class_names: list[str] | None = None, color_mode: str = "rgb", batch_size: int = 32,
                                 image_size=(256, 256), shuffle: bool = True, seed: int | None = None,
                                 validation_split: float | None = None, subset: str | None = None,
                                 **ignored) -> DataLoader | tuple[DataLoader, DataLoader]:
    """Keras's ``image_dataset_from_directory``: a DataLoader of ``(images, labels)`` batches (see the module).

    Args:
        directory: one subfolder per class (``labels="inferred"``), or images anywhere under it.
        labels: ``"inferred"`` (subfolder names, sorted), one integer per file (files in sorted path
            order), or ``None`` (images only).
        label_mode: ``"int"``, ``"categorical"`` (one-hot), ``"binary"`` (two classes, float ``(batch, 1)``)
            or ``None`` (images only).
        class_names: the order of the classes (must name the subfolders).
        color_mode: ``"grayscale"`` (1 channel) or ``"rgb"`` (3).
        image_size: every image is resized to this ``(height, width)``.
        shuffle, seed: shuffle the files (afresh every epoch), reproducibly with ``seed``.
        validation_split, subset: hold out the last fraction of the (shuffled) files; ``subset`` is
            ``"training"``, ``"validation"`` or ``"both"`` (a pair of loaders).
    """
    _check_arguments(label_mode, color_mode, batch_size, validation_split, subset, shuffle, seed)
    size = target_size(image_size, 2)
    if size is None:
        raise ConfigError("The 'image_size' parameter must be an int or (height, width): a batch needs one size.")
    paths, values, names = _files_and_labels(Path(directory), labels, label_mode, class_names)
    if label_mode == "binary" and names is not None and len(names) != 2:
        raise DataError(f"label_mode='binary' needs exactly 2 classes; '{directory}' has {len(names)}: {names}. "
                        "Use label_mode='int' or 'categorical'.")
    order = np.arange(len(paths))
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(paths))
    n_validation = int(validation_split * len(paths)) if validation_split else 0
    if validation_split and (n_validation == 0 or n_validation == len(paths)):
        raise DataError(f"validation_split={validation_split} of {len(paths)} images leaves no image for "
                        "training or validation.")
    parts = {"training": order[:len(order) - n_validation], "validation": order[len(order) - n_validation:]}

    def loader(rows: np.ndarray, shuffled: bool) -> DataLoader:
        labelled = values is not None and label_mode is not None
        dataset = _FolderImages([paths[i] for i in rows], values[rows] if labelled else None, size, color_mode,
                                label_mode, len(names) if names else 0)
        generator = torch.Generator().manual_seed(seed) if shuffled and seed is not None else None
        made = DataLoader(dataset, batch_size=batch_size, shuffle=shuffled, generator=generator)
        made.class_names, made.file_paths = names, dataset.paths
        return made

    if subset == "both":
        return loader(parts["training"], shuffle), loader(parts["validation"], False)
    if subset is not None:
        return loader(parts[subset], shuffle and subset == "training")
    return loader(order, shuffle)
