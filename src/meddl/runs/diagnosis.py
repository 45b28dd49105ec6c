"""The diagnosis (classification) and regression (progression scores) tasks, from tables or images.

Both train a Keras-style network through :func:`meddl.runs.supervised.train_supervised`
and share their ``data`` and ``model`` sections; diagnosis adds the decision
threshold, post-hoc calibration and conformal prediction sets.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator, model_validator

from meddl.errors import DataError
from meddl.evaluation import evaluate_predictions, recalibration_test
from meddl.models.presets import PRESETS
from meddl.runs.config import (IMAGE_SOURCES, DataConfig, EvaluationConfig, ModelConfig, RunConfig,
                               Section, ThresholdConfig)
from meddl.runs.datasets import LoadedData
from meddl.runs.explain import explain_run
from meddl.runs.log import RunLog
from meddl.runs.registry import Task, register_task
from meddl.runs.result import RunResult
from meddl.runs.site_recalibration import recalibrate_binary_run
from meddl.runs.site_records import SiteRecalibration
from meddl.runs.supervised import calibrated_members, encode_classes, load_supervised_data, prediction_frame, train_supervised
from meddl.models.ensemble import spread_columns

__all__ = ["SupervisedDataConfig", "PresetOptions", "NetworkModelConfig", "RegressionEvaluationConfig",
           "ClassificationEvaluationConfig", "DiagnosisConfig", "RegressionConfig", "DiagnosisTask", "RegressionTask"]


class SupervisedDataConfig(DataConfig):
    """Data with a label: a table's label column, or images with their labels."""

    source: Literal["csv", "parquet", "builtin", "medmnist", "image_folder", "dicom", "nifti"]

    label: str | None = None
    positive_class: str | None = None  # binary diagnosis: the class that counts as "positive" (disease)
    label_map: dict[str, str] | None = None  # merge label spellings, e.g. {"cancr": "cancer"}
    class_names: list[str] | None = None  # names for integer labels (e.g. MedMNIST)
    # images
    image_size: int | None = Field(None, gt=0)
    skip_unreadable: bool = False
    labels_csv: str | None = None
    file_column: str = "file"
    label_column: str = "label"
    window: tuple[float, float] | None = None  # DICOM or NIfTI: (center, width) mapped to [0, 1], e.g. [40, 400] for CT
    color: Literal["auto", "grayscale", "rgb"] = "auto"  # image folders: auto = grayscale unless an image is in colour

    @field_validator("positive_class", mode="before")
    @classmethod
    def _class_name_as_text(cls, value):
        """``positive_class: 1`` in YAML is the class '1' (meddl names classes by their text, as in the CSV)."""
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _check_images(self):
        if self.source in ("dicom", "nifti") and not self.labels_csv:
            raise ValueError(f"source '{self.source}' needs 'labels_csv', a CSV mapping each file to its label")
        return self

    def paths(self) -> list[Path]:
        return super().paths() + ([Path(self.labels_csv)] if self.labels_csv else [])


class PresetOptions(Section):
    """Settings of the network presets (``default``: ``units`` and ``dropout`` for tables, ``width`` and
    ``dropout`` for images)."""

    units: list[int] | None = None
    width: int | None = Field(None, gt=0)
    dropout: float | None = Field(None, ge=0, lt=1)
    augmentation: dict[str, Any] | None = None  # meddl 0.1.0; training.augmentation now

    @field_validator("units")
    @classmethod
    def _positive_units(cls, value):
        if value is not None and (not value or min(value) < 1):
            raise ValueError(f"must be a non-empty list of positive layer widths (got {value})")
        return value

    @field_validator("augmentation")
    @classmethod
    def _moved(cls, value):
        if value is not None:
            warnings.warn("model.options.augmentation is deprecated; use training.augmentation (a policy name or "
                          "its settings).", FutureWarning, stacklevel=2)
        return value


class NetworkModelConfig(ModelConfig):
    """A network preset by name, or Keras-style layers, plus transfer-learning options."""

    preset: str = "default"
    layers: list[dict[str, Any]] | None = None
    options: PresetOptions = PresetOptions()
    # transfer learning (meddl.models.transfer): start from another run's weights, matched by layer name and shape
    init_from: str | None = None  # a run folder (or a saved model folder)
    freeze: list[str] | None = None  # layer names, or "all_but_head"
    pretrained_learning_rate_factor: float = Field(1.0, gt=0, le=1)  # learning rate x this for loaded layers

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value):
        if value not in PRESETS:
            raise ValueError(f"must be one of {', '.join(PRESETS)} (got {value!r})")
        return value

    @field_validator("freeze", mode="before")
    @classmethod
    def _freeze_shorthand(cls, value):
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _check_transfer(self):
        if self.freeze and not self.init_from:
            raise ValueError("'freeze' keeps layers at their pretrained weights, so it needs 'init_from' "
                             "(a run folder to start from)")
        return self


class RegressionEvaluationConfig(EvaluationConfig):
    subgroups: list[str] = Field(default_factory=list)


