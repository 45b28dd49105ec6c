"""Uploaded images (PNG, JPEG, DICOM) to pixel arrays, checked before they are decoded; Grad-CAM overlays as PNG."""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path

import numpy as np

from meddl.data import read_dicom_image, read_image_files
from meddl.errors import MeddlError
from meddl.explain import overlay_panels
from meddl.serving.input_checks import FieldProblem, InvalidInput

__all__ = ["decode_image", "overlay_png_base64", "IMAGE_FORMATS"]

IMAGE_FORMATS = ("PNG", "JPEG", "DICOM")


def _is_dicom(data: bytes, filename: str) -> bool:
    return data[128:132] == b"DICM" or filename.lower().endswith((".dcm", ".dicom"))


def _too_many_pixels(n_pixels: int, max_pixels: int) -> InvalidInput:
    return InvalidInput([FieldProblem("file", f"The image has {n_pixels} pixels; the server's limit is "
                                              f"{max_pixels}. Send a smaller image.")], status_code=413)


def _decode_dicom(data: bytes, filename: str, max_pixels: int, window=None) -> np.ndarray:
    import pydicom

    try:
        header = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except Exception as exc:  # pydicom raises many types for damaged files
        raise InvalidInput([FieldProblem("file", f"{filename!r} is not a readable DICOM file ({type(exc).__name__}: "
                                                 f"{str(exc)[:200]}).")]) from None
    n_pixels = int(header.get("Rows", 0) or 0) * int(header.get("Columns", 0) or 0) * int(
        header.get("NumberOfFrames", 1) or 1)
    if n_pixels > max_pixels:
        raise _too_many_pixels(n_pixels, max_pixels)
    with tempfile.TemporaryDirectory() as folder:  # the library reads DICOM from a path
        path = Path(folder) / "upload.dcm"
        path.write_bytes(data)
        try:
            image = read_dicom_image(path, window=window)
        except MeddlError as exc:
            raise InvalidInput([FieldProblem("file", str(exc).replace(str(path), filename))]) from None
        except Exception as exc:  # a damaged pixel stream fails inside the decoder
            raise InvalidInput([FieldProblem("file", f"Could not decode the pixel data of DICOM file {filename!r} "
                                                     f"({type(exc).__name__}).")]) from None
    if image.ndim == 3 and image.shape[-1] != 3:
        raise InvalidInput([FieldProblem("file", f"DICOM file {filename!r} holds {image.shape[0]} frames; send one "
                                                 f"image per request.")])
    return image


def _decode_plain(data: bytes, filename: str, max_pixels: int, color: str = "auto") -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError):
        raise InvalidInput([FieldProblem("file", f"{filename!r} is not a PNG, JPEG or DICOM image.")]) from None
    with image:
        if image.format not in ("PNG", "JPEG"):
            raise InvalidInput([FieldProblem("file", f"{filename!r} is a {image.format} image; the server takes "
                                                     f"PNG, JPEG or DICOM.")])
        width, height = image.size
        if width * height > max_pixels:
            raise _too_many_pixels(width * height, max_pixels)
        suffix = ".png" if image.format == "PNG" else ".jpg"
    # Decoded by the reader training used (meddl.data.read_image_files), not a copy of it: a separate one here
    # clipped 16-bit PNGs to 8 bits, ignored EXIF rotation and turned colour into grey by another formula.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            array = read_image_files([path], color=color, kind="png_jpeg").images[0]
        except MeddlError as exc:
            raise InvalidInput([FieldProblem("file", f"{filename!r} is a damaged {image.format} image "
                                                     f"({str(exc).replace(str(path), filename)[:200]}).")]) from None
    return array[..., 0] if array.shape[-1] == 1 else array


def decode_image(data: bytes, filename: str, *, max_pixels: int, window=None, color: str = "auto") -> np.ndarray:
    """One image as ``(H, W)`` or ``(H, W, 3)``, or :class:`InvalidInput` (422; 413 over ``max_pixels``).

    Read as the run's training images were: ``window`` and ``color`` are the run's
    (:func:`meddl.runs.image_inputs.image_reading`); 16-bit PNGs keep their values as float32.
    """
    if not data:
        raise InvalidInput([FieldProblem("file", "The uploaded file is empty.")])
    image = _decode_dicom(data, filename, max_pixels, window) if _is_dicom(data, filename) else _decode_plain(
        data, filename, max_pixels, color)
    if min(image.shape[:2]) < 2:
        raise InvalidInput([FieldProblem("file", f"The image is {image.shape[0]}x{image.shape[1]} pixels; it must be "
                                                 f"at least 2x2.")])
    return image


def overlay_png_base64(image: np.ndarray, heatmap: np.ndarray) -> str:
    """The image, the Grad-CAM heatmap and their blend side by side, as a base64 PNG (no matplotlib figure: ~2 ms)."""
    from PIL import Image

    panels = overlay_panels(image, heatmap)
    buffer = io.BytesIO()
    Image.fromarray((np.clip(panels, 0, 1) * 255).astype(np.uint8)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
