"""``Run``: a trained run loaded from its folder; it hands every task-specific step to its task plug-in."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from meddl.data import ImagePreprocessor, TabularPreprocessor, read_table
from meddl.errors import DataError, MeddlError, UnlikeTrainingDataWarning, did_you_mean
from meddl.evaluation import ConformalClassifier, PlattScaler, TemperatureScaler
from meddl.models.ensemble import combine_outputs, member_outputs
from meddl.models.onnx import OnnxModel
from meddl.runs.config import upgrade_v1_config
from meddl.runs.folder import RunFolder
from meddl.runs.image_inputs import read_labelled_images, read_prediction_images
from meddl.runs.input_profile import InputCheck, read_input_profile
from meddl.runs.registry import get_task, load_config, names_a_config
from meddl.runs.result import RunInfo
from meddl.runs.supervised import encode_classes, output_to_scores

__all__ = ["Run", "load_run"]


class Run:
    """A trained run, loaded from its folder: ``predict``, ``evaluate``, ``recommend``, ``explain``, ``metrics``.

    Loading checks every file against the run's manifest (a run edited after
    training is refused, naming the file) and that this meddl reads the folder's format;
    files read later (``metrics``, the split) are held to the same manifest, and a file
    the manifest does not list is never used.

    Example:
        >>> run = meddl.load_run("runs/quickstart")       # doctest: +SKIP
        >>> run.predict("new_patients.csv")                 # doctest: +SKIP
    """

    def __init__(self, path: str | Path):
        self.folder = RunFolder(path).require()
        self.folder.check_integrity()
        self.path = self.folder.path
        self.info = self.folder.read_info()
        self.run_info = RunInfo.from_dict(self.info)
        self.task = self.run_info.task
        self.task_plugin = get_task(self.task)
        raw_config = self.folder.read_config()
        if self.run_info.format_version < 2:  # meddl 0.1.0 spelled out one schema shared by every task
            raw_config = upgrade_v1_config(raw_config, self.task_plugin.config_class)
        self.config = load_config(raw_config)
        self.model = self.task_plugin.load_model(self.folder, self.info)
        self.preprocessor = _load_preprocessor(self.folder)
        self.input_profile = read_input_profile(self.folder)
        self.class_names = self.run_info.class_names
        self.threshold = self.run_info.threshold
        self.calibrator = _load_calibrator(self.info.get("calibration"))
        self.conformal = ConformalClassifier.from_dict(self.info["conformal"]) if self.info.get("conformal") else None
        n_members = int((self.info.get("ensemble") or {}).get("members", 1))
        self.members = [self.model] if n_members == 1 else self.folder.load_members(n_members, first=self.model)
        # evaluation.tta, as the run applied it to its own predictions (runs without the key: none)
        self.tta = self.info.get("test_time_augmentation") or "none"
        self._onnx = None
        self._features_of = None  # (input, features(input)) while one prediction is being made
        # every file was read after the check: none may have been replaced meanwhile (a run of two folders' files)
        self.folder.confirm_unchanged()

    def onnx_model(self) -> OnnxModel:
        """The exported ``model.onnx`` under ONNX Runtime, checked against its export record when first loaded."""
        if self._onnx is None:
            self._onnx = OnnxModel(self.folder.file(RunFolder.ONNX), data=self.folder.read_export(RunFolder.ONNX))
        return self._onnx

    @property
    def metrics(self) -> dict:
        return self.folder.read_metrics()

    def __repr__(self) -> str:
        return f"Run('{self.path}', task={self.task!r})"

    # -- what the task does -------------------------------------------------
    def predict(self, data: Any, *, runtime: str = "torch") -> pd.DataFrame:
        """Predictions for raw input: a table (DataFrame, CSV/Parquet path) or images (array, file, folder, .npz).

        Classification: one ``prob_<class>`` column per class, ``predicted`` (with
        the run's threshold for two classes) and ``prediction_set`` (conformal)
        when the run has one. Regression: ``predicted``. Survival: risk, median
        survival and survival at each horizon. ``runtime="onnx"`` runs the
        exported ``model.onnx`` with ONNX Runtime instead of PyTorch (``meddl export`` first).
        Ensembles add the spread across members: ``prob_<class>_sd``, ``prob_<class>_low``
        and ``prob_<class>_high`` (a 95% interval; ``predicted_*`` for regression).
        Table runs add ``patient_id`` after ``row_id`` when the input holds the run's ``data.patient_id``
        column (as ``predictions_test.csv`` does), and ``warnings``: per row, the imputed columns, the columns outside the training range and
        "unlike the training data" (empty when none); a column empty or out of range in every row also
        raises an ``UnlikeTrainingDataWarning`` naming it.
        """
        predictions, check = self.predict_with_input_check(data, runtime=runtime)
        for message in check.column_warnings() if check is not None else ():
            warnings.warn(message, UnlikeTrainingDataWarning, stacklevel=2)
        return predictions

    def predict_with_input_check(self, data: Any, *, runtime: str = "torch") -> tuple[pd.DataFrame, InputCheck | None]:
        """``predict`` without the summary warnings: the predictions (with a ``warnings`` column for table
        runs) and the :class:`~meddl.runs.input_profile.InputCheck` behind it (``None`` for other runs)."""
        if self.input_profile is None or self.info["input"]["kind"] != "table":
            return self.task_plugin.predict(self, data, runtime=runtime), None
        frame = _as_frame(data, self.config.data)
        self._features_of = (frame, self.features(frame))  # the task's predict reuses them: transformed once
        try:
            predictions = self.task_plugin.predict(self, frame, runtime=runtime)
        finally:
            features, self._features_of = self._features_of[1][0], None
        check = self.input_profile.check(frame, self.preprocessor, features)
        predictions["warnings"] = check.row_warnings
        return self._with_patient_ids(predictions, frame), check

    def evaluate(self, data: Any, *, label: str | None = None, n_resamples: int = 1000, seed: int = 0) -> dict:
        """Score the saved model on new labelled data, with 95% CIs.

        ``data`` is a table (DataFrame or CSV/Parquet path holding the label column)
        or a config (YAML path or dict) whose ``data`` section names labelled data
        of the same kind; every row of it is scored. Two-class runs add ``recalibration``: the closed
        testing procedure's answer to whether these cases need the probabilities updated (none, the
        intercept, or intercept and slope), with the fitted updates. Survival runs read the run's
        duration and event columns instead of a label, score the run's horizons, and add the same
        answer for their curves (none, the baseline hazard, or baseline and slope;
        :func:`meddl.survival.survival_recalibration_test`).
        """
        return self.task_plugin.evaluate(self, data, label=label, n_resamples=n_resamples, seed=seed)

    def recalibrate(self, data: Any, out: str | Path, *, label: str | None = None, update: str = "auto",
                    alpha: float = 0.05) -> Any:
        """This run updated on another site's labelled cases, written as a new run folder ``out``; the
        closed testing procedure chooses the update (see :func:`meddl.runs.recalibrate_run`). Returns a
        ``SiteRecalibration``. Two-class and survival runs offer it."""
        return self.task_plugin.recalibrate(self, data, out, label=label, update=update, alpha=alpha)

    def recommend(self, data: Any) -> pd.DataFrame:
        """Per patient: outcome under each arm, effect with interval, recommended arm and benefit (treatment runs).

        Patients whose propensity lies outside the run's support get "no recommendation:
        outside the data's support" instead of a guess.
        """
        if self.info["input"]["kind"] != "table":
            return self.task_plugin.recommend(self, data)
        frame = _as_frame(data, self.config.data)
        # transformed here, where the file's name is known, so a column error names the file (as predict's do)
        if self.preprocessor is not None:
            self._features_of = (frame, (_transform_table(self.preprocessor, frame, data),
                                         np.asarray(frame.index.astype(str)), frame))
        try:
            table = self.task_plugin.recommend(self, frame)
        finally:
            self._features_of = None
        return self._with_patient_ids(table, frame)

    def _with_patient_ids(self, predictions: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
        """The input's ``data.patient_id`` column, when it has one, as ``patient_id`` after ``row_id``."""
        column = getattr(self.config.data, "patient_id", None)
        if column and column in frame.columns and "patient_id" not in predictions.columns:
            predictions.insert(int(predictions.columns.get_loc("row_id")) + 1 if "row_id" in predictions else 0,
                               "patient_id", frame[column].to_numpy())
        return predictions

    def explain(self, data: Any = None, **kwargs):
        """Explain predictions (attributions, Grad-CAM, with trust checks); what is explained depends on the task."""
        return self.task_plugin.explain(self, data, **kwargs)

    # -- inputs and outputs, for the task plug-ins -----------------------------
    def features(self, data: Any) -> tuple[np.ndarray, np.ndarray, pd.DataFrame | None]:
        """Turn raw input into model features; returns (features, row ids, the raw table or None)."""
        if self._features_of is not None and self._features_of[0] is data:
            return self._features_of[1]
        if self.preprocessor is None:
            raise MeddlError(f"'{self.path / RunFolder.PREPROCESSING}' is missing: this run cannot turn raw input "
                             f"into features. Train the run again.")
        if self.info["input"]["kind"] == "table":
            frame = _as_frame(data, self.config.data)
            return _transform_table(self.preprocessor, frame, data), np.asarray(frame.index.astype(str)), frame
        images, ids = read_prediction_images(data, self.config.data, self.info["input"]["input_shape"])
        return self.preprocessor.transform(images), ids, None

    def scores(self, x: np.ndarray, runtime: str = "torch") -> np.ndarray:
        """Probabilities (classification, calibrated as trained) or values (regression) for features ``x``."""
        if runtime == "onnx":
            if len(self.members) > 1:
                raise MeddlError(f"runtime 'onnx' runs one network, but this run is an ensemble of "
                                 f"{len(self.members)} members; use runtime='torch'.")
            if self.tta != "none":
                raise MeddlError(f"runtime 'onnx' runs one network on each image, but this run averages over "
                                 f"mirrored copies (evaluation.tta {self.tta!r}); use runtime='torch'.")
            logits = self.onnx_model().logits(x)
        elif runtime == "torch" and (len(self.members) > 1 or self.tta != "none"):
            logits = self.ensemble_outputs(x)[0]
        elif runtime == "torch":
            logits = self.model.predict_tensor(self.model._to_device(x), logits=True).cpu().numpy()
        else:
            raise MeddlError(f"The 'runtime' must be 'torch' or 'onnx'. Got {runtime!r} instead.")
        return self.scores_from_logits(logits)

    def ensemble_outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(combined, per_member)`` outputs of an ensemble's networks (with the run's test-time augmentation)."""
        classification = self.class_names is not None
        return combine_outputs(member_outputs(self.members, x, tta=self.tta, classification=classification),
                               classification)

    def scores_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """The network's logits → probabilities (with the run's calibration) or predictions (regression)."""
        return output_to_scores(np.asarray(logits, dtype=np.float64), self.class_names is not None, self.calibrator,
                                self.info.get("target_scaling"))

    def split_data(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """Features and encoded targets of one of the run's own splits, re-read from its data source."""
        assignment = self.folder.read_split()
        loaded = self.task_plugin.load_data(self.config)
        if len(loaded) != len(assignment):
            raise DataError(f"The run's data source now has {len(loaded)} rows but the run was trained on "
                            f"{len(assignment)}; the {split} split cannot be rebuilt.")
        rows = np.flatnonzero(assignment["split"].to_numpy() == split)
        features = loaded.features.iloc[rows] if loaded.kind == "table" else loaded.features[rows]
        x = self.preprocessor.transform(features)
        truth = loaded.target[rows]
        if self.class_names is not None:
            return x, encode_classes(truth, class_names=self.class_names)[0]
        return x, np.asarray(truth, dtype=np.float64)

    def labelled_data(self, data: Any, label: str | None) -> tuple[np.ndarray, np.ndarray]:
        """Features and raw labels of new labelled data: a table with the label column, or a config."""
        if names_a_config(data):
            loaded = self.task_plugin.load_data(load_config(data))
            if loaded.kind != self.info["input"]["kind"]:
                raise DataError(f"The run's model takes {self.info['input']['kind']}s; the evaluation data holds "
                                f"{loaded.kind}s.")
            return self.preprocessor.transform(loaded.features), loaded.target
        if self.info["input"]["kind"] == "image":  # a folder of class folders, or a MedMNIST .npz
            images, truth = read_labelled_images(data, self.config.data, self.info["input"]["input_shape"],
                                                 self.class_names)
            return self.preprocessor.transform(images), truth
        label = label or self.info.get("label")
        frame = _as_frame(data, self.config.data)
        where = f" '{data}'" if isinstance(data, (str, Path)) else ""
        if label not in frame.columns:
            raise DataError(f"The evaluation data{where} has no label column {label!r}."
                            f"{did_you_mean(label, map(str, frame.columns))} Columns: "
                            f"{list(map(str, frame.columns))[:20]}.")
        missing = int(frame[label].isna().sum())
        if missing:
            raise DataError(f"{missing} {'row' if missing == 1 else 'rows'} of the evaluation data{where} "
                            f"{'has' if missing == 1 else 'have'} a missing value in label column {label!r}.")
        return _transform_table(self.preprocessor, frame, data), frame[label].to_numpy()