class ClassificationEvaluationConfig(RegressionEvaluationConfig):
    threshold: ThresholdConfig = ThresholdConfig()
    # auto: none, temperature or Platt, whichever has the lowest cross-fitted validation log loss
    calibration: Literal["auto", "none", "temperature", "platt"] = "auto"
    # the rows that fit that map (meddl.runs.calibration_rows): auto = cross_fitted (5-fold out-of-fold logits over
    # the training and validation rows) for table runs with fewer than 300 validation rows, else validation
    calibration_rows: Literal["auto", "validation", "cross_fitted"] = "auto"
    conformal_coverage: float | None = Field(0.9, gt=0, lt=1)
    # test-time augmentation (image runs): average the probabilities over each image and its mirrored copies
    # (meddl.models.ensemble.TTA_FLIPS); false = none, true = horizontal. Validation, test and predict all use it.
    tta: Literal["none", "horizontal", "vertical", "horizontal_and_vertical"] = "none"

    @field_validator("tta", mode="before")
    @classmethod
    def _tta_switch(cls, value):
        if value is None or value is False:
            return "none"
        return "horizontal" if value is True else value


class DiagnosisConfig(RunConfig):
    task: Literal["diagnosis"]
    data: SupervisedDataConfig
    model: NetworkModelConfig = NetworkModelConfig()
    evaluation: ClassificationEvaluationConfig = ClassificationEvaluationConfig()

    @model_validator(mode="after")
    def _tta_for_images(self):
        if self.evaluation.tta != "none" and self.data.source not in IMAGE_SOURCES:
            raise ValueError(f"evaluation.tta {self.evaluation.tta!r} mirrors images, but data.source "
                             f"'{self.data.source}' is a table; test-time augmentation is for image sources "
                             f"({', '.join(IMAGE_SOURCES)}). Remove evaluation.tta (or set it to false).")
        return self


class RegressionConfig(RunConfig):
    task: Literal["regression"]
    data: SupervisedDataConfig
    model: NetworkModelConfig = NetworkModelConfig()
    evaluation: RegressionEvaluationConfig = RegressionEvaluationConfig()

    @model_validator(mode="after")
    def _tables_only(self):
        if self.data.source in IMAGE_SOURCES:
            raise ValueError(f"data.source '{self.data.source}' holds images, which meddl supports for task "
                             "'diagnosis' only; use a table for regression")
        return self


class SupervisedTask(Task):
    """A Keras-style network from a labelled table or images (the shared half of diagnosis and regression)."""

    classification: ClassVar[bool]

    def load_data(self, config: RunConfig) -> LoadedData:
        return load_supervised_data(config, classification=self.classification)

    def fit(self, config: RunConfig, *, log: RunLog) -> RunResult:
        return train_supervised(config, log=log, classification=self.classification)

    def predict(self, run: Any, data: Any, *, runtime: str = "torch") -> pd.DataFrame:
        """``prob_<class>`` columns, ``predicted`` (and ``prediction_set``), with the ensemble's spread."""
        x, ids, _ = run.features(data)
        if len(run.members) > 1 and runtime == "torch":
            combined, per_member = run.ensemble_outputs(x)
            return prediction_frame(ids, None, run.scores_from_logits(combined), run.class_names, run.threshold,
                                    run.conformal, extra=spread_columns(calibrated_members(per_member, run.calibrator),
                                                                        run.class_names,
                                                                        run.info.get("target_scaling")))
        return prediction_frame(ids, None, run.scores(x, runtime), run.class_names, run.threshold, run.conformal)

    def evaluate(self, run: Any, data: Any, *, label: str | None = None, n_resamples: int = 1000,
                 seed: int = 0) -> dict:
        """Metrics with 95% CIs on new labelled data (a table with the label column, or a config); for two
        classes also ``recalibration``: which update, if any, the run's probabilities need on these cases
        (:func:`meddl.evaluation.recalibration_test`)."""
        x, truth = run.labelled_data(data, label)
        scores = run.scores(x)
        if run.class_names is not None:
            y, _ = encode_classes(truth, class_names=run.class_names)
        else:
            y = pd.to_numeric(pd.Series(truth), errors="coerce").to_numpy(dtype=float)
            if not np.isfinite(y).all():
                raise DataError("The evaluation data's outcome column must be numeric and finite; "
                                f"{int((~np.isfinite(y)).sum())} rows are not.")
        result = evaluate_predictions(run.info["problem"], y, scores, threshold=run.threshold,
                                      class_names=run.class_names, n_resamples=n_resamples, seed=seed)
        if run.info["problem"] == "binary":
            try:
                result["recalibration"] = recalibration_test(y, scores)
            except DataError as exc:
                result["recalibration"] = {"recommended": None, "reason": f"not tested: {exc}"}
        return result

    def explain(self, run: Any, data: Any = None, **options: Any):
        return explain_run(run, data, **options)

    def recalibrate(self, run: Any, data: Any, out: str | Path, *, label: str | None = None, update: str = "auto",
                    alpha: float = 0.05) -> SiteRecalibration:
        """A two-class run's probabilities updated on a site's labelled cases, as a new run
        (:func:`~meddl.runs.site_recalibration.recalibrate_binary_run`)."""
        return recalibrate_binary_run(run, data, out, label=label, update=update, alpha=alpha)


@register_task
class DiagnosisTask(SupervisedTask):
    name = "diagnosis"
    config_class = DiagnosisConfig
    classification = True
    predicts = "class probabilities, the decision at the run's threshold and a conformal prediction set"


@register_task
class RegressionTask(SupervisedTask):
    name = "regression"
    config_class = RegressionConfig
    classification = False
    predicts = "the predicted value (with the ensemble's spread for ensembles)"
