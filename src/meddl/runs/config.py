"""Run configuration: YAML (or a dict) validated by pydantic, mapping one-to-one onto ``meddl.train``.

A config with only ``task`` and ``data`` works; every other section has good
defaults. Each task (a plug-in, see :mod:`meddl.runs.registry`) has its own
config class, a :class:`RunConfig` whose ``data``, ``model`` and
``evaluation`` sections hold what that task needs: the config is a union
discriminated by ``task``. This module holds the sections the tasks share and
the reading/validation; errors name the key that is wrong, e.g.
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
import inspect
import typing
import warnings
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

from meddl.data import builtin_key
from meddl.errors import ConfigError, did_you_mean
from meddl.io import read_yaml
from meddl.runs.tuning_config import TrackingConfig, TuneConfig, parse_duration

__all__ = ["RunConfig", "DataConfig", "ModelConfig", "TrainingConfig", "EvaluationConfig", "AugmentationConfig",
           "LossConfig", "SplitConfig", "EarlyStoppingConfig", "ThresholdConfig", "Section", "options_model", "check_options",
           "read_config_source", "validate_config", "upgrade_v1_config", "format_errors", "SOURCES", "TABLE_SOURCES", "IMAGE_SOURCES",
           "AUGMENTATION_POLICIES", "COLUMN_ROLES", "require_seed_ensembles"]

TABLE_SOURCES = ("csv", "parquet", "builtin", "deepsurv_h5", "ihdp")
IMAGE_SOURCES = ("medmnist", "image_folder", "dicom", "nifti")
SOURCES = TABLE_SOURCES + IMAGE_SOURCES
AUGMENTATION_POLICIES = ("none", "light", "medium", "strong")


class Section(BaseModel):
    """A config section: unknown keys are refused (with a suggestion), assignments validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SplitConfig(Section):
    """How rows are split when the data has no split of its own."""

    val_size: float = Field(0.15, ge=0, lt=1)
    test_size: float = Field(0.15, ge=0, lt=1)
    seed: int = Field(0, ge=0)


#: The data keys that name a column with a meaning of its own (each task's data section has some of them).
COLUMN_ROLES = ("label", "patient_id", "duration", "event", "treatment", "outcome")


class DataConfig(Section):
    """Where the data is and which columns to use; each task's data section adds what its columns mean."""

    source: str
    path: str | None = None
    name: str | None = None  # for builtin / medmnist:<name>
    patient_id: str | None = None
    features: list[str] | None = None
    numeric: list[str] | None = None
    categorical: list[str] | None = None
    exclude: list[str] | None = None  # columns that are never features (identifiers, free text, dates of birth)
    encoding: str | None = None  # text encoding of a CSV (default utf-8; e.g. latin-1)
    sep: str | None = None  # column separator of a CSV (default ",")
    split: SplitConfig = SplitConfig()

    @model_validator(mode="after")
    def _check_required(self):
        if self.source == "builtin" and not (self.name or self.path):
            raise ValueError("source 'builtin' needs 'name', e.g. name: wisconsin-breast-cancer")
        if self.source == "builtin":  # an unknown name is refused at load, before any training
            builtin_key(self.name or self.path, f"built-in dataset (data.{'name' if self.name else 'path'})")
        if self.source == "medmnist" and not (self.name or self.path):
            raise ValueError("source 'medmnist' needs 'path' (an .npz file) or 'name' (e.g. pneumoniamnist)")
        if self.source not in ("builtin", "medmnist") and not self.path:
            raise ValueError(f"source '{self.source}' needs 'path'")
        roles: dict[str, str] = {}
        for role in COLUMN_ROLES:  # a task's data section has some of them
            column = getattr(self, role, None)
            if isinstance(column, str) and column in roles:
                raise ValueError(f"'{roles[column]}' and '{role}' both name column {column!r}; each needs a column "
                                 f"of its own")
            roles.setdefault(column, role)
        return self

    def paths(self) -> list[Path]:
        """The files and folders this section reads (a run's --out must not replace them)."""
        return [Path(p) for p in (self.path,) if p]


class ModelConfig(Section):
    """Which model: ``preset`` names it, ``options`` are its settings (each task types them per model)."""

    preset: str = "default"
    options: dict[str, Any] = Field(default_factory=dict)


def options_model(estimator_class: type, *, exclude: tuple[str, ...] = ()) -> type[Section]:
    """A config section typed from an estimator's constructor: its parameters, their types and defaults.

    So ``model.options`` of a survival or treatment model is checked against the
    model's real parameters at load time (``model.options.bogus: unknown key``),
    and stays in step with the class without a second list to maintain.
    """
    fields: dict[str, Any] = {}
    try:
        hints = typing.get_type_hints(estimator_class.__init__)
    except (NameError, TypeError):  # an annotation that does not resolve here: check names and leave values free
        hints = {}
    for name, parameter in inspect.signature(estimator_class.__init__).parameters.items():
        if name == "self" or name in exclude or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        annotation = hints.get(name, Any)
        fields[name] = (annotation, parameter.default)
    return create_model(f"{estimator_class.__name__}Options", __base__=Section, **fields)


