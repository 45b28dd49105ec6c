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

import meddl.data as readers
from meddl.data import (apply_label_map, check_label_spellings, check_no_identifier_features, load_builtin, read_table,
                        resize_images, train_val_test_split)
from meddl.data.split_override import active_split_override
from meddl.errors import ConfigError, DataError, did_you_mean
from meddl.runs.config import COLUMN_ROLES, IMAGE_SOURCES, DataConfig, SplitConfig

__all__ = ["LoadedData", "PreparedSplits", "load_data", "load_images", "table_columns", "read_frame", "split_rows",
           "split_labels", "missingness", "table_schema", "SOURCE_SUFFIXES", "check_source_matches_path",
           "check_image_options"]

#: The file name endings each file source reads. A path ending in another source's suffix contradicts data.source,
#: which meddl does not treat as a hint: reading ``x.csv`` as CSV under ``source: parquet`` hid a config mistake.
SOURCE_SUFFIXES = {"csv": (".csv", ".tsv", ".csv.gz", ".tsv.gz"), "parquet": (".parquet",),
                   "deepsurv_h5": (".h5", ".hdf5"), "ihdp": (".csv",), "medmnist": (".npz",)}


def check_source_matches_path(data: DataConfig) -> None:
    """Raise :class:`ConfigError` when ``data.path``'s suffix belongs to another source than ``data.source``.

    A suffix no source claims is left to the reader, which names the file and what it can read. Checked when the
    data is read rather than in ``DataConfig``'s validator: a run's config is validated again whenever the run is
    loaded, and a run trained before this check must still load.
    """
    expected = SOURCE_SUFFIXES.get(data.source)
    if not expected or not data.path:
        return
    name = Path(data.path).name.lower()
    if name.endswith(expected):
        return
    endings = sorted({e for ends in SOURCE_SUFFIXES.values() for e in ends}, key=len, reverse=True)
    suffix = next((e for e in endings if name.endswith(e)), None)
    if suffix is None:
        return
    reader = next(s for s, ends in SOURCE_SUFFIXES.items() if suffix in ends)
    raise ConfigError(f"data.source is {data.source!r} but data.path '{data.path}' ends in {suffix!r}, which source "
                      f"{reader!r} reads. Set data.source: {reader}, or point data.path at a {' / '.join(expected)} "
                      f"file.")


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
        label: the target column's name, if any.
        source: where the data came from, in words.
        notes: lines for the run log.
        outcomes: a task's other per-row arrays (durations, events, treatment arms, true effects).
        columns: names of the columns those arrays came from (``{"duration": "time", ...}``).
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
    outcomes: dict[str, np.ndarray] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.features)


def table_columns(frame: pd.DataFrame, data: DataConfig, reserved: list[str], where: str) -> list[str]:
    """The feature columns: ``data.features`` if given, else every column not reserved (label, ids, ...)."""
    missing = [c for c in reserved if c not in frame.columns]
    if missing:
        keys = [f"data.{role}" for role in COLUMN_ROLES if getattr(data, role, None) == missing[0]]
        raise DataError(f"{keys[0] if keys else 'The config'}: column {missing[0]!r} is not in {where}."
                        f"{did_you_mean(str(missing[0]), map(str, frame.columns))} {_available(frame)}")
    if data.features:
        absent = [c for c in data.features if c not in frame.columns]
        if absent:
            raise DataError(f"data.features lists column(s) {absent} that are not in {where}."
                            f"{did_you_mean(str(absent[0]), map(str, frame.columns))} {_available(frame)}")
        clash = [c for c in data.features if c in reserved]
        if clash:
            raise ConfigError(f"data.features must not include {clash}: they are the label, ids or outcome columns.")
        return list(data.features)
    excluded = list(data.exclude or [])
    absent = [c for c in excluded if c not in frame.columns]
    if absent:
        raise DataError(f"data.exclude lists column(s) {absent} that are not in {where}."
                        f"{did_you_mean(str(absent[0]), map(str, frame.columns))} {_available(frame)}")
    columns = [c for c in frame.columns if c not in reserved and c not in excluded]
    check_no_identifier_features(frame, columns, where=where)  # data.features, when given, is taken as meant
    return columns


def _available(frame: pd.DataFrame, shown: int = 30) -> str:
    """The table's columns for an error message, saying how many were left out of a long list."""
    names = list(map(str, frame.columns))
    more = f" (the first {shown} of {len(names)})" if len(names) > shown else ""
    return f"Available columns{more}: {names[:shown]}."


