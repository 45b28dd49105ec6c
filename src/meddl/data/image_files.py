"""One way to read image files, shared by training and prediction.

A run's predictions are only trustworthy if new images reach the model exactly
as the training images did. Before this module, prediction had a reader of its
own that clipped 16-bit PNGs to 8 bits (``convert("L")``) while training read
them as float: on 16-bit images 2 of 4 test labels flipped against the run's
own ``predictions_test.csv``. Now the training readers (image folders, DICOM,
NIfTI, MedMNIST) and :meth:`meddl.load_run(...).predict` call the same functions:
:func:`read_image_files` for files and :func:`meddl.data.resize_images` for arrays.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


from meddl.data.dicom import _channel_last as _dicom_channel_last
from meddl.data.dicom import _check_window
from meddl.data.image_folder import IMAGE_SUFFIXES, read_png_jpeg_files
from meddl.data.images import ImageFiles, read_array_files
from meddl.data.nifti import read_nifti
from meddl.errors import ConfigError, DataError

__all__ = ["IMAGE_FILE_KINDS", "image_file_kind", "list_image_files", "read_image_files"]

#: The kinds of image file :func:`read_image_files` reads, by name.
IMAGE_FILE_KINDS = ("png_jpeg", "dicom", "nifti")
_KIND_NAMES = {"png_jpeg": "PNG/JPEG", "dicom": "DICOM", "nifti": "NIfTI"}


def image_file_kind(path: str | os.PathLike) -> str | None:
    """``"png_jpeg"``, ``"dicom"`` or ``"nifti"`` from a file name; ``None`` otherwise.

    DICOM is ``.dcm``/``.dicom``, a name without a suffix, or any existing file that starts with
    the DICOM preamble: PACS exports name files by their UID (``1.2.840.113619.2.55.3.5``) or
    ``IM0001``, and such a folder read as holding no images.
    """
    name = Path(path).name.lower()
    if name.endswith(IMAGE_SUFFIXES):
        return "png_jpeg"
    if name.endswith((".nii", ".nii.gz")):
        return "nifti"
    if name.endswith((".dcm", ".dicom")) or not Path(name).suffix or _has_dicom_preamble(path):
        return "dicom"
    return None


def _has_dicom_preamble(path: str | os.PathLike) -> bool:
    """Whether the file's bytes 128-131 are 'DICM' (a DICOM Part 10 file)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(132)[128:] == b"DICM"
    except OSError:
        return False


def list_image_files(folder: str | os.PathLike) -> list[str]:
    """Every PNG/JPEG, DICOM and NIfTI file under ``folder`` (sorted; hidden files and folders skipped).

    DICOM files are those named ``.dcm``/``.dicom`` and any other file that starts with the DICOM preamble,
    except a CD's or PACS export's ``DICOMDIR`` (an index of the files, without pixels).
    """
    root = Path(folder)
    return [str(p) for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
            and p.name.upper() != "DICOMDIR"
            and ((Path(p).suffix and image_file_kind(p) is not None) or _has_dicom_preamble(p))]


def read_image_files(
    paths: Sequence[str | os.PathLike],
    *,
    image_size=None,
    color: str = "auto",
    window=None,
    kind: str | None = None,
    skip_unreadable: bool = False,
    spatial_ndim: int | None = None,
) -> ImageFiles:
    """Read image files into one channel-last batch, exactly as training reads them.

    Args:
        paths: Files of one kind: PNG/JPEG, DICOM or NIfTI (2-D images or 3-D volumes).
        image_size: Resize every image to this size (int or tuple); ``None``
            requires one common size. PNG/JPEG are resized with PIL (bicubic),
            DICOM/NIfTI with MONAI (area when shrinking), as in training.
        color: PNG/JPEG only: ``"auto"`` (1 channel if all are grayscale, else 3),
            ``"grayscale"`` (PIL's luminance) or ``"rgb"``.
        window: DICOM and NIfTI: as in :func:`meddl.data.read_dicom_image` (NIfTI: ``(center, width)`` only).
        kind: One of :data:`IMAGE_FILE_KINDS`, or ``None`` to tell by the file names.
        skip_unreadable: Skip (and list in ``skipped``) files that cannot be read.
        spatial_ndim: DICOM/NIfTI: refuse a file with another number of spatial axes
            (2 for a network of 2-D images), naming it, before any resizing.

    Returns:
        :class:`~meddl.data.images.ImageFiles`: uint8 for 8-bit PNG/JPEG,
        float32 with the original values otherwise (16-bit PNG, DICOM, NIfTI).

    Raises:
        DataError: for no files, files of several kinds or of an unknown kind
            (naming an example of each), or any reading problem (naming the file).
        ConfigError: for an unknown ``kind`` or ``color``.

    Example:
        >>> batch = read_image_files(["a.png", "b.png"], image_size=64)  # doctest: +SKIP
        >>> batch.images.shape                                             # doctest: +SKIP
        (2, 64, 64, 1)
    """
    paths = [str(p) for p in paths]
    if not paths:
        raise DataError("No image files were given.")
    if kind is None:
        kinds = {}
        for path in paths:
            kinds.setdefault(image_file_kind(path), path)
        if None in kinds:
            raise DataError(f"'{kinds[None]}' is not an image file meddl reads: expected PNG/JPEG "
                            f"({', '.join(IMAGE_SUFFIXES)}), DICOM (.dcm) or NIfTI (.nii, .nii.gz).")
        if len(kinds) > 1:
            listed = "; ".join(f"{_KIND_NAMES[k]}, e.g. '{p}'" for k, p in kinds.items())
            raise DataError(f"The files are of different kinds ({listed}); give one kind at a time.")
        kind = next(iter(kinds))
    if kind not in IMAGE_FILE_KINDS:
        raise ConfigError(f"The 'kind' parameter must be one of {list(IMAGE_FILE_KINDS)} or None. Got {kind!r} instead.")
    if kind == "png_jpeg":
        return read_png_jpeg_files(paths, image_size, color, skip_unreadable=skip_unreadable)
    if kind == "dicom":
        _check_window(window)
        return read_array_files(paths, lambda path: _dicom_channel_last(path, window), image_size=image_size,
                                skip_unreadable=skip_unreadable, spatial_ndim=spatial_ndim)
    return read_array_files(paths, lambda path: read_nifti(path, window=window)[..., None], image_size=image_size,
                            skip_unreadable=skip_unreadable, spatial_ndim=spatial_ndim)