def check_options(options: dict[str, Any], estimator_class: type, model_name: str,
                  exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    """``model.options`` checked against a model's parameters; the message names each wrong key and the valid ones."""
    section = options_model(estimator_class, exclude=exclude)
    try:
        checked = section.model_validate(options)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            key = ".".join(str(p) for p in item["loc"])
            if item["type"] == "extra_forbidden":
                problems.append(f"unknown key '{key}' for model '{model_name}'.{did_you_mean(key, section.model_fields)}")
            else:
                problems.append(f"'{key}': {item['msg']} (got {item.get('input')!r}).")
        raise ValueError(" ".join(problems) + f" Valid keys: {', '.join(section.model_fields)}.") from None
    return checked.model_dump(include=set(options))


class EarlyStoppingConfig(Section):
    patience: int = Field(15, ge=0)  # epochs without improvement tolerated: the next one stops training
    monitor: str | None = None  # default: val_auc for classification, val_loss otherwise


class AugmentationConfig(Section):
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


class LossConfig(Section):
    """The training loss: ``auto`` (cross-entropy, or MSE for regression) or ``focal`` (diagnosis)."""

    name: Literal["auto", "cross_entropy", "focal"] = "auto"
    gamma: float = Field(2.0, ge=0)  # focal: (1 - p_t)^gamma; 0 is cross-entropy


class TrainingConfig(Section):
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
    # members trained with seeds seed, seed+1, ...; predictions averaged, their spread is the uncertainty.
    # None: the task's default (1 network for diagnosis and regression, 5 for survival and treatment).
    ensemble: int | None = Field(None, ge=1, le=50)
    # seeds: each member trains from its own seed; snapshots: one training run in `ensemble` cosine cycles, a member
    # kept at the end of each (meddl.training.snapshots; no early stopping; diagnosis and regression runs)
    ensemble_method: Literal["seeds", "snapshots"] = "seeds"
    sampling: Literal["shuffle", "balanced"] = "shuffle"  # balanced: every class equally often per epoch
    loss: LossConfig = LossConfig()
    # -- tuning (meddl.studies): with model.preset 'auto', search this long (seconds; "10m" accepted) first
    time_budget: float | None = None

    @field_validator("time_budget", mode="before")
    @classmethod
    def _time_budget(cls, value):
        return parse_duration(value, name="training.time_budget")

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


def require_seed_ensembles(training: TrainingConfig, task: str) -> TrainingConfig:
    """A validator's check for tasks whose ensembles train each member from its own seed (survival, treatment)."""
    if training.ensemble_method != "seeds":
        raise ValueError(f"ensemble_method {training.ensemble_method!r} is for diagnosis and regression runs; "
                         f"{task} ensembles train each member from its own seed (ensemble_method: seeds)")
    return training


class ThresholdConfig(Section):
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


class EvaluationConfig(Section):
    """How the run is evaluated (each task adds its own keys)."""

    n_resamples: int = Field(1000, ge=0)


class RunConfig(Section):
    """A whole run: ``task``, ``data`` and optional ``model``, ``training``, ``evaluation``.

    Each task plug-in subclasses it with typed sections (``DiagnosisConfig``,
    ``SurvivalConfig``, ...); :func:`meddl.load_config` picks the class by ``task``.
    """

    task: str
    data: DataConfig
    model: ModelConfig = ModelConfig()
    training: TrainingConfig = TrainingConfig()
    evaluation: EvaluationConfig = EvaluationConfig()
    # -- tuning and tracking (meddl.runs.tuning_config; used by meddl.studies)
    tune: TuneConfig = TuneConfig()
    tracking: TrackingConfig = TrackingConfig()

    #: members when ``training.ensemble`` is not set
    DEFAULT_ENSEMBLE: ClassVar[int] = 1

    @field_validator("model", mode="before")
    @classmethod
    def _model_shorthand(cls, value):
        if isinstance(value, str):
            return {"preset": value}
        if isinstance(value, list):
            return {"preset": "custom", "layers": value}
        return value

    @model_validator(mode="before")
    @classmethod
    def _moved_keys(cls, values):
        """0.1.0 put the survival/treatment ensemble size under ``model.options``; there is one setting now."""
        model = values.get("model") if isinstance(values, dict) else None
        options = model.get("options") if isinstance(model, dict) else None
        if isinstance(options, dict) and "ensemble" in options:
            training = dict(values.get("training") or {})
            if training.get("ensemble") is None:
                training["ensemble"] = options["ensemble"]
            values = {**values, "training": training,
                      "model": {**model, "options": {k: v for k, v in options.items() if k != "ensemble"}}}
            warnings.warn("model.options.ensemble is deprecated; it is now training.ensemble (one setting for every "
                          "task). Move the key there.", FutureWarning, stacklevel=2)
        return values

    @property
    def ensemble_members(self) -> int:
        """``training.ensemble``, or the task's default when it is not set."""
        return self.training.ensemble or self.DEFAULT_ENSEMBLE

    def to_dict(self) -> dict[str, Any]:
        """The config with every default spelled out (what a run folder's config.yaml holds)."""
        values = self.model_dump(mode="json")
        values["training"]["ensemble"] = self.ensemble_members
        return values


def _section_class(root: type[BaseModel], location: tuple) -> type[BaseModel] | None:
    section: Any = root
    for part in location:
        field = section.model_fields.get(str(part)) if isinstance(section, type) else None
        section = getattr(field, "annotation", None) if field else None
        if not (isinstance(section, type) and issubclass(section, BaseModel)):
            return None
    return section


def format_errors(error: ValidationError, root: type[BaseModel]) -> str:
    """One line per problem, each naming the dotted key (``model.options.bogus: unknown key. ...``)."""
    lines = []
    for item in error.errors():
        key = ".".join(str(p) for p in item["loc"] if not str(p).startswith("function-")) or "config"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            section = _section_class(root, item["loc"][:-1])
            known = [k for k in section.model_fields] if section else []
            message = (f"unknown key.{did_you_mean(str(item['loc'][-1]), known)}"
                       + (f" Valid keys: {', '.join(known)}." if known else ""))
        elif item["type"] == "missing":
            message = "this key is required"
        elif "input" in item and not isinstance(item["input"], dict) and repr(item["input"]) not in message:
            message += f" (got {item['input']!r})"
        lines.append(f"  {key}: {message}")
    return "\n".join(lines)


def _section_of(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    return next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)


def upgrade_v1_config(raw: dict[str, Any], config_class: type[BaseModel]) -> dict[str, Any]:
    """A ``config.yaml`` of meddl 0.1.0 (run folder format 1), readable by ``config_class``.

    0.1.0 wrote every key of one schema shared by all tasks (``data.duration: null``
    in a diagnosis run, ``evaluation.horizons`` everywhere, ...); each task now has
    its own sections, so the keys a task does not know are dropped. The ensemble
    size, which 0.1.0 kept in ``model.options.ensemble`` for survival and treatment
    runs, becomes ``training.ensemble``.
    """
    def keep_known(values: Any, section: type[BaseModel] | None) -> Any:
        if section is None or not isinstance(values, dict):
            return values
        return {key: keep_known(value, _section_of(section.model_fields[key].annotation))
                for key, value in values.items() if key in section.model_fields}

    upgraded = dict(raw)
    options = (raw.get("model") or {}).get("options") if isinstance(raw.get("model"), dict) else None
    if isinstance(options, dict) and "ensemble" in options:
        upgraded["model"] = {**raw["model"], "options": {k: v for k, v in options.items() if k != "ensemble"}}
        upgraded["training"] = {**(raw.get("training") or {}), "ensemble": options["ensemble"]}
    return keep_known(upgraded, config_class)


def read_config_source(config: str | Path | dict[str, Any]) -> tuple[dict[str, Any], Path | None]:
    """The raw mapping of a config (a YAML path or a dict) and the folder relative paths resolve against."""
    if isinstance(config, (str, Path)):
        path = Path(config)
        if path.is_dir():
            raise ConfigError(f"Config file '{path}' is a folder; expected a YAML file (e.g. config.yaml).")
        if not path.is_file():
            raise ConfigError(f"Config file '{path}' does not exist.")
        raw = read_yaml(path)  # refuses duplicate keys and non-UTF-8 text
        if not isinstance(raw, dict):
            raise ConfigError(f"Config file '{path}' must hold a mapping with at least 'task' and 'data'; "
                              f"got {type(raw).__name__}.")
        return raw, path.resolve().parent
    if not isinstance(config, dict):
        raise ConfigError(f"A config must be a path to a YAML file or a dict; got {type(config).__name__}.")
    return config, None


def validate_config(raw: dict[str, Any], config_class: type[RunConfig], base: Path | None = None) -> RunConfig:
    """Validate ``raw`` with a task's config class; relative paths resolve against ``base`` (the YAML's folder)."""
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", FutureWarning)
            resolved = config_class.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError("Invalid config:\n" + format_errors(exc, config_class)) from None
    for warning in caught:  # re-issued here, where the caller (not pydantic's internals) is the location
        warnings.warn(str(warning.message), FutureWarning, stacklevel=3)
    if base is not None:
        resolve_paths(resolved, base)
    return resolved


def resolve_paths(config: BaseModel, base: Path) -> None:
    """Make every relative path of a config (fields named ``path``, ``*_csv``, ``init_from``) absolute."""
    for name, value in config:
        if isinstance(value, BaseModel):
            resolve_paths(value, base)
        elif isinstance(value, str) and (name in ("path", "init_from") or name.endswith("_csv")) \
                and not Path(value).expanduser().is_absolute():
            setattr(config, name, str(base / value))
