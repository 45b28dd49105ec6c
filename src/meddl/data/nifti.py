"""Read NIfTI images (.nii, .nii.gz) and labelled NIfTI datasets."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from meddl.errors import import_optional
from meddl.data.dicom import _check_window
from meddl.data.images import ImageDataset, read_labelled_dataset, window_values
from meddl.errors import ConfigError, DataError

__all__ = ["read_nifti", "read_nifti_dataset"]


def read_nifti(path: str | os.PathLike, *, canonical: bool = False, window=None) -> np.ndarray:
    """Read a NIfTI file as a float32 2-D image or 3-D volume.

    The header's ``scl_slope``/``scl_inter`` scaling is applied. Axes are the
    stored voxel axes ``(i, j[, k])`` (nibabel's order), unless ``canonical``
    reorders them to the closest RAS+ orientation. Trailing axes of length 1
    are dropped, so a 2-D image stored as ``(X, Y, 1)`` comes back as ``(X, Y)``.
    ``window=(center, width)`` maps ``[center - width/2, center + width/2]`` to
    ``[0, 1]`` and clips, as for DICOM (CT stored as NIfTI holds Hounsfield units).

    Raises:
        DataError: if the file is missing, not NIfTI, corrupt, or has more than
            3 non-trivial axes (e.g. a 4-D time series); the message names the path.

    Example:
        >>> volume = read_nifti("brain.nii.gz")  # doctest: +SKIP
    """
    if isinstance(window, str):
        raise ConfigError(f"The 'window' parameter of read_nifti must be None or a (center, width) pair: a NIfTI "
                          f"header has no display window. Got {window!r} instead.")
    window = _check_window(window)
    nibabel = import_optional("nibabel", "Reading NIfTI files")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"NIfTI file not found: '{path}'.")
    name = path.name.lower()
    if not (name.endswith(".nii") or name.endswith(".nii.gz")):
        raise DataError(f"'{path}' is not a NIfTI file: expected a name ending in .nii or .nii.gz.")
    # nibabel directly rather than MONAI's NibabelReader: we want the plain voxel array
    # in stored order (MONAI returns a MetaTensor and may reorder axes / add channels).
    try:
        image = nibabel.load(path)
        if canonical:
            image = nibabel.as_closest_canonical(image)
        values = np.asarray(image.get_fdata(dtype=np.float32))
    except (nibabel.filebasedimages.ImageFileError, OSError, EOFError, ValueError) as exc:
        raise DataError(f"Could not read NIfTI file '{path}': {exc}") from exc
    while values.ndim > 2 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim not in (2, 3):
        raise DataError(
            f"NIfTI file '{path}' has shape {values.shape}; meddl reads 2-D images and 3-D volumes "
            f"(4-D series are not supported: split them into one file per volume)."
        )
    return values if window is None else window_values(values, *window)


def read_nifti_dataset(
    folder_or_files,
    labels_csv,
    file_column: str = "file",
    label_column: str = "label",
    image_size=None,
    *,
    canonical: bool = False,
    window=None,
    skip_unreadable: bool = False,
) -> ImageDataset:
    """Read NIfTI images/volumes with labels from a table mapping file -> label.

    Args:
        folder_or_files: A folder (file names in the table are relative to it,
            or absolute) or a list of NIfTI files (looked up by path or file name).
        labels_csv: Path of a CSV/TSV/Parquet table, or a DataFrame.
        file_column, label_column: Column names in the table.
        image_size: Resize every image to this size (int or tuple); needed when sizes differ.
        canonical: Reorient to the closest RAS+ orientation (see :func:`read_nifti`).
        window: ``None`` or ``(center, width)``, as in :func:`read_nifti`.
        skip_unreadable: Skip (and list in ``skipped``) unreadable files instead of raising.

    Returns:
        :class:`~meddl.data.images.ImageDataset` with float32 images
        ``(N, X, Y, 1)`` or ``(N, X, Y, Z, 1)``.
    """
    return read_labelled_dataset(
        folder_or_files,
        labels_csv,
        file_column=file_column,
        label_column=label_column,
        image_size=image_size,
        skip_unreadable=skip_unreadable,
        reader=lambda path: read_nifti(path, canonical=canonical, window=window)[..., None],
    )
