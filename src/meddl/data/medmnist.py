"""MedMNIST: read the official ``.npz`` files, and find or download them by name.

``load_medmnist("medmnist:pneumoniamnist")`` looks for ``pneumoniamnist.npz``
in the data folder (``$MEDDL_DATA``, default ``~/.meddl/data``), checks its
MD5 against the official one, and downloads it from Zenodo if it is missing.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import urllib.request
import zipfile
from pathlib import Path

import numpy as np

from meddl.data.medmnist_info import MEDMNIST_INFO, MEDMNIST_URL
from meddl.errors import ConfigError, DataError, unknown_name_error

__all__ = [
    "load_medmnist_npz",
    "load_medmnist",
    "resolve_medmnist",
    "medmnist_info",
    "medmnist_data_dir",
    "MEDMNIST_SPLITS",
]

#: Split names, in the order of the official keys ``<split>_images`` / ``<split>_labels``.
MEDMNIST_SPLITS = ("train", "val", "test")
_PREFIX = "medmnist:"
_SIZES_2D = (28, 64, 128, 224)
_SIZES_3D = (28, 64)
_DOWNLOAD_TIMEOUT_S = 60


# ------------------------------------------------------------------ reading
def _images(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    if array.dtype.kind not in "uif":
        raise DataError(f"'{key}' in '{path}' has dtype {array.dtype}; expected uint8 images.")
    if array.ndim == 3:  # (N, H, W) grayscale
        return array[..., None]
    if array.ndim == 4 and array.shape[-1] in (1, 3):  # (N, H, W, C)
        return array
    if array.ndim == 4 and array.shape[-1] < min(array.shape[1:3]):  # (N, H, W, C) with C other than 1 or 3
        raise DataError(
            f"'{key}' in '{path}' has shape {array.shape}: {array.shape[-1]} channels. Expected 1 (grayscale) "
            f"or 3 (RGB) channels, (N, H, W) images or (N, D, H, W) volumes."
        )
    if array.ndim == 4:  # (N, D, H, W) 3-D MedMNIST volumes
        return array[..., None]
    if array.ndim == 5 and array.shape[-1] == 1:
        return array
    raise DataError(
        f"'{key}' in '{path}' has shape {array.shape}; expected (N, H, W), (N, H, W, 3) "
        f"or (N, D, H, W) images."
    )


def _labels(array: np.ndarray, path: Path, key: str, n_images: int) -> np.ndarray:
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise DataError(
            f"'{key}' in '{path}' has shape {array.shape}; expected (N,) or (N, 1) class labels. "
            f"Multi-label files (e.g. ChestMNIST, shape (N, 14)) are not supported."
        )
    if len(array) != n_images:
        raise DataError(f"'{key}' in '{path}' has {len(array)} labels but there are {n_images} images.")
    if array.dtype.kind not in "uifb":
        raise DataError(f"'{key}' in '{path}' has dtype {array.dtype}; expected integer class indices 0, 1, ...")
    if array.dtype.kind == "f":
        fractional = ~(np.mod(array, 1) == 0)  # NaN counts as not an integer
        if fractional.any():
            raise DataError(f"'{key}' in '{path}' holds {int(fractional.sum())} non-integer labels (e.g. "
                            f"{array[fractional][0].item()!r}); expected class indices 0, 1, ...")
    negative = array < 0
    if negative.any():
        raise DataError(f"'{key}' in '{path}' holds {int(negative.sum())} negative labels (e.g. "
                        f"{array[negative][0].item()!r}); expected class indices 0, 1, ... A label of -1 "
                        f"(unlabelled or missing) must be removed, not read as the last class.")
    return array.astype(np.int64)


def load_medmnist_npz(path: str | os.PathLike, *, all_splits: bool = True) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Read a MedMNIST ``.npz`` file (official layout) into ``{split: (images, labels)}``.

    Args:
        path: A file with keys ``train_images``, ``train_labels``, ``val_images``,
            ``val_labels``, ``test_images``, ``test_labels``.
        all_splits: ``False`` reads whichever of the three splits the file holds
            (at least one, each with its images and labels), e.g. new cases to
            predict or evaluate saved as ``test_images`` / ``test_labels`` only.

    Returns:
        Dict ``"train"``, ``"val"``, ``"test"`` -> ``(images, labels)``: images
        channel-last ``(N, H, W, 1)`` (grayscale), ``(N, H, W, 3)`` (RGB) or
        ``(N, D, H, W, 1)`` (3-D), dtype as stored (uint8); labels ``(N,)`` int64.

    Raises:
        DataError: if the file is missing or not an ``.npz``, lacks a key, or
            a key has the wrong shape; the message names the file and key.

    Example:
        >>> splits = load_medmnist_npz("pneumoniamnist.npz")  # doctest: +SKIP
        >>> x_train, y_train = splits["train"]                 # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"MedMNIST file not found: '{path}'.")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"Could not read '{path}' as a NumPy .npz archive: {exc}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise DataError(f"'{path}' holds a single array, not an .npz archive with MedMNIST keys.")
    with archive:
        keys = set(archive.files)
        splits = {}
        present = [split for split in MEDMNIST_SPLITS if {f"{split}_images", f"{split}_labels"} & keys]
        for split in MEDMNIST_SPLITS if all_splits or not present else present:
            for key in (f"{split}_images", f"{split}_labels"):
                if key not in keys:
                    raise DataError(
                        f"'{path}' has no key {key!r}; a MedMNIST file holds train_/val_/test_ "
                        f"images and labels. Keys found: {sorted(keys)}."
                    )
            try:
                raw_images, raw_labels = archive[f"{split}_images"], archive[f"{split}_labels"]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
                raise DataError(f"Could not read the {split} arrays of '{path}' (corrupt file?): {exc}") from exc
            images = _images(raw_images, path, f"{split}_images")
            splits[split] = (images, _labels(raw_labels, path, f"{split}_labels", len(images)))
    return splits


# ------------------------------------------------------------ name resolution
def _parse_name(name: str, size: int | None) -> tuple[str, int]:
    if not isinstance(name, str):
        raise ConfigError(f"MedMNIST dataset name must be a string. Got {name!r} instead.")
    key = name.strip().lower()
    key = key[len(_PREFIX):] if key.startswith(_PREFIX) else key
    key = key[:-4] if key.endswith(".npz") else key
    stem, _, suffix = key.rpartition("_")
    if stem and suffix.isdigit():
        if size is not None and size != int(suffix):
            raise ConfigError(f"MedMNIST name {name!r} says size {suffix} but size={size} was given.")
        key, size = stem, int(suffix)
    return key, 28 if size is None else size


def medmnist_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The folder for MedMNIST files: ``data_dir``, else ``$MEDDL_DATA``, else ``~/.meddl/data``."""
    if data_dir is not None:
        return Path(data_dir).expanduser()
    return Path(os.environ.get("MEDDL_DATA") or "~/.meddl/data").expanduser()