def read_frame(data: DataConfig) -> tuple[pd.DataFrame, dict]:
    """The table a data section names, and the defaults a built-in data set brings (label, duration, ...)."""
    check_source_matches_path(data)
    if data.source == "builtin":
        dataset = load_builtin(data.name or data.path)
        defaults = {"label": dataset.label_column, "duration": dataset.duration_column, "event": dataset.event_column,
                    "class_names": dataset.class_names, "description": dataset.description}
        return dataset.frame, defaults
    return read_table(data.path, encoding=data.encoding, sep=data.sep), {}


def load_data(data: DataConfig, *, classification: bool, extra_columns: list[str] | None = None) -> LoadedData:
    """Load a labelled table or images as the config says (images need ``classification``: meddl diagnoses them)."""
    if data.source in IMAGE_SOURCES:
        if not classification:
            raise ConfigError(f"data.source '{data.source}' holds images, which meddl supports for task 'diagnosis' "
                              f"only; use a table for this task.")
        return _checked_classes(load_images(data), data)
    frame, defaults = read_frame(data)
    where = f"'{data.path}'" if data.path else f"built-in data set '{data.name}'"
    label = data.label or defaults.get("label")
    if not label:
        raise ConfigError(f"data.label: a table needs 'label', the column holding the {'diagnosis' if classification else 'outcome'}.")
    if label not in frame.columns:
        raise DataError(f"data.label: column {label!r} is not in {where}.{did_you_mean(label, map(str, frame.columns))} "
                        f"{_available(frame)}")
    reserved = [label] + [c for c in (data.patient_id,) if c] + list(extra_columns or [])
    columns = table_columns(frame, data, reserved, where)
    target = frame[label]
    missing = int(target.isna().sum())
    if missing:
        raise DataError(f"{missing} {'row has' if missing == 1 else 'rows have'} a missing value in label column "
                        f"{label!r}; drop or fill them before training.")
    class_names = defaults.get("class_names")
    values = target.to_numpy()
    if class_names is not None and classification:
        values = np.asarray([class_names[int(v)] for v in values], dtype=object)
    if classification:
        values = apply_label_map(values, data.label_map, label=label)
        check_label_spellings(values, label=label)
    groups = frame[data.patient_id].to_numpy() if data.patient_id else None
    if groups is not None and pd.isna(groups).any():
        raise DataError(f"Column {data.patient_id!r} (data.patient_id) has {int(pd.isna(groups).sum())} missing ids.")
    return LoadedData(kind="table", features=frame[columns], target=values, frame=frame,
                      row_ids=np.asarray(frame.index.astype(str)), groups=groups,
                      class_names=None, label=label, source=f"built-in data set '{data.name}'" if data.source == "builtin" else where)


def _checked_classes(loaded: LoadedData, data: DataConfig) -> LoadedData:
    """Image labels get the same spelling check and ``data.label_map`` as table labels."""
    label_map = data.label_map
    loaded.target = apply_label_map(loaded.target, label_map, label="the image labels")
    if label_map and loaded.class_names is not None:
        loaded.class_names = list(dict.fromkeys(str(label_map.get(n, n)) for n in loaded.class_names))
    check_label_spellings(loaded.target, label="the image labels")
    return loaded


def load_images(data: DataConfig) -> LoadedData:
    """Read MedMNIST, image folders, DICOM or NIfTI into one image array with labels."""
    check_source_matches_path(data)
    check_image_options(data)
    loaded = _read_images(data)
    if loaded.features.ndim == 5:
        shape = "x".join(map(str, loaded.features.shape[1:4]))
        raise DataError(f"data.source '{data.source}': {loaded.source} holds 3-D volumes (e.g. '{loaded.row_ids[0]}', "
                        f"{'resized to ' if data.image_size else ''}{shape}); meddl's image models take 2-D images. "
                        f"Save one 2-D slice (or DICOM frame) per file.")
    return loaded


#: The image options of a data section, and the sources that read each: set for another source it would do nothing.
_IMAGE_OPTION_SOURCES = {"window": ("dicom", "nifti"), "labels_csv": ("dicom", "nifti"), "color": ("image_folder",)}


def check_image_options(data: DataConfig) -> None:
    """Raise :class:`ConfigError` for an image option the source does not read (``window`` for NIfTI, ...).

    Checked when the data is read, as :func:`check_source_matches_path` is, so that a run trained before this
    check still loads.
    """
    for option, sources in _IMAGE_OPTION_SOURCES.items():
        value = getattr(data, option, None)
        if value is not None and value != "auto" and data.source not in sources:
            raise ConfigError(f"data.{option} is set ({value!r}), but data.source '{data.source}' does not read it: "
                              f"it applies to source {' and '.join(repr(s) for s in sources)} only"
                              + (" (an image folder's labels are its subfolder names)." if option == "labels_csv"
                                 else ".") + f" Remove data.{option}.")


