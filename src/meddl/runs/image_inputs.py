"""New images for a trained image run, read exactly as its training images were.

``Run.predict`` and ``Run.evaluate`` take image files, folders and MedMNIST ``.npz`` files here, and
``meddl serve`` reads an upload with the same options (:func:`image_reading`): the run's DICOM window and
the colour mode its network was trained on. Each reading problem names the file and what the run expects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from meddl.data import list_image_files, load_medmnist_npz, read_image_files, resize_images
from meddl.errors import DataError
from meddl.runs.datasets import load_data

__all__ = ["image_reading", "read_prediction_images", "read_labelled_images"]


def image_reading(data_config: Any, input_shape) -> dict:
    """The options a new image file is read with: the run's DICOM ``window`` and the ``color`` of its input."""
    channels = input_shape[-1] if input_shape else None
    return {"window": getattr(data_config, "window", None),
            "color": {1: "grayscale", 3: "rgb"}.get(channels, "auto")}


def read_prediction_images(data: Any, data_config: Any = None, input_shape=None) -> tuple[np.ndarray, np.ndarray]:
    """Images to predict on, and an id per image (its file, or ``split-i`` of an ``.npz``).

    Args:
        data: an array ``(N, H, W[, C])``, an image file, a list of files, a folder (read recursively; hidden
            files and files of other kinds are ignored) or a MedMNIST ``.npz`` (its test split if it has one).
        data_config: the run's ``data`` section (``image_size``, ``window``).
        input_shape: the network's input shape ``(H, W, C)``.

    Raises:
        DataError: a path that does not exist, no image files, an unreadable file, or a 3-D volume
            (multi-frame DICOM, NIfTI volume) for a network of 2-D images; the message names the file.
    """
    if isinstance(data, np.ndarray):
        return data, np.asarray([str(i) for i in range(len(data))])
    image_size = getattr(data_config, "image_size", None)
    if isinstance(data, (list, tuple)) and data and all(isinstance(p, (str, Path)) for p in data):
        return _read_files(list(data), data_config, input_shape)
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.exists():
            raise DataError(f"Image file or folder not found: '{path}'.")
        if path.suffix.lower() == ".npz":
            split = load_medmnist_npz(path, all_splits=False)
            name = "test" if "test" in split else next(iter(split))
            images = split[name][0]
            if image_size and images.shape[1:3] != (image_size, image_size):  # as meddl.runs.datasets.load_images
                images = resize_images(images, image_size)
            return images, np.asarray([f"{name}-{i}" for i in range(len(images))])
        return _read_files(path, data_config, input_shape)
    raise DataError(f"Input for an image model must be an array (N, H, W[, C]), an image file, a list of image files, "
                    f"a folder of images or a MedMNIST .npz; got {data!r:.100}.")


def _read_files(path, data_config=None, input_shape=None) -> tuple[np.ndarray, np.ndarray]:
    """A file, a folder or a list of files, through the training reader with the run's settings."""
    files = list_image_files(path) if isinstance(path, Path) and path.is_dir() else (
        [path] if isinstance(path, Path) else path)
    if not files:
        raise DataError(f"No image files (PNG/JPEG, DICOM .dcm, NIfTI .nii/.nii.gz) found in '{path}'.")
    spatial = tuple(input_shape[:-1]) if input_shape else None
    missing = [f for f in files if not Path(f).exists()]
    if missing:
        raise DataError(f"Image file not found: '{missing[0]}'" + (f" (and {len(missing) - 1} more)." if len(missing) > 1
                                                                     else "."))
    read = read_image_files(files, image_size=getattr(data_config, "image_size", None) or spatial,
                            spatial_ndim=len(spatial) if spatial else None, **image_reading(data_config, input_shape))
    return read.images, np.asarray([str(Path(f)) for f in read.paths])


def read_labelled_images(data: Any, data_config: Any, input_shape, class_names: list[str] | None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Images and their labels from a folder with one subfolder per class, or a MedMNIST ``.npz``, read with the run's
    ``data`` settings (image size, skipping unreadable files, ``label_map``, MedMNIST class names) and the colour mode
    of its network.

    Raises:
        DataError: another kind of input, or a class the run was not trained on (naming its images).
    """
    path = Path(data) if isinstance(data, (str, Path)) else None
    if path is None or not (path.is_dir() or path.suffix.lower() == ".npz"):
        raise DataError(f"Labelled data for an image run must be a folder with one subfolder per class, a MedMNIST "
                        f".npz, or a YAML config naming the data (for DICOM or NIfTI with their labels_csv); "
                        f"got {data!r:.100}.")
    source = "image_folder" if path.is_dir() else "medmnist"
    update = {"source": source, "path": str(path), "name": None, "labels_csv": None, "window": None,
              "color": image_reading(data_config, input_shape)["color"] if source == "image_folder" else "auto"}
    loaded = load_data(data_config.model_copy(update=update), classification=True)
    unknown = sorted(set(map(str, loaded.target)) - set(class_names or []))
    if class_names is not None and unknown:
        examples = [str(r) for r, t in zip(loaded.row_ids, loaded.target) if str(t) == unknown[0]]
        raise DataError(f"'{path}' has images of class(es) {unknown} that the run was not trained on "
                        f"({len(examples)} of class {unknown[0]!r}, e.g. '{examples[0]}'); the run's classes are "
                        f"{class_names}. Remove them, or map them to one of those with data.label_map in a config.")
    return loaded.features, loaded.target