def load_run(path: str | Path) -> Run:
    """Load a run folder written by ``meddl.train`` (every file is checked against the run's manifest)."""
    return Run(path)


def _load_preprocessor(folder: RunFolder):
    saved = folder.read_preprocessing()
    if saved is None:
        return None
    if saved.get("type") == "ImagePreprocessor":
        return ImagePreprocessor.from_dict(saved)
    return TabularPreprocessor.from_dict(saved)


def _load_calibrator(saved: dict | None):
    if not saved:
        return None
    return (PlattScaler if saved.get("type") == "PlattScaler" else TemperatureScaler).from_dict(saved)


def _transform_table(preprocessor, frame: pd.DataFrame, data: Any) -> np.ndarray:
    """The preprocessor's features of ``frame``; its errors name the file when ``data`` was one."""
    try:
        return preprocessor.transform(frame)
    except DataError as exc:
        if isinstance(data, (str, Path)):
            raise DataError(f"Table file '{data}': {exc}") from None
        raise


def _as_frame(data: Any, data_config=None) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame().T
    if isinstance(data, dict):
        return pd.DataFrame([data])
    if isinstance(data, (str, Path)):
        # the training file's encoding and separator (data.encoding, data.sep): exports from one system share them
        return read_table(data, encoding=getattr(data_config, "encoding", None), sep=getattr(data_config, "sep", None))
    raise DataError(f"Input for a table model must be a DataFrame, a dict (one patient) or a CSV/Parquet path; "
                    f"got {type(data).__name__}.")
