"""Run configuration: YAML (or a dict) validated by pydantic, mapping one-to-one onto ``meddl.train``.

A config with only ``task`` and ``data`` works; every other section has good
defaults. Errors name the key that is wrong, e.g.
``data.label: a table needs 'label', the column holding the diagnosis``.

Example::

    task: diagnosis
    data:
      source: csv
      path: patients.csv
      label: diagnosis
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from meddl.errors import ConfigError, did_you_mean

__all__ = ["RunConfig", "DataConfig", "ModelConfig", "TrainingConfig", "EvaluationConfig", "AugmentationConfig",
           "LossConfig", "load_config", "TASKS", "SOURCES", "TABLE_SOURCES", "IMAGE_SOURCES", "AUGMENTATION_POLICIES"]

TASKS = ("diagnosis", "regression", "survival", "treatment")
TABLE_SOURCES = ("csv", "parquet", "builtin", "deepsurv_h5", "ihdp")
IMAGE_SOURCES = ("medmnist", "image_folder", "dicom", "nifti")
SOURCES = TABLE_SOURCES + IMAGE_SOURCES
AUGMENTATION_POLICIES = ("none", "light", "medium", "strong")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SplitConfig(_Section):
    """How rows are split when the data has no split of its own."""

    val_size: float = Field(0.15, ge=0, lt=1)
    test_size: float = Field(0.15, ge=0, lt=1)
    seed: int = Field(0, ge=0)


class DataConfig(_Section):
    """Where the data is and what its columns mean."""

    source: Literal["csv", "parquet", "builtin", "deepsurv_h5", "ihdp", "medmnist", "image_folder", "dicom", "nifti"]
    path: str | None = None
    name: str | None = None  # for builtin / medmnist:<name>
    label: str | None = None
    positive_class: str | None = None  # binary diagnosis: the class that counts as "positive" (disease)
    class_names: list[str] | None = None  # names for integer labels (e.g. MedMNIST)
    patient_id: str | None = None
    features: list[str] | None = None
    numeric: list[str] | None = None
    categorical: list[str] | None = None
    split: SplitConfig = SplitConfig()
    # images
    image_size: int | None = Field(None, gt=0)
    skip_unreadable: bool = False
    labels_csv: str | None = None
    file_column: str = "file"
    label_column: str = "label"
    window: tuple[float, float] | None = None
    # survival and treatment
    duration: str | None = None
    event: str | None = None
    treatment: str | None = None
    treatment_column: int | None = None
    outcome: str | None = None

    @model_validator(mode="after")
    def _check_required(self):
        if self.source == "builtin" and not (self.name or self.path):
            raise ValueError("source 'builtin' needs 'name', e.g. name: wisconsin-breast-cancer")
        if self.source == "medmnist" and not (self.name or self.path):
            raise ValueError("source 'medmnist' needs 'path' (an .npz file) or 'name' (e.g. pneumoniamnist)")
        if self.source not in ("builtin", "medmnist") and not self.path:
            raise ValueError(f"source '{self.source}' needs 'path'")
        if self.source in ("dicom", "nifti") and not self.labels_csv:
            raise ValueError(f"source '{self.source}' needs 'labels_csv', a CSV mapping each file to its label")
        return self


class ModelConfig(_Section):
    """A preset by name, or Keras-style layers, plus transfer-learning options."""

    preset: str = "default"
    layers: list[dict[str, Any]] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    # transfer learning (meddl.tasks.transfer): start from another run's weights, matched by layer name and shape
    init_from: str | None = None  # a run folder (or a saved model folder)
    freeze: list[str] | None = None  # layer names, or "all_but_head"
    pretrained_learning_rate_factor: float = Field(1.0, gt=0, le=1)  # learning rate x this for loaded layers

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


class EarlyStoppingConfig(_Section):
    patience: int = Field(15, ge=0)
    monitor: str | None = None  # default: val_auc for classification, val_loss otherwise


class AugmentationConfig(_Section):
    """Image augmentation while training (never at inference): a named policy, then overrides.

    Geometry: ``flip``, ``rotation`` (degrees), affine ``scale``/``translate``
    (fractions)/``shear`` (degrees), ``elastic`` (pixels); intensity:
    ``contrast``, ``brightness``, ``gamma``; ``noise`` (Gaussian sd, images in
    [0, 1]); ``mixup`` (Beta(alpha, alpha) mixing of images and labels; 0 = off).
    """

    policy: Literal["none", "light", "medium", "strong"] = "none"
    flip: Literal["none", "horizontal", "vertical", "horizontal_and_vertical"] | None = None
    rotation: float | None = Field(None, ge=0, le=180)
    scale: float | None = Field(None, ge=0, lt=1)
    translate: float | None = Field(None, ge=0, le=0.5)
    shear: float | None = Field(None, ge=0, le=45)
    elastic: float | None = Field(None, ge=0, le=20)
    elastic_spacing: int | None = Field(None, ge=2)
    contrast: float | None = Field(None, ge=0, le=1)
    brightness: float | None = Field(None, ge=0, le=1)
    gamma: float | None = Field(None, ge=0, le=1)
    noise: float | None = Field(None, ge=0, le=1)
    mixup: float | None = Field(None, ge=0)


class LossConfig(_Section):
    """The training loss: ``auto`` (cross-entropy, or MSE for regression) or ``focal`` (diagnosis)."""

    name: Literal["auto", "cross_entropy", "focal"] = "auto"
    gamma: float = Field(2.0, ge=0)  # focal: (1 - p_t)^gamma; 0 is cross-entropy


class TrainingConfig(_Section):
    epochs: int | None = Field(None, ge=1)  # None: the preset's default (tables 200, images 40)
    batch_size: int | None = Field(32, ge=1)
    optimizer: str = "adam"
    learning_rate: float | None = Field(None, gt=0)
    seed: int = Field(0, ge=0)
    early_stopping: EarlyStoppingConfig | None = EarlyStoppingConfig()
    class_weight: Literal["auto", "balanced", "none"] = "auto"
    augmentation: bool | str | AugmentationConfig | None = None  # None: light for images, off for tables; true = light
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "fp32"
    device: str = "auto"
    verbose: int = Field(0, ge=0, le=2)
    ensemble: int = Field(1, ge=1, le=50)  # members trained with seeds seed, seed+1, ...; probabilities averaged
    sampling: Literal["shuffle", "balanced"] = "shuffle"  # balanced: every class equally often per epoch
    loss: LossConfig = LossConfig()

    @field_validator("augmentation", mode="before")
    @classmethod
    def _augmentation_name(cls, value):
        if isinstance(value, str) and value not in AUGMENTATION_POLICIES:
            raise ValueError(f"must be one of {', '.join(AUGMENTATION_POLICIES)}, true/false or a mapping."
                             f"{did_you_mean(value, AUGMENTATION_POLICIES)}")
        if isinstance(value, dict):  # validated here so errors name the key, not every member of the union
            try:
                return AugmentationConfig.model_validate(value)
            except ValidationError as exc:
                problems = []
                for item in exc.errors():
                    key = ".".join(str(p) for p in item["loc"])
                    if item["type"] == "extra_forbidden":
                        problems.append(f"unknown key '{key}'.{did_you_mean(key, AugmentationConfig.model_fields)}")
                    else:
                        problems.append(f"{key}: {item['msg']} (got {item.get('input')!r})")
                raise ValueError("; ".join(problems)) from None
        if not isinstance(value, (bool, str, AugmentationConfig, type(None))):
            raise ValueError(f"must be one of {', '.join(AUGMENTATION_POLICIES)}, true/false or a mapping")
        return value

    @field_validator("loss", mode="before")
    @classmethod
    def _loss_shorthand(cls, value):
        return {"name": value} if isinstance(value, str) else value


class ThresholdConfig(_Section):
    method: Literal["youden", "sensitivity", "fixed"] = "youden"
    target: float | None = Field(None, gt=0, le=1)  # sensitivity to reach, with method: sensitivity
    value: float | None = Field(None, ge=0, le=1)  # with method: fixed

    @model_validator(mode="after")
    def _check(self):
        if self.method == "sensitivity" and self.target is None:
            raise ValueError("method 'sensitivity' needs 'target', e.g. target: 0.9")
        if self.method == "fixed" and self.value is None:
            raise ValueError("method 'fixed' needs 'value', e.g. value: 0.5")
        return self


class EvaluationConfig(_Section):
    threshold: ThresholdConfig = ThresholdConfig()
    n_resamples: int = Field(1000, ge=0)
    subgroups: list[str] = Field(default_factory=list)
    calibration: Literal["none", "temperature", "platt"] = "none"
    conformal_coverage: float | None = Field(0.9, gt=0, lt=1)
    horizons: list[float] | None = None  # survival
    support: tuple[float, float] = (0.05, 0.95)  # treatment: recommend only where the propensity lies inside
    higher_is_better: bool = True  # treatment: whether a larger outcome is better (False for risks, hazards)

    @field_validator("support")
    @classmethod
    def _check_support(cls, value):
        if not 0 <= value[0] < value[1] <= 1:
            raise ValueError(f"must be [lower, upper] with 0 <= lower < upper <= 1 (got {list(value)})")
        return value


class RunConfig(_Section):
    """A whole run: ``task``, ``data`` and optional ``model``, ``training``, ``evaluation``."""

    task: Literal["diagnosis", "regression", "survival", "treatment"]
    data: DataConfig
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, value):
        if isinstance(value, str):
            return {"preset": value}
        if isinstance(value, list):
            return {"preset": "custom", "layers": value}
        return value

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-")) or "config"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            section = RunConfig
            for part in item["loc"][:-1]:
                field = section.model_fields.get(str(part))
                section = getattr(field, "annotation", None) if field else None
                if not (isinstance(section, type) and issubclass(section, BaseModel)):
                    section = None
                    break
            known = list(section.model_fields) if section else []
            message = f"unknown key.{did_you_mean(str(item['loc'][-1]), known)}"
        elif item["type"] == "missing":
            message = "this key is required"
        elif "input" in item and not isinstance(item["input"], dict):
            message += f" (got {item['input']!r})"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def load_config(config: str | Path | dict[str, Any] | RunConfig) -> RunConfig:
    """Read and validate a config from a YAML path, a dict or a ``RunConfig``.

    Relative data paths in a YAML file are resolved against the file's folder.

    Raises:
        ConfigError: naming each wrong key, e.g. ``data.label``.
    """
    if isinstance(config, RunConfig):
        return config
    base = None
    if isinstance(config, (str, Path)):
        import yaml

        path = Path(config)
        if not path.is_file():
            raise ConfigError(f"Config file '{path}' does not exist.")
        try:
            config = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise ConfigError(f"Config file '{path}' is not valid YAML: {exc}") from None
        base = path.resolve().parent
        if not isinstance(config, dict):
            raise ConfigError(f"Config file '{path}' must hold a mapping with at least 'task' and 'data'; "
                              f"got {type(config).__name__}.")
    if not isinstance(config, dict):
        raise ConfigError(f"A config must be a path to a YAML file or a dict; got {type(config).__name__}.")
    try:
        resolved = RunConfig.model_validate(config)
    except ValidationError as exc:
        raise ConfigError("Invalid config:\n" + _format_errors(exc)) from None
    if base is not None:
        for key in ("path", "labels_csv"):
            value = getattr(resolved.data, key)
            if value and not Path(value).expanduser().is_absolute():
                setattr(resolved.data, key, str(base / value))
        init_from = resolved.model.init_from
        if init_from and not Path(init_from).expanduser().is_absolute():
            resolved.model.init_from = str(base / init_from)
    return resolved
