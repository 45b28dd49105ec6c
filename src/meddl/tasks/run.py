"""Run folders: written atomically by ``meddl.train``, read back by ``meddl.load_run``.

A run folder holds everything needed to use the model later (a REST API or a
clinician's web page can serve straight from it)::

    config.yaml            the resolved config (every default spelled out)
    run.json               task, class names, threshold, input schema, data summary, ...
    model/                 the network (model.json + model.safetensors)
    preprocessing.json     the fitted preprocessing (tables or images)
    metrics.json           metrics with 95% CIs for the validation and test splits
    history.csv            loss and metrics per epoch
    split.csv              which rows went to train / val / test
    predictions_val.csv    validation predictions
    predictions_test.csv   test predictions
    train.log              what happened, with timestamps
    report.html            the report (self-contained)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meddl.errors import DataError, MeddlError, ModelFileError
from meddl.io import atomic_directory

__all__ = ["Run", "load_run", "write_run"]


def write_run(out: str | Path, result: dict[str, Any], log_text: str) -> Path:
    """Write a finished run to ``out`` atomically (an existing folder is replaced only when all is written)."""
    import yaml

    from meddl import __version__
    from meddl.evaluation._checks import json_safe

    out = Path(out)
    with atomic_directory(out) as tmp:
        (tmp / "config.yaml").write_text(yaml.safe_dump(result["config"].to_dict(), sort_keys=False), encoding="utf-8")
        info = {**result["info"], "meddl_version": __version__}
        (tmp / "run.json").write_text(json.dumps(json_safe(info), indent=2, allow_nan=False) + "\n", encoding="utf-8")
        result["model"].save(tmp / "model")
        if result.get("preprocessor") is not None:
            (tmp / "preprocessing.json").write_text(json.dumps(result["preprocessor"].to_dict(), indent=2) + "\n",
                                                    encoding="utf-8")
        (tmp / "metrics.json").write_text(json.dumps(json_safe(result["metrics"]), indent=2, allow_nan=False) + "\n",
                                          encoding="utf-8")
        if result.get("history") is not None:
            result["history"].to_frame().to_csv(tmp / "history.csv", index=False)
        result["split"].to_csv(tmp / "split.csv", index=False)
        for name, frame in result["predictions"].items():
            frame.to_csv(tmp / f"predictions_{name}.csv", index=False)
        for name, writer in result.get("extra_files", {}).items():
            writer(tmp / name)
        if result.get("report_sections"):
            (tmp / "report_sections.json").write_text(json.dumps([list(s) for s in result["report_sections"]]),
                                                      encoding="utf-8")
        (tmp / "train.log").write_text(log_text, encoding="utf-8")
        try:
            from meddl.evaluation import build_report

            build_report(tmp)  # includes report_sections.json
        except MeddlError as exc:  # the run is still valid without its report; say why in the log
            with open(tmp / "train.log", "a", encoding="utf-8") as handle:
                handle.write(f"Report not built: {exc}\n")
    return out


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise ModelFileError(f"'{path}' is missing: '{path.parent}' is not a complete meddl run folder.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"'{path}' is corrupted ({exc}).") from None


class Run:
    """A trained run, loaded from its folder: ``predict``, ``evaluate``, ``metrics``.

    Example:
        >>> run = meddl.load_run("runs/quickstart")       # doctest: +SKIP
        >>> run.predict("new_patients.csv")                 # doctest: +SKIP
    """

    def __init__(self, path: str | Path):
        from meddl.models import load_model
        from meddl.tasks.config import load_config

        self.path = Path(path)
        if not self.path.is_dir():
            raise ModelFileError(f"No run folder at '{self.path}'.")
        self.info = _read_json(self.path / "run.json")
        self.config = load_config(self.path / "config.yaml")
        if self.info.get("task") == "survival":
            from meddl.survival import load_survival_model

            self.model = load_survival_model(self.path / "model")
        elif self.info.get("task") == "treatment":
            from meddl.treatment import load

            self.model = load(self.path / "model")
        else:
            self.model = load_model(self.path / "model", device="cpu")
        self.preprocessor = self._load_preprocessor()
        self.task = self.info.get("task")
        self.class_names = self.info.get("class_names")
        self.threshold = self.info.get("threshold")
        self._calibrator = self._load_calibrator()
        self._conformal = self._load_conformal()
        self._onnx = None
        self.members = self._load_members()

    def _load_preprocessor(self):
        path = self.path / "preprocessing.json"
        if not path.is_file():
            return None
        data = _read_json(path)
        if data.get("type") == "ImagePreprocessor":
            from meddl.tasks.image_preprocessing import ImagePreprocessor

            return ImagePreprocessor.from_dict(data)
        from meddl.data import TabularPreprocessor

        return TabularPreprocessor.from_dict(data)

    def _load_members(self) -> list:
        """Ensemble runs: every member (``model/``, ``model_1/``, ...); otherwise ``[self.model]``."""
        n_members = int((self.info.get("ensemble") or {}).get("members", 1))
        if n_members == 1:
            return [self.model]
        from meddl.tasks.ensemble import load_members

        return load_members(self.path, n_members, first=self.model)

    def _ensemble_outputs(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        from meddl.tasks.ensemble import combine_outputs, member_outputs

        return combine_outputs(member_outputs(self.members, x), self.class_names is not None)

    def _load_calibrator(self):
        saved = self.info.get("calibration")
        if not saved:
            return None
        from meddl.evaluation import PlattScaler, TemperatureScaler

        cls = PlattScaler if saved.get("type") == "PlattScaler" else TemperatureScaler
        return cls.from_dict(saved)

    def _load_conformal(self):
        saved = self.info.get("conformal")
        if not saved:
            return None
        from meddl.evaluation import ConformalClassifier

        return ConformalClassifier.from_dict(saved)

    @property
    def metrics(self) -> dict:
        return _read_json(self.path / "metrics.json")

    def __repr__(self) -> str:
        return f"Run('{self.path}', task={self.task!r})"

    # -- inputs ------------------------------------------------------------
    def features(self, data: Any) -> tuple[np.ndarray, np.ndarray, pd.DataFrame | None]:
        """Turn raw input into model features; returns (features, row ids, the raw table or None)."""
        kind = self.info["input"]["kind"]
        if kind == "table":
            frame = _as_frame(data)
            return self.preprocessor.transform(frame), np.asarray(frame.index.astype(str)), frame
        images, ids = _as_images(data)
        return self.preprocessor.transform(images), ids, None

    def _scores(self, x: np.ndarray, runtime: str = "torch") -> np.ndarray:
        if runtime == "onnx":
            from meddl.deployment import OnnxModel

            if len(self.members) > 1:
                raise MeddlError(f"runtime 'onnx' runs one network, but this run is an ensemble of "
                                 f"{len(self.members)} members; use runtime='torch'.")

            if self._onnx is None:
                self._onnx = OnnxModel(self.path / "model.onnx")
            logits = self._onnx.logits(x)
        elif runtime == "torch" and len(self.members) > 1:
            logits = self._ensemble_outputs(x)[0]
        elif runtime == "torch":
            logits = self.model.predict_tensor(self.model._to_device(x), logits=True).cpu().numpy()
        else:
            raise MeddlError(f"The 'runtime' must be 'torch' or 'onnx'. Got {runtime!r} instead.")
        return self.scores_from_logits(logits)

    def explain(self, data: Any = None, **kwargs):
        """Explain predictions: :func:`meddl.explain.explain_run` (diagnosis, regression, with trust checks) or
        :func:`meddl.explain.explain_outcome_run` (the risk score of survival runs, the effect of treatment runs)."""
        from meddl.explain import explain_outcome_run, explain_run

        if self.task in ("survival", "treatment"):
            return explain_outcome_run(self, data, **kwargs)
        return explain_run(self, data, **kwargs)

    def recommend(self, data: Any) -> pd.DataFrame:
        """Per patient: outcome under each arm, effect with interval, recommended arm and benefit (treatment runs).

        Patients whose propensity lies outside the run's support get "no recommendation:
        outside the data's support" instead of a guess.
        """
        from meddl.tasks.treatment import LinearPropensity
        from meddl.treatment import recommend

        if self.task != "treatment":
            raise MeddlError(f"Run.recommend is for treatment runs; this run's task is {self.task!r}.")
        x, ids, _ = self.features(data)
        propensity = LinearPropensity.from_dict(self.info["propensity"]).predict_propensity(x)
        lower, upper = self.info["support"]
        table = recommend(self.model, x, propensity=propensity, higher_is_better=self.info["higher_is_better"],
                          lower=lower, upper=upper, index=pd.Index(ids, name="row_id"))
        return table.reset_index()

    def scores_from_logits(self, logits: np.ndarray) -> np.ndarray:
        """The network's logits → probabilities (with the run's calibration) or predictions (regression)."""
        from meddl.tasks.supervised import output_to_scores

        return output_to_scores(np.asarray(logits, dtype=np.float64), self.class_names is not None, self._calibrator,
                                self.info.get("target_scaling"))

    def split_data(self, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
        """Features and encoded targets of one of the run's own splits, re-read from its data source."""
        from meddl.tasks.datasets import load_data
        from meddl.tasks.supervised import encode_classes

        assignment = pd.read_csv(self.path / "split.csv", dtype={"row_id": str})
        loaded = load_data(self.config.data, task=self.task)
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

    def predict(self, data: Any, *, runtime: str = "torch") -> pd.DataFrame:
        """Predictions for raw input: a table (DataFrame, CSV/Parquet path) or images (array, file, folder, .npz).

        Classification: one ``prob_<class>`` column per class, ``predicted`` (with
        the run's threshold for two classes) and ``prediction_set`` (conformal)
        when the run has one. Regression: ``predicted``. ``runtime="onnx"`` runs the
        exported ``model.onnx`` with ONNX Runtime instead of PyTorch (``meddl export`` first).
        Ensembles add the spread across members: ``prob_<class>_sd``, ``prob_<class>_low``
        and ``prob_<class>_high`` (a 95% interval; ``predicted_*`` for regression).
        """
        from meddl.tasks.supervised import prediction_frame

        if self.task == "survival":
            from meddl.tasks.survival import survival_prediction_frame

            x, ids, _ = self.features(data)
            return survival_prediction_frame(self.model, x, ids, self.info["horizons"])
        if self.task not in ("diagnosis", "regression"):
            raise MeddlError(f"Run.predict is for diagnosis and regression runs; this run's task is {self.task!r}.")
        x, ids, _ = self.features(data)
        if len(self.members) > 1 and runtime == "torch":
            from meddl.tasks.ensemble import spread_columns

            combined, per_member = self._ensemble_outputs(x)
            return prediction_frame(ids, None, self.scores_from_logits(combined), self.class_names, self.threshold,
                                    self._conformal, extra=spread_columns(per_member, self.class_names,
                                                                          self.info.get("target_scaling")))
        scores = self._scores(x, runtime)
        return prediction_frame(ids, None, scores, self.class_names, self.threshold, self._conformal)

    def evaluate(self, data: Any, *, label: str | None = None, n_resamples: int = 1000, seed: int = 0) -> dict:
        """Score the saved model on new labelled data, with 95% CIs.

        ``data`` is a table (DataFrame or CSV/Parquet path holding the label column)
        or a config (YAML path or dict) whose ``data`` section names labelled data
        of the same kind; every row of it is scored.
        """
        from meddl.evaluation import evaluate_predictions
        from meddl.tasks.supervised import encode_classes

        if self.task not in ("diagnosis", "regression"):
            raise MeddlError(f"Run.evaluate is for diagnosis and regression runs; this run's task is {self.task!r}.")
        x, truth = self._labelled(data, label)
        scores = self._scores(x)
        if self.class_names is not None:
            y, _ = encode_classes(truth, class_names=self.class_names)
        else:
            y = pd.to_numeric(pd.Series(truth), errors="coerce").to_numpy(dtype=float)
        return evaluate_predictions(self.info["problem"], y, scores, threshold=self.threshold,
                                    class_names=self.class_names, n_resamples=n_resamples, seed=seed)

    def _labelled(self, data: Any, label: str | None) -> tuple[np.ndarray, np.ndarray]:
        is_config = isinstance(data, dict) or (isinstance(data, (str, Path)) and str(data).endswith((".yaml", ".yml")))
        if is_config:
            from meddl.tasks.config import load_config
            from meddl.tasks.datasets import load_data

            config = load_config(data)
            loaded = load_data(config.data, task=self.task)
            if loaded.kind != self.info["input"]["kind"]:
                raise DataError(f"The run's model takes {self.info['input']['kind']}s; the evaluation data holds "
                                f"{loaded.kind}s.")
            features = loaded.features
            x = self.preprocessor.transform(features)
            return x, loaded.target
        label = label or self.info.get("label")
        frame = _as_frame(data)
        if label not in frame.columns:
            raise DataError(f"The evaluation data has no label column {label!r}; columns: {list(map(str, frame.columns))[:20]}.")
        if frame[label].isna().any():
            raise DataError(f"{int(frame[label].isna().sum())} rows have a missing value in label column {label!r}.")
        return self.preprocessor.transform(frame), frame[label].to_numpy()