def medmnist_info(name: str) -> dict:
    """Task, channels, class names and known MD5s of an official MedMNIST dataset.

    Raises:
        ConfigError: for an unknown name, with a did-you-mean suggestion.
    """
    key, _ = _parse_name(name, None)
    if key not in MEDMNIST_INFO:
        raise unknown_name_error("MedMNIST dataset", key, MEDMNIST_INFO, error_class=ConfigError)
    info = MEDMNIST_INFO[key]
    return {"name": key, "task": info["task"], "n_channels": info["n_channels"],
            "class_names": list(info["labels"]), "md5": dict(info["md5"])}


def file_md5(path: Path) -> str:
    """MD5 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, destination: Path) -> None:
    """Stream ``url`` into ``destination`` (tests replace this function)."""
    with urllib.request.urlopen(url, timeout=_DOWNLOAD_TIMEOUT_S) as response, open(destination, "wb") as out:
        shutil.copyfileobj(response, out, length=1 << 20)


def _where_to_get(file_name: str, url: str, destination: Path) -> str:
    return (
        f"Download it from {url} and save it as '{destination}' (or set the MEDDL_DATA "
        f"environment variable to the folder that holds '{file_name}')."
    )


def resolve_medmnist(
    name: str,
    *,
    size: int | None = None,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    verify_md5: bool = True,
) -> Path:
    """Find (or download) the official file for ``medmnist:<name>`` and return its path.

    Args:
        name: ``"pneumoniamnist"``, ``"medmnist:pneumoniamnist"`` or ``"pneumoniamnist_64"``.
        size: Image size 28 (default), 64, 128 or 224 (3-D sets: 28 or 64); file
            ``<name>.npz`` for 28, ``<name>_<size>.npz`` otherwise.
        data_dir: Folder to look in / download to (default ``$MEDDL_DATA`` or ``~/.meddl/data``).
        download: Download from Zenodo when the file is missing.
        verify_md5: Compare the file with the official MD5 (all official files
            of Zenodo record 10519652 are known, see ``medmnist_info``). A local
            file under a name meddl does not know is used as is, unchecked.

    Raises:
        DataError: if the file is missing and cannot be downloaded (the message
            says which file to get, from where, and where to put it), or if its
            MD5 does not match the official one.
        ConfigError: for an unknown dataset name or size.
    """
    key, size = _parse_name(name, size)
    file_name = f"{key}.npz" if size == 28 else f"{key}_{size}.npz"
    folder = medmnist_data_dir(data_dir)
    destination = folder / file_name
    info = MEDMNIST_INFO.get(key)
    if info is None:
        if destination.is_file():
            return destination  # a user's own file in the MedMNIST layout
        raise unknown_name_error("MedMNIST dataset", key, MEDMNIST_INFO, error_class=ConfigError)
    sizes = _SIZES_3D if key.endswith("3d") else _SIZES_2D
    if size not in sizes:
        raise ConfigError(f"MedMNIST {key!r} comes in sizes {list(sizes)}. Got size={size!r} instead.")
    expected_md5 = info["md5"].get(size)
    url = MEDMNIST_URL.format(file=file_name)

    if destination.is_file():
        if verify_md5 and expected_md5:
            actual = file_md5(destination)
            if actual != expected_md5:
                raise DataError(
                    f"'{destination}' has MD5 {actual}, but the official {file_name} has {expected_md5}: "
                    f"the file is incomplete or not the official one. Delete it to download it again, "
                    f"or pass verify_md5=False to use it anyway. {_where_to_get(file_name, url, destination)}"
                )
        return destination
    if not download:
        raise DataError(
            f"MedMNIST file '{file_name}' not found in '{folder}'. {_where_to_get(file_name, url, destination)}"
        )

    partial = destination.with_name(destination.name + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _download(url, partial)
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, broken transfers, disk errors
        partial.unlink(missing_ok=True)
        raise DataError(
            f"MedMNIST file '{file_name}' is not in '{folder}' and could not be downloaded ({exc}). "
            f"{_where_to_get(file_name, url, destination)}"
        ) from exc
    if verify_md5 and expected_md5:
        actual = file_md5(partial)
        if actual != expected_md5:
            partial.unlink(missing_ok=True)
            raise DataError(
                f"The download of '{file_name}' from {url} has MD5 {actual}, expected {expected_md5} "
                f"(interrupted or altered download); it was deleted. Try again later. "
                f"{_where_to_get(file_name, url, destination)}"
            )
    os.replace(partial, destination)  # atomic: a half-written file never has the final name
    return destination


def load_medmnist(
    name: str,
    *,
    size: int | None = None,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    verify_md5: bool = True,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``load_medmnist_npz(resolve_medmnist(name, ...))``: the official splits by name.

    Class names come from :func:`medmnist_info`.

    Example:
        >>> splits = load_medmnist("medmnist:pneumoniamnist")  # doctest: +SKIP
    """
    return load_medmnist_npz(
        resolve_medmnist(name, size=size, data_dir=data_dir, download=download, verify_md5=verify_md5)
    )
