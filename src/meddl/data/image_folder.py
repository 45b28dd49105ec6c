"""Read a folder of PNG/JPEG images with one subfolder per class."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np

from meddl.errors import import_optional
from meddl.data.images import ImageDataset, ImageFiles, size_mismatch_error, target_size
from meddl.errors import ConfigError, DataError

__all__ = ["read_image_folder", "read_png_jpeg_files", "class_folder_files", "image_files_under", "IMAGE_SUFFIXES"]

#: File name endings read as images (case-insensitive); other files are ignored.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_COLORS = ("auto", "grayscale", "rgb")
_HIGH_DEPTH_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def _open(path: Path, Image, ImageOps):
    """Open and fully decode one image (so truncated files fail here), honouring EXIF rotation."""
    with Image.open(path) as image:
        image.load()
        return ImageOps.exif_transpose(image)


def _is_gray(image) -> bool:
    if image.mode in ("1", "L", "LA") or image.mode in _HIGH_DEPTH_MODES:
        return True
    rgb = np.asarray(image.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def read_image_folder(
    path: str | os.PathLike,
    image_size=None,
    color: str = "auto",
    *,
    skip_unreadable: bool = False,
) -> ImageDataset:
    """Read ``path/<class name>/**/*.png|jpg|jpeg`` into arrays with integer labels.

    Classes are the subfolder names in sorted order (label 0 is the first).
    Hidden files and folders (starting with ".") are ignored, and so are files
    with other extensions. The images are read by :func:`read_png_jpeg_files`,
    as prediction reads them.

    Args:
        path: The folder holding one subfolder per class.
        image_size: ``None`` (all images must have the same size), an int, or
            ``(height, width)``: images of another size are resized (PIL bicubic,
            anti-aliased) and counted in ``resized_from``.
        color: ``"auto"`` (1 channel if every image is grayscale, else 3),
            ``"grayscale"`` or ``"rgb"``.
        skip_unreadable: Skip corrupt or unreadable files (listed in
            ``skipped``, with reasons in ``notes``) instead of raising.

    Returns:
        :class:`~meddl.data.images.ImageDataset` with images ``(N, H, W, C)``:
        uint8 for 8-bit images, float32 (original values) for 16-bit ones.

    Raises:
        DataError: for a missing folder, no class subfolders, a class without
            images, differing sizes without ``image_size``, mixed 8/16-bit
            images, or an unreadable file (naming it).
        ConfigError: for an invalid ``color`` or ``image_size``.

    Example:
        >>> data = read_image_folder("xrays/", image_size=64)  # doctest: +SKIP
        >>> data.class_names                                    # doctest: +SKIP
        ['normal', 'pneumonia']
    """
    _check_color(color)
    target_size(image_size, 2)
    files, file_labels, class_dirs = class_folder_files(path)
    read = read_png_jpeg_files(files, image_size, color, skip_unreadable=skip_unreadable)
    skipped = set(read.skipped)
    labels = [label for file, label in zip(files, file_labels) if file not in skipped]
    for label, class_dir in enumerate(class_dirs):
        if label not in labels:
            raise DataError(f"Class folder '{class_dir}' has no readable images ({', '.join(IMAGE_SUFFIXES)}).")
    return ImageDataset(
        images=read.images,
        labels=np.asarray(labels, dtype=np.int64),
        class_names=[d.name for d in class_dirs],
        paths=read.paths,
        skipped=read.skipped,
        resized_from=read.resized_from,
        notes=read.notes,
    )


def image_files_under(folder: Path) -> list[Path]:
    """The PNG/JPEG files anywhere under ``folder``, sorted; hidden files and folders are ignored."""
    return sorted(p for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def class_folder_files(path: str | os.PathLike) -> tuple[list[str], list[int], list[Path]]:
    """``(files, labels, class folders)`` of ``path/<class name>/**/*.png|jpg|jpeg``; classes in sorted order."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"Image folder not found: '{root}'.")
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise DataError(
            f"'{root}' has no class subfolders. Expected one folder per class, e.g. "
            f"'{root / 'normal'}/*.png' and '{root / 'pneumonia'}/*.png'."
        )
    files, labels = [], []
    for label, class_dir in enumerate(class_dirs):
        found = image_files_under(class_dir)
        if not found:
            raise DataError(f"Class folder '{class_dir}' has no readable images ({', '.join(IMAGE_SUFFIXES)}).")
        files += [str(f) for f in found]
        labels += [label] * len(found)
    return files, labels, class_dirs