def load_run(path: str | Path) -> Run:
    """Load a run folder written by ``meddl.train``."""
    return Run(path)


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, pd.Series):
        return data.to_frame().T
    if isinstance(data, dict):
        return pd.DataFrame([data])
    if isinstance(data, (str, Path)):
        from meddl.data import read_table

        return read_table(data)
    raise DataError(f"Input for a table model must be a DataFrame, a dict (one patient) or a CSV/Parquet path; "
                    f"got {type(data).__name__}.")


def _as_images(data: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(data, np.ndarray):
        return data, np.asarray([str(i) for i in range(len(data))])
    if isinstance(data, (str, Path)):
        path = Path(data)
        if path.suffix == ".npz":
            from meddl.data import load_medmnist_npz

            split = load_medmnist_npz(path)
            name = "test" if "test" in split else next(iter(split))
            images = split[name][0]
            return images, np.asarray([f"{name}-{i}" for i in range(len(images))])
        if path.is_dir() or path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            return _read_plain_images(path)
        if path.suffix.lower() in (".dcm", ""):
            from meddl.data import read_dicom_image

            image = read_dicom_image(path)
            return image[None] if image.ndim == 3 else image[None, ..., None], np.asarray([str(path)])
        if path.name.endswith((".nii", ".nii.gz")):
            from meddl.data import read_nifti

            image = read_nifti(path)
            return image[None, ..., None] if image.ndim == 2 else image[None], np.asarray([str(path)])
    raise DataError(f"Input for an image model must be an array (N, H, W[, C]), an image file, a folder of images "
                    f"or a MedMNIST .npz; got {data!r:.100}.")


def _read_plain_images(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, UnidentifiedImageError

    files = sorted(p for p in (path.rglob("*") if path.is_dir() else [path])
                   if p.suffix.lower() in (".png", ".jpg", ".jpeg") and not p.name.startswith("."))
    if not files:
        raise DataError(f"No PNG or JPEG images found in '{path}'.")
    arrays = []
    for file in files:
        try:
            with Image.open(file) as image:
                arrays.append(np.asarray(image.convert("L") if image.mode in ("L", "I;16", "I") else image.convert("RGB")))
        except (OSError, UnidentifiedImageError) as exc:
            raise DataError(f"Cannot read image '{file}': {exc}.") from None
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        from meddl.tasks.datasets import _resize

        target = arrays[0].shape[:2]
        arrays = [a if a.shape[:2] == target else _resize((a[..., None] if a.ndim == 2 else a)[None].astype(np.float32), target)[0].squeeze()
                  for a in arrays]
    stacked = np.stack(arrays)
    return (stacked[..., None] if stacked.ndim == 3 else stacked), np.asarray([str(f) for f in files])