def _read_images(data: DataConfig) -> LoadedData:
    size = data.image_size
    if data.source == "medmnist":
        if data.path:
            splits = readers.load_medmnist_npz(data.path, all_splits=False)
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
            x = resize_images(x, size)
        y = np.concatenate(labels)
        names = data.class_names or [str(i) for i in range(int(y.max()) + 1)]
        if int(y.max()) >= len(names):
            raise ConfigError(f"data.class_names has {len(names)} names, but {where} has labels up to {int(y.max())}.")
        return LoadedData(kind="image", features=x, target=np.asarray([names[int(v)] for v in y], dtype=object),
                          row_ids=np.asarray(ids), split=np.asarray(split), class_names=names, source=where, notes=notes)
    if data.source == "image_folder":
        dataset = readers.read_image_folder(data.path, image_size=size, color=getattr(data, "color", "auto"),
                                            skip_unreadable=data.skip_unreadable)
    elif data.source == "dicom":
        dataset = readers.read_dicom_dataset(data.path, data.labels_csv, file_column=data.file_column,
                                             label_column=data.label_column, image_size=size, window=data.window,
                                             skip_unreadable=data.skip_unreadable)
    else:
        dataset = readers.read_nifti_dataset(data.path, data.labels_csv, file_column=data.file_column,
                                             label_column=data.label_column, image_size=size, window=data.window,
                                             skip_unreadable=data.skip_unreadable)
    names = data.class_names or list(dataset.class_names)
    target = np.asarray([names[int(v)] for v in dataset.labels], dtype=object)
    notes = list(dataset.notes)
    if dataset.skipped:
        notes.append(f"{len(dataset.skipped)} unreadable file(s) skipped (data.skip_unreadable).")
    return LoadedData(kind="image", features=dataset.images, target=target,
                      row_ids=np.asarray([str(Path(p)) for p in dataset.paths]), class_names=names,
                      source=f"'{data.path}'", notes=notes)


@dataclass
class PreparedSplits:
    """Row positions of the train, validation and test splits, and what the log should say about them."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    notes: list[str]

    def items(self) -> list[tuple[str, np.ndarray]]:
        return [("train", self.train), ("val", self.val), ("test", self.test)]


def split_rows(data: LoadedData, y: np.ndarray | None, split: SplitConfig, stratify=None) -> PreparedSplits:
    """The data's own split if it has one, else a seeded, stratified, patient-grouped split; then the active
    :func:`~meddl.data.split_override.split_override` plan, if any (tuning, nested cross-validation)."""
    splits = _own_or_seeded_split(data, y, split, stratify)
    plan = active_split_override()
    return plan(data, splits) if plan is not None else splits


def _own_or_seeded_split(data: LoadedData, y: np.ndarray | None, split: SplitConfig, stratify=None) -> PreparedSplits:
    if data.split is not None:
        parts = [np.flatnonzero(data.split == name) for name in ("train", "val", "test")]
        if not all(len(part) for part in parts):
            raise DataError("The data's own split must have 'train', 'val' and 'test' rows.")
        return PreparedSplits(*parts, notes=["Used the data's own train/val/test split."])
    if not split.val_size or not split.test_size:
        raise ConfigError("data.split: val_size and test_size must both be > 0 (validation picks the epoch and the "
                          "threshold; test gives the unbiased estimate).")
    indices = train_val_test_split(y if stratify is None else len(y) if y is not None else len(data),
                                   val_size=split.val_size, test_size=split.test_size,
                                   stratify=stratify, groups=data.groups, seed=split.seed)
    train, val, test = (np.asarray(i) for i in indices)
    notes = [f"Split {len(train)}/{len(val)}/{len(test)} rows (train/val/test), seed {split.seed}"
             + (", stratified" if getattr(indices, "stratified", False) else "")
             + (", grouped by patient" if data.groups is not None else "") + "."]
    notes += list(getattr(indices, "notes", ()))
    return PreparedSplits(train, val, test, notes)


def split_labels(n_rows: int, splits: PreparedSplits) -> np.ndarray:
    """``train``/``val``/``test``/``unused`` per row, for split.csv."""
    labels = np.full(n_rows, "unused", dtype=object)
    for name, rows in splits.items():
        labels[rows] = name
    return labels


def missingness(frame: pd.DataFrame) -> dict[str, float]:
    """The share of missing values of each column that has any."""
    fractions = frame.isna().mean()
    return {str(c): float(v) for c, v in fractions.items() if v > 0}


def table_schema(features: pd.DataFrame, preprocessor) -> dict:
    """``run.json``'s input schema of a table model: each column's name, dtype and type."""
    return {"kind": "table", "columns": [{"name": str(c), "dtype": str(features[c].dtype),
                                          "type": "categorical" if c in preprocessor.categorical_columns_ else "numeric"}
                                         for c in preprocessor.input_columns_]}