def _check_color(color: str) -> None:
    if color not in _COLORS:
        raise ConfigError(f"The 'color' parameter must be one of {list(_COLORS)}. Got {color!r} instead.")


def read_png_jpeg_files(paths, image_size=None, color: str = "auto", *, skip_unreadable: bool = False) -> ImageFiles:
    """Read PNG/JPEG files into one ``(N, H, W, C)`` batch: the rule training and prediction share.

    8-bit images stay uint8 (``"L"`` or ``"RGB"``); 16-bit ones are read as float32
    with their original values (PIL mode ``"F"``), never clipped to 8 bits. With
    ``color="auto"`` the batch has 1 channel if every image is grayscale, else 3.
    Images of another size than ``image_size`` are resized (PIL bicubic); without
    ``image_size`` differing sizes are refused, naming example files.

    Raises:
        DataError: for an unreadable file (naming it), mixed 8/16-bit images, or
            differing sizes without ``image_size``.
    """
    _check_color(color)
    size = target_size(image_size, 2)
    import_optional("PIL", "Reading PNG/JPEG images")
    from PIL import Image, ImageOps

    images, kept, skipped, notes = [], [], [], []
    for file in map(str, paths):
        try:
            image = _open(Path(file), Image, ImageOps)
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            if not skip_unreadable:
                raise DataError(f"Could not read image '{file}': {exc}") from exc
            skipped.append(file)
            notes.append(f"Skipped unreadable image '{file}': {exc}")
            continue
        images.append(image)
        kept.append(file)
    if not images:
        raise DataError("No readable PNG/JPEG images were given." + (f" First problem: {notes[0]}" if notes else ""))

    high_depth = [img.mode in _HIGH_DEPTH_MODES for img in images]
    if any(high_depth) and not all(high_depth):
        example16 = kept[high_depth.index(True)]
        example8 = kept[high_depth.index(False)]
        raise DataError(
            f"The set of images mixes 16-bit images (e.g. '{example16}') with 8-bit ones (e.g. '{example8}'); "
            f"convert them to one bit depth first."
        )
    if color == "auto":
        gray = [_is_gray(img) for img in images]
        channels = 1 if all(gray) else 3
        if any(gray) and not all(gray):  # the grayscale ones become RGB with three equal channels: say so
            notes.append(f"{sum(gray)} of {len(images)} images are grayscale (e.g. '{kept[gray.index(True)]}') and "
                         f"{gray.count(False)} in colour (e.g. '{kept[gray.index(False)]}'): all were read as RGB, "
                         f"3 channels. Pass color='grayscale' (data.color in a config) to read them all as grayscale.")
    else:
        channels = 1 if color == "grayscale" else 3

    shapes = [(img.height, img.width) for img in images]
    if size is None and len(set(shapes)) > 1:
        raise size_mismatch_error(shapes, kept)
    arrays = []
    for img in images:
        if all(high_depth):
            img = img.convert("F")  # float32 keeps 16-bit values through resizing
        else:
            img = img.convert("L" if channels == 1 else "RGB")
        if size is not None and (img.height, img.width) != size:
            img = img.resize((size[1], size[0]), Image.Resampling.BICUBIC)
        array = np.asarray(img)
        array = array[..., None] if array.ndim == 2 else array
        if array.shape[-1] != channels:
            array = np.repeat(array, channels, axis=-1)
        arrays.append(array)
    resized_from = dict(Counter(s for s in shapes if size is not None and s != size))
    if resized_from:
        notes.append(f"Resized {sum(resized_from.values())} images to {size} from sizes {sorted(resized_from)}.")
    dtype = np.float32 if all(high_depth) else np.uint8
    return ImageFiles(np.stack(arrays).astype(dtype, copy=False), kept, skipped, resized_from, notes)
