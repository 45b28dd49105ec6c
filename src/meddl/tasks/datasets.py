"""Load the data a config names into one shape the task pipelines share.

Tables stay pandas frames (preprocessing is fitted later, on the training split
only); images become ``(N, H, W, C)`` arrays. The split is the data's own when
it has one (MedMNIST), else a seeded, stratified, patient-grouped split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from meddl.errors import ConfigError, DataError
from meddl.tasks.config import IMAGE_SOURCES, DataConfig

__all__ = ["LoadedData", "load_data", "load_images", "table_columns"]


@dataclass
class LoadedData:
    """What a task needs from the data, before any fitting.

    Attributes:
        kind: ``"table"`` or ``"image"``.
        features: the feature table (tables) or an image array ``(N, H, W, C)``.
        target: one raw target value per row (class labels or numbers); ``None`` for survival/treatment.
        frame: the full table (tables), for extra columns such as durations, events, subgroups.
        row_ids: a stable id per row (table index or file path).
        groups: patient ids (one per row) or ``None``.
        split: ``"train"/"val"/"test"`` per row when the data brings its own split, else ``None``.
        class_names: class names known from the source (images, built-ins), else ``None``.
        notes: lines for the run log.
    """

    kind: str
    features: pd.DataFrame | np.ndarray
    target: np.ndarray | None
    frame: pd.DataFrame | None = None
    row_ids: np.ndarray | None = None
    groups: np.ndarray | None = None
    split: np.ndarray | None = None
    class_names: list[str] | None = None
    label: str | None = None
    source: str = ""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.features)


def table_columns(frame: pd.DataFrame, data: DataConfig, reserved: list[str], where: str) -> list[str]:
    """The feature columns: ``data.features`` if given, else every column not reserved (label, ids, ...)."""
    missing = [c for c in reserved if c not in frame.columns]
    if missing:
        raise DataError(f"Column(s) {missing} named in the config are not in {where}. "
                        f"Available columns: {list(map(str, frame.columns))[:30]}.")
    if data.features:
        absent = [c for c in data.features if c not in frame.columns]
        if absent:
            raise DataError(f"data.features lists column(s) {absent} that are not in {where}.")
        clash = [c for c in data.features if c in reserved]
        if clash:
            raise ConfigError(f"data.features must not include {clash}: they are the label, ids or outcome columns.")
        return list(data.features)
    return [c for c in frame.columns if c not in reserved]


def _read_frame(data: DataConfig) -> tuple[pd.DataFrame, dict]:
    from meddl.data import load_builtin, read_table

    if data.source == "builtin":
        dataset = load_builtin(data.name or data.path)
        defaults = {"label": dataset.label_column, "duration": dataset.duration_column, "event": dataset.event_column,
                    "class_names": dataset.class_names, "description": dataset.description}
        return dataset.frame, defaults
    return read_table(data.path), {}


def load_data(data: DataConfig, *, task: str, extra_columns: list[str] | None = None) -> LoadedData:
    """Load tables or images for ``task`` ("diagnosis" or "regression") as the config says."""
    if data.source in IMAGE_SOURCES:
        if task != "diagnosis":
            raise ConfigError(f"data.source '{data.source}' holds images, which meddl supports for task 'diagnosis'; "
                              f"got task '{task}'.")
        return load_images(data)
    frame, defaults = _read_frame(data)
    where = f"'{data.path}'" if data.path else f"built-in data set '{data.name}'"
    label = data.label or defaults.get("label")
    if not label:
        raise ConfigError(f"data.label: a table needs 'label', the column holding the {'diagnosis' if task == 'diagnosis' else 'outcome'}.")
    if label not in frame.columns:
        raise DataError(f"data.label: column {label!r} is not in {where}. Available columns: {list(map(str, frame.columns))[:30]}.")
    reserved = [label] + [c for c in (data.patient_id,) if c] + list(extra_columns or [])
    columns = table_columns(frame, data, reserved, where)
    target = frame[label]
    missing = int(target.isna().sum())
    if missing:
        raise DataError(f"{missing} rows have a missing value in label column {label!r}; drop or fill them before training.")
    class_names = defaults.get("class_names")
    values = target.to_numpy()
    if class_names is not None and task == "diagnosis":
        values = np.asarray([class_names[int(v)] for v in values], dtype=object)
    groups = frame[data.patient_id].to_numpy() if data.patient_id else None
    if groups is not None and pd.isna(groups).any():
        raise DataError(f"Column {data.patient_id!r} (data.patient_id) has {int(pd.isna(groups).sum())} missing ids.")
    return LoadedData(kind="table", features=frame[columns], target=values, frame=frame,
                      row_ids=np.asarray(frame.index.astype(str)), groups=groups,
                      class_names=None, label=label, source=f"built-in data set '{data.name}'" if data.source == "builtin" else where)


def load_images(data: DataConfig) -> LoadedData:
    """Read MedMNIST, image folders, DICOM or NIfTI into one image array with labels."""
    from meddl import data as readers

    size = data.image_size
    if data.source == "medmnist":
        if data.path:
            splits = readers.load_medmnist_npz(data.path)
            where = f"'{data.path}'"
        else:
            splits = readers.load_medmnist(data.name)
            where = f"MedMNIST '{data.name}'"
        images, labels, split, ids = [], [], [], []
        for name in ("train", "val", "test"):
            if name not in splits:
                continue
            x, y = splits[name]
            images.append(x)
            labels.append(y)
            split += [name] * len(y)
            ids += [f"{name}-{i}" for i in range(len(y))]
        x = np.concatenate(images)
        notes = []
        if size and x.shape[1:3] != (size, size):
            notes.append(f"Images resized from {x.shape[1]}x{x.shape[2]} to {size}x{size} (data.image_size).")
            x = _resize(x, size)
        y = np.concatenate(labels)
        names = data.class_names or [str(i) for i in range(int(y.max()) + 1)]
        return LoadedData(kind="image", features=x, target=np.asarray([names[int(v)] for v in y], dtype=object),
                          row_ids=np.asarray(ids), split=np.asarray(split), class_names=names, source=where, notes=notes)
    if data.source == "image_folder":
        dataset = readers.read_image_folder(data.path, image_size=size, skip_unreadable=data.skip_unreadable)
    elif data.source == "dicom":
        dataset = readers.read_dicom_dataset(data.path, data.labels_csv, file_column=data.file_column,
                                             label_column=data.label_column, image_size=size, window=data.window,
                                             skip_unreadable=data.skip_unreadable)
    else:
        dataset = readers.read_nifti_dataset(data.path, data.labels_csv, file_column=data.file_column,
                                             label_column=data.label_column, image_size=size,
                                             skip_unreadable=data.skip_unreadable)
    names = data.class_names or list(dataset.class_names)
    target = np.asarray([names[int(v)] for v in dataset.labels], dtype=object)
    notes = list(dataset.notes)
    if dataset.skipped:
        notes.append(f"{len(dataset.skipped)} unreadable file(s) skipped (data.skip_unreadable).")
    return LoadedData(kind="image", features=dataset.images, target=target,
                      row_ids=np.asarray([str(Path(p)) for p in dataset.paths]), class_names=names,
                      source=f"'{data.path}'", notes=notes)


def _resize(images: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Resize a batch of channel-last images (bilinear, anti-aliased when shrinking)."""
    import torch
    import torch.nn.functional as F

    size = (size, size) if isinstance(size, int) else tuple(size)
    tensor = torch.as_tensor(images.astype(np.float32)).permute(0, 3, 1, 2)
    resized = F.interpolate(tensor, size=size, mode="bilinear", antialias=True, align_corners=False)
    return resized.permute(0, 2, 3, 1).numpy()
