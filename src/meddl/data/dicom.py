"""Read DICOM images (pixel values in modality units, optionally windowed) and labelled DICOM datasets."""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np

from meddl.errors import import_optional
from meddl.data.images import ImageDataset, read_labelled_dataset, window_values
from meddl.errors import ConfigError, DataError

__all__ = ["read_dicom_image", "read_dicom_dataset"]


def _check_window(window) -> tuple[float, float] | str | None:
    if window is None or (isinstance(window, str) and window == "header"):
        return window
    if (
        isinstance(window, (tuple, list))
        and len(window) == 2
        and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in window)
        and window[1] > 0
    ):
        return float(window[0]), float(window[1])
    raise ConfigError(
        "The 'window' parameter must be None, 'header', or a (center, width) pair of numbers with "
        f"width > 0, e.g. (40, 400) for a CT soft-tissue window. Got {window!r} instead."
    )


def _header_window(dataset, path) -> tuple[float, float]:
    center, width = dataset.get("WindowCenter"), dataset.get("WindowWidth")
    if center is None or width is None:
        raise DataError(f"DICOM file '{path}' has no WindowCenter/WindowWidth; pass window=(center, width).")
    # Both may hold several windows (multi-valued); the first is the default one.
    first = lambda value: float(value[0]) if hasattr(value, "__len__") and not isinstance(value, str) else float(value)  # noqa: E731
    return first(center), first(width)


def _read_dicom(path, window) -> tuple[np.ndarray, bool]:
    """Return (float32 pixel values, is_colour)."""
    window = _check_window(window)
    pydicom = import_optional("pydicom", "Reading DICOM files")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"DICOM file not found: '{path}'.")
    try:
        dataset = pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError as exc:
        reason = str(exc).split(" Use force=True")[0]  # meddl has no force option to offer
        raise DataError(f"'{path}' is not a DICOM file ({reason})") from exc
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise DataError(f"Could not read DICOM file '{path}': {exc}") from exc
    if not any(tag in dataset for tag in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        kind = dataset.get("Modality", "unknown modality")
        raise DataError(f"DICOM file '{path}' has no pixel data (a {kind} object, not an image).")
    try:
        pixels = dataset.pixel_array
    except Exception as exc:  # pydicom/decoder plugins raise many types (RuntimeError, ValueError, ...)
        hint = ""
        if "plugin" in str(exc).lower() or "decod" in str(exc).lower() or "handler" in str(exc).lower():
            hint = " Compressed DICOM may need: pip install pylibjpeg pylibjpeg-libjpeg pylibjpeg-openjpeg"
        raise DataError(f"Could not decode the pixel data of DICOM file '{path}': {exc}.{hint}") from exc

    colour = int(dataset.get("SamplesPerPixel", 1)) > 1
    if colour:
        if window is not None:
            raise ConfigError(f"Windowing applies to grayscale images; '{path}' is a colour (RGB) DICOM.")
        return pixels.astype(np.float32), True

    # Read with pydicom directly rather than MONAI's PydicomReader: we need the header
    # (Modality LUT incl. RescaleSlope/Intercept, PhotometricInterpretation, window)
    # and plain (rows, columns) arrays without MONAI's axis reordering.
    from pydicom.pixels import apply_modality_lut

    values = np.asarray(apply_modality_lut(pixels, dataset), dtype=np.float32)
    if window is not None:
        center, width = _header_window(dataset, path) if isinstance(window, str) else window
        values = window_values(values, center, width)
    if dataset.get("PhotometricInterpretation") == "MONOCHROME1":
        # MONOCHROME1: low values are displayed bright. Invert so that high = bright, as in
        # MONOCHROME2 (within [0, 1] after windowing, else within the image's own range).
        values = 1.0 - values if window is not None else values.max() + values.min() - values
    return values.astype(np.float32), False


def read_dicom_image(path: str | os.PathLike, window=None) -> np.ndarray:
    """Read one DICOM image as float32 values in modality units.

    The Modality LUT is applied (``RescaleSlope``/``RescaleIntercept``: CT
    values become Hounsfield units), and MONOCHROME1 images are inverted so
    that higher values are brighter.

    Args:
        path: The DICOM file.
        window: ``None`` (raw modality values); ``(center, width)`` to window,
            mapping ``[center - width/2, center + width/2]`` linearly to
            ``[0, 1]`` and clipping; or ``"header"`` to use the file's first
            ``WindowCenter``/``WindowWidth``.

    Returns:
        float32 ``(rows, columns)``; ``(frames, rows, columns)`` for multi-frame
        files; a trailing axis of 3 for colour (RGB) images.

    Raises:
        DataError: if the file is missing, is not DICOM, has no pixel data, or
            its pixel data cannot be decoded; the message names the path.
        ConfigError: for an invalid ``window``, or a window on a colour image.

    Example:
        >>> ct = read_dicom_image("slice.dcm", window=(40, 400))  # doctest: +SKIP
    """
    return _read_dicom(path, window)[0]


def _channel_last(path: str, window) -> np.ndarray:
    values, colour = _read_dicom(path, window)
    return values if colour else values[..., None]


def read_dicom_dataset(
    folder_or_files,
    labels_csv,
    file_column: str = "file",
    label_column: str = "label",
    image_size=None,
    *,
    window=None,
    skip_unreadable: bool = False,
) -> ImageDataset:
    """Read DICOM images with labels from a table mapping file -> label.

    Args:
        folder_or_files: A folder (file names in the table are relative to it,
            or absolute) or a list of DICOM files (looked up in the table by
            path or file name).
        labels_csv: Path of a CSV/TSV/Parquet table, or a DataFrame.
        file_column, label_column: Column names in the table.
        image_size: Resize every image to this size (int or tuple); needed when sizes differ.
        window: As in :func:`read_dicom_image`.
        skip_unreadable: Skip (and list in ``skipped``) files that cannot be read
            instead of raising.

    Returns:
        :class:`~meddl.data.images.ImageDataset` with float32 images ``(N, H, W, C)``
        (``(N, D, H, W, C)`` for multi-frame files); labels are sorted label values mapped to 0..K-1.
    """
    _check_window(window)
    return read_labelled_dataset(
        folder_or_files,
        labels_csv,
        file_column=file_column,
        label_column=label_column,
        image_size=image_size,
        skip_unreadable=skip_unreadable,
        reader=lambda path: _channel_last(path, window),
    )
