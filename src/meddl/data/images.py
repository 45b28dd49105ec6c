"""The common return type of image dataset readers, and the helpers they share.

Readers (one small module each): :mod:`meddl.data.medmnist`,
:mod:`meddl.data.image_folder`, :mod:`meddl.data.dicom`, :mod:`meddl.data.nifti`.
Images are channel-last: ``(N, H, W, C)`` for 2-D, ``(N, D, H, W, C)`` for 3-D.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from meddl.errors import import_optional
from meddl.data.checks import check_labels
from meddl.data.tables import read_table
from meddl.errors import ConfigError, DataError, did_you_mean

__all__ = ["ImageDataset", "ImageFiles"]


@dataclass
class ImageDataset:
    """Images with integer labels, as returned by the image dataset readers.

    Attributes:
        images: ``(N, H, W, C)`` or ``(N, D, H, W, C)`` array (uint8 for 8-bit
            PNG/JPEG, float32 otherwise).
        labels: ``(N,)`` int64 class indices into ``class_names``.
        class_names: Name of each class, in label order.
        paths: Source file of each image.
        skipped: Files that could not be read and were skipped (``skip_unreadable=True``).
        resized_from: Original spatial size -> number of images resized from it
            (empty when nothing was resized), so the caller can log it.
        notes: Human-readable notes for the run log (skips with reasons, resizing, ...).
    """

    images: np.ndarray
    labels: np.ndarray
    class_names: list[str]
    paths: list[str]
    skipped: list[str] = field(default_factory=list)
    resized_from: dict[tuple[int, ...], int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def resized(self) -> bool:
        """Whether any image was resized to reach the common size."""
        return bool(self.resized_from)

    def __len__(self) -> int:
        return len(self.labels)


def target_size(image_size, spatial_ndim: int) -> tuple[int, ...] | None:
    """Validate ``image_size`` (int or tuple) and expand an int to ``spatial_ndim`` axes."""
    if image_size is None:
        return None
    size = (image_size,) * spatial_ndim if isinstance(image_size, (int, np.integer)) else tuple(image_size)
    if len(size) != spatial_ndim or not all(isinstance(s, (int, np.integer)) and s > 0 for s in size):
        raise ConfigError(
            f"The 'image_size' parameter must be a positive int or a tuple of {spatial_ndim} positive ints "
            f"for {spatial_ndim}-D images. Got {image_size!r} instead."
        )
    return tuple(int(s) for s in size)


def size_mismatch_error(shapes: Sequence[tuple[int, ...]], paths: Sequence[str]) -> DataError:
    """Error for images of different sizes when no ``image_size`` was given."""
    counts = Counter(shapes)
    example = {shape: path for shape, path in zip(shapes, paths)}
    listed = "; ".join(f"{shape}: {count} (e.g. '{example[shape]}')" for shape, count in counts.most_common(4))
    return DataError(
        f"Images have different sizes ({listed}). Pass image_size=... (data.image_size in a config) to resize them all to one size."
    )


def resize_array(array: np.ndarray, size: tuple[int, ...]) -> np.ndarray:
    """Resize a channel-last float array (2-D or 3-D spatial) with MONAI's ``Resize``.

    MONAI is used here because it resizes 2-D and 3-D medical arrays alike; PIL
    only handles 2-D images. Shrinking uses area averaging (anti-aliased, and
    exact at the borders, unlike MONAI's Gaussian ``anti_aliasing``, which pads
    with zeros and darkens the edges); enlarging uses (tri)linear interpolation.
    """
    transforms = import_optional("monai.transforms", "Resizing DICOM/NIfTI images")
    if all(new <= old for new, old in zip(size, array.shape[:-1])):
        resize = transforms.Resize(spatial_size=size, mode="area")
    else:
        mode = "bilinear" if len(size) == 2 else "trilinear"
        resize = transforms.Resize(spatial_size=size, mode=mode, align_corners=False)
    channel_first = np.moveaxis(array.astype(np.float32, copy=False), -1, 0)
    out = resize(channel_first)
    out = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
    return np.moveaxis(out, 0, -1).astype(np.float32)


def window_values(values: np.ndarray, center: float, width: float) -> np.ndarray:
    """Map ``[center - width/2, center + width/2]`` linearly to ``[0, 1]``, clipping (a CT display window)."""
    transforms = import_optional("monai.transforms", "Windowing images")
    scale = transforms.ScaleIntensityRange(a_min=center - width / 2, a_max=center + width / 2, b_min=0.0, b_max=1.0,
                                           clip=True)
    return np.asarray(scale(values), dtype=np.float32)


def stack_arrays(arrays: list[np.ndarray], paths: list[str], image_size) -> tuple[np.ndarray, dict]:
    """Stack channel-last float arrays into one batch, resizing to ``image_size`` if given.

    Returns:
        ``(batch, resized_from)``.
    """
    ndims = {a.ndim for a in arrays}
    channels = {a.shape[-1] for a in arrays}
    if len(ndims) > 1 or len(channels) > 1:
        first = {(a.ndim - 1, a.shape[-1]): p for a, p in zip(arrays, paths)}
        listed = "; ".join(f"{d}-D with {c} channel(s), e.g. '{p}'" for (d, c), p in first.items())
        raise DataError(f"Images do not all have the same dimensions and channels: {listed}.")
    spatial = [a.shape[:-1] for a in arrays]
    size = target_size(image_size, ndims.pop() - 1)
    if size is None:
        if len(set(spatial)) > 1:
            raise size_mismatch_error(spatial, paths)
        return np.stack(arrays).astype(np.float32, copy=False), {}
    resized_from = Counter(s for s in spatial if s != size)
    batch = np.stack([a if a.shape[:-1] == size else resize_array(a, size) for a in arrays])
    return batch.astype(np.float32, copy=False), dict(resized_from)


def encode_labels(values: Sequence) -> tuple[np.ndarray, list[str]]:
    """Map label values to 0..K-1 (sorted order) and return ``(labels, class_names)``."""
    series = pd.Series(list(values))
    if pd.api.types.is_float_dtype(series) and (series == series.round()).all():
        series = series.astype(np.int64)  # 0.0/1.0 read from a CSV are classes 0/1
    try:
        classes = sorted(pd.unique(series))
    except TypeError:  # mixed types, e.g. 1 and "a"
        classes = sorted(pd.unique(series), key=str)
    lookup = {value: index for index, value in enumerate(classes)}
    return series.map(lookup).to_numpy(dtype=np.int64), [str(c) for c in classes]


def read_label_table(labels_csv, file_column: str, label_column: str) -> pd.DataFrame:
    """Read a file -> label mapping (CSV/TSV/Parquet path or DataFrame) and check its columns."""
    table = labels_csv if isinstance(labels_csv, pd.DataFrame) else read_table(labels_csv)
    where = "the labels table" if isinstance(labels_csv, pd.DataFrame) else f"'{labels_csv}'"
    for kind, column in (("file_column", file_column), ("label_column", label_column)):
        if column not in table.columns:
            raise DataError(
                f"{kind}={column!r} is not a column of {where}.{did_you_mean(column, map(str, table.columns))} "
                f"Columns: {list(table.columns)}."
            )
    check_labels(table[label_column], name=label_column)
    files = table[file_column]
    if files.isna().any():
        raise DataError(f"Column {file_column!r} of {where} has {int(files.isna().sum())} empty file names.")
    duplicated = files[files.duplicated()].astype(str).unique()
    if len(duplicated):
        raise DataError(f"Column {file_column!r} of {where} lists files more than once, e.g. {duplicated[0]!r}.")
    return table


def labelled_files(folder_or_files, table: pd.DataFrame, file_column: str, label_column: str):
    """Resolve the files to read and their labels.

    A folder: every row of the table names a file relative to it (or absolute).
    A list of files: each is looked up in the table by its path as given, its
    absolute path, or its file name.

    Returns:
        ``(paths, label_values)``.
    """
    entries = table[file_column].astype(str).tolist()
    values = table[label_column].tolist()
    if isinstance(folder_or_files, (str, os.PathLike)):
        folder = Path(folder_or_files)
        if not folder.is_dir():
            raise DataError(f"Image folder not found: '{folder}'.")
        return [str(folder / entry) for entry in entries], values
    lookup: dict[str, object] = {}
    for entry, value in zip(entries, values):
        lookup[entry] = value
        lookup.setdefault(str(Path(entry).resolve()), value)
        lookup.setdefault(Path(entry).name, value)
    paths, labels = [], []
    for file in folder_or_files:
        for key in (str(file), str(Path(file).resolve()), Path(file).name):
            if key in lookup:
                paths.append(str(file))
                labels.append(lookup[key])
                break
        else:
            raise DataError(f"File '{file}' has no row in the labels table (column {file_column!r}).")
    if not paths:
        raise DataError("No files were given.")
    return paths, labels


def read_labelled_dataset(
    folder_or_files,
    labels_csv,
    *,
    file_column: str,
    label_column: str,
    image_size,
    skip_unreadable: bool,
    reader: Callable[[str], np.ndarray],
) -> ImageDataset:
    """Read files listed in a label table with ``reader`` (path -> channel-last float array)."""
    table = read_label_table(labels_csv, file_column, label_column)
    paths, values = labelled_files(folder_or_files, table, file_column, label_column)
    read = read_array_files(paths, reader, image_size=image_size, skip_unreadable=skip_unreadable,
                            listed_in=f"column {file_column!r}")
    kept = set(read.paths)
    labels, class_names = encode_labels([v for p, v in zip(paths, values) if p in kept])
    return ImageDataset(read.images, labels, class_names, read.paths, read.skipped, read.resized_from, read.notes)


@dataclass
class ImageFiles:
    """Images read from files, before any label is attached (see :func:`meddl.data.read_image_files`).

    Attributes:
        images: ``(N, H, W, C)`` or ``(N, D, H, W, C)`` array.
        paths: Source file of each image (skipped files are not listed).
        skipped: Files that could not be read and were skipped (``skip_unreadable=True``).
        resized_from: Original spatial size -> number of images resized from it.
        notes: Human-readable notes for the run log.
    """

    images: np.ndarray
    paths: list[str]
    skipped: list[str] = field(default_factory=list)
    resized_from: dict[tuple[int, ...], int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def read_array_files(
    paths: Sequence[str],
    reader: Callable[[str], np.ndarray],
    *,
    image_size=None,
    skip_unreadable: bool = False,
    listed_in: str = "the input",
    spatial_ndim: int | None = None,
) -> ImageFiles:
    """Read files with ``reader`` (path -> channel-last float array) and stack them into one batch.

    The one loop behind DICOM and NIfTI reading, for training and prediction alike:
    missing or unreadable files raise (or are skipped), then :func:`stack_arrays`
    resizes to ``image_size`` when given. With ``spatial_ndim`` (2 for a network of
    2-D images) a file holding another number of axes raises, naming it, before any resizing.
    """
    arrays, kept, skipped, notes = [], [], [], []
    for path in map(str, paths):
        try:
            if not Path(path).is_file():
                raise DataError(f"File not found: '{path}' (listed in {listed_in}).")
            array = reader(path)
        except DataError as exc:
            if not skip_unreadable:
                raise
            skipped.append(path)
            notes.append(f"Skipped unreadable file: {exc}")
            continue
        if spatial_ndim is not None and array.ndim - 1 != spatial_ndim:
            raise DataError(f"'{path}' holds a {array.ndim - 1}-D image of {'x'.join(map(str, array.shape[:-1]))} "
                            f"(a NIfTI volume or a multi-frame DICOM); {spatial_ndim}-D images are expected here. "
                            f"Give one 2-D slice or frame per file.")
        arrays.append(array)
        kept.append(path)
    if not arrays:
        if not notes:
            raise DataError("No image files were given.")
        raise DataError(f"None of the {len(skipped)} listed files could be read; see the first: {notes[0]}")
    images, resized_from = stack_arrays(arrays, kept, image_size)
    if resized_from:
        count, sizes = sum(resized_from.values()), sorted(resized_from)
        notes.append(f"Resized {count} images to {images.shape[1:-1]} from sizes {sizes}.")
    return ImageFiles(images, kept, skipped, resized_from, notes)
