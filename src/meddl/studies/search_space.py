"""What ``meddl tune`` searches: a default space per task and input kind, overridable in ``tune.space``.

Each dimension is named by the config key it sets (``training.learning_rate``,
``model.options.dropout``), plus two shorthands that become the preset's layer
sizes: ``model.width`` and ``model.depth`` (``model.options.units`` for the
table MLP, ``hidden_units`` for survival networks, ``representation_units`` for
treatment networks). A dimension may apply only to some presets (``when``), so
a survival search that picks ``linear_cox`` does not also draw a dropout rate.

The ranges bracket meddl's hand-set defaults, and each dimension records that
default. The first trial of every new study trains the config as written
(:func:`untuned_config`; :func:`default_point` gives the sampler its values), so a
search can only replace it with something that scored better, and under the
one-standard-error rule (:mod:`meddl.studies.selection`) better by more than the
noise of the scores.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meddl.errors import ConfigError
from meddl.runs.config import IMAGE_SOURCES
from meddl.runs.survival import SurvivalConfig
from meddl.runs.treatment import TreatmentConfig
from meddl.runs.tuning_config import ParameterRange
from meddl.survival import DeepSurv, LinearCox
from meddl.treatment import CFRNet

__all__ = ["SHORTHANDS", "Dimension", "TaskSearchSpace", "apply_values", "default_point", "default_values", "register_search_space", "search_space", "suggest",
           "untuned_config"]

SHORTHANDS = ("model.width", "model.depth")
_NETWORK_SURVIVAL = ("deepsurv", "logistic_hazard")


@dataclass(frozen=True)
class Dimension:
    """One searched config key: a range (or choices) and the presets it applies to (``None``: all)."""

    name: str
    range: ParameterRange
    when: tuple[str, ...] | None = None
    default: Any = None  # meddl's setting without tuning (None: none to enqueue)


def _r(low=None, high=None, *, log=False, integer=False, choices=None) -> ParameterRange:
    return ParameterRange(low=low, high=high, log=log, integer=integer, choices=choices)


def _table_supervised() -> list[Dimension]:
    return [Dimension("model.width", _r(16, 256, log=True, integer=True), default=128),
            Dimension("model.depth", _r(1, 3, integer=True), default=2),
            Dimension("model.options.dropout", _r(0.0, 0.5), default=0.3),
            Dimension("training.learning_rate", _r(1e-4, 1e-2, log=True), default=1e-3),
            Dimension("training.optimizer", _r(choices=["adam", "adamw"]), default="adam"),  # adamw: decay 0.004
            Dimension("training.batch_size", _r(choices=[16, 32, 64, 128]), default=32),
            Dimension("training.early_stopping.patience", _r(choices=[10, 15, 20, 30]), default=15)]


def _image_supervised() -> list[Dimension]:
    return [Dimension("model.preset", _r(choices=["default", "resnet18"]), default="default"),
            Dimension("model.options.width", _r(choices=[16, 32, 48]), default=32),
            Dimension("model.options.dropout", _r(0.0, 0.5), default=0.3),
            Dimension("training.learning_rate", _r(3e-4, 3e-3, log=True), default=1e-3),
            Dimension("training.batch_size", _r(choices=[32, 64, 128]), default=32),
            Dimension("training.augmentation", _r(choices=["none", "light", "medium", "strong"]), default="light"),
            Dimension("training.ensemble", _r(choices=[1, 3]), default=1),
            # seeds: members from their own seeds; snapshots: one run in cosine cycles (1: one cycle, no early stopping)
            Dimension("training.ensemble_method", _r(choices=["seeds", "snapshots"]), default="seeds"),
            # test-time augmentation: scored on validation like the rest, so it is kept only where it helps
            Dimension("evaluation.tta", _r(choices=["none", "horizontal"]), default="none")]


def _default(estimator: type, parameter: str) -> Any:
    """``estimator``'s constructor default for ``parameter``: what a dimension records as untuned (one place)."""
    return inspect.signature(estimator).parameters[parameter].default


_SURVIVAL_UNITS = _default(DeepSurv, "hidden_units")  # (width,) * depth
_TREATMENT_UNITS = _default(CFRNet, "representation_units")


def _survival() -> list[Dimension]:
    networks = _NETWORK_SURVIVAL
    return [Dimension("model.preset", _r(choices=["deepsurv", "logistic_hazard", "linear_cox"]), default="deepsurv"),
            Dimension("model.width", _r(16, 256, log=True, integer=True), networks, _SURVIVAL_UNITS[0]),
            Dimension("model.depth", _r(1, 3, integer=True), networks, len(_SURVIVAL_UNITS)),
            Dimension("model.options.dropout", _r(0.0, 0.5), networks, _default(DeepSurv, "dropout")),
            Dimension("model.options.learning_rate", _r(1e-4, 3e-2, log=True), networks,
                      _default(DeepSurv, "learning_rate")),
            Dimension("model.options.weight_decay", _r(1e-6, 1e-2, log=True), networks,
                      _default(DeepSurv, "weight_decay")),
            Dimension("model.options.l2", _r(1e-5, 1.0, log=True), ("linear_cox",), _default(LinearCox, "l2")),
            Dimension("training.ensemble", _r(choices=[1, 3, 5]), default=SurvivalConfig.DEFAULT_ENSEMBLE)]


def _treatment() -> list[Dimension]:
    return [Dimension("model.preset", _r(choices=["tarnet", "cfrnet", "dragonnet"]), default="cfrnet"),
            Dimension("model.width", _r(32, 256, log=True, integer=True), default=_TREATMENT_UNITS[0]),
            Dimension("model.depth", _r(1, 3, integer=True), default=len(_TREATMENT_UNITS)),
            Dimension("model.options.learning_rate", _r(1e-4, 1e-2, log=True), default=_default(CFRNet, "learning_rate")),
            Dimension("model.options.weight_decay", _r(1e-4, 1e-1, log=True), default=_default(CFRNet, "weight_decay")),
            # the balance (IPM) weight
            Dimension("model.options.alpha", _r(1e-3, 1.0, log=True), ("cfrnet",), _default(CFRNet, "alpha")),
            # 10 members: on fresh simulated IHDP draws, √PEHE 0.64 against 0.66 with 5 (and twice the time)
            Dimension("training.ensemble", _r(choices=[1, 3, 5, 10]), default=TreatmentConfig.DEFAULT_ENSEMBLE)]


@dataclass(frozen=True)
class TaskSearchSpace:
    """A task's default search space: ``dimensions(config)``, and how ``model.width``/``model.depth`` map to
    its layer sizes: ``(option key, default width, default depth, narrowing, presets or None)``."""

    dimensions: Callable[[Any], list[Dimension]]
    layer_sizes: tuple[str, int, int, bool, tuple[str, ...] | None] | None = None


_SPACES: dict[str, TaskSearchSpace] = {}


def register_search_space(task: str, space: TaskSearchSpace) -> None:
    """Give a task plug-in a default search space (the built-in tasks' are registered below)."""
    _SPACES[task] = space


def _supervised(config) -> list[Dimension]:
    return _image_supervised() if config.data.source in IMAGE_SOURCES else _table_supervised()


for _task in ("diagnosis", "regression"):  # the table MLP narrows: 128, 64, ...
    register_search_space(_task, TaskSearchSpace(_supervised, ("units", 128, 2, True, None)))
register_search_space("survival", TaskSearchSpace(lambda config: _survival(), (
    "hidden_units", _SURVIVAL_UNITS[0], len(_SURVIVAL_UNITS), False, _NETWORK_SURVIVAL + ("default",))))
register_search_space("treatment", TaskSearchSpace(lambda config: _treatment(), (
    "representation_units", _TREATMENT_UNITS[0], len(_TREATMENT_UNITS), False, None)))


def search_space(config) -> list[Dimension]:
    """The default space for ``config``'s task and input kind, with ``config.tune.space`` applied.

    An override replaces a default dimension of the same name (keeping its ``when``), adds a new
    one, fixes a value (a plain value) or drops a dimension (``null``).
    """
    if config.task not in _SPACES:
        raise ConfigError(f"task {config.task!r} has no search space; register one with register_search_space.")
    dimensions = _SPACES[config.task].dimensions(config)
    by_name = {d.name: d for d in dimensions}
    for name, override in config.tune.space.items():
        if override is None:
            by_name.pop(name, None)
        else:
            spec = (override if isinstance(override, ParameterRange) else
                    _r(choices=override) if isinstance(override, list) else
                    _r(choices=[override]))  # a fixed value: not searched, but set on every trial
            old = by_name.get(name)
            by_name[name] = Dimension(name, spec, old.when if old else None, old.default if old else None)
    for name in by_name:
        if not (name.startswith(("model.", "training.", "evaluation.")) or name in SHORTHANDS):
            raise ConfigError(f"tune.space: {name!r} is not a config key; search keys under model., training. "
                              "or evaluation. (e.g. training.learning_rate), or model.width / model.depth.")
    return list(by_name.values())


def suggest(trial, dimensions: list[Dimension], preset: str) -> dict[str, Any]:
    """Draw one value per applicable dimension from an Optuna ``trial`` (``model.preset`` first)."""
    values: dict[str, Any] = {}
    ordered = sorted(dimensions, key=lambda d: d.name != "model.preset")
    for dimension in ordered:
        current = values.get("model.preset", preset)
        if dimension.when is not None and current not in dimension.when:
            continue
        values[dimension.name] = _draw(trial, dimension)
    return values


def _contains(spec: ParameterRange, value: Any) -> bool:
    if spec.choices is not None:
        return value in spec.choices
    return isinstance(value, (int, float)) and not isinstance(value, bool) and spec.low <= value <= spec.high


def default_point(dimensions: list[Dimension], preset: str) -> dict[str, Any]:
    """The untuned config as search values (for ``study.enqueue_trial``): each applicable dimension's default
    that lies in its (possibly overridden) range; dimensions without one are drawn as usual."""
    by_name = {d.name: d for d in dimensions}
    chosen = by_name.get("model.preset")
    if chosen is not None:
        preset = chosen.default if chosen.default is not None and _contains(chosen.range, chosen.default) \
            else chosen.range.choices[0] if chosen.range.choices else preset
    point: dict[str, Any] = {}
    for dimension in dimensions:
        if dimension.name == "model.preset":
            if dimension.range.choices and preset in dimension.range.choices:
                point[dimension.name] = preset
            continue
        if dimension.when is not None and preset not in dimension.when:
            continue
        if dimension.range.choices is not None and len(dimension.range.choices) == 1:
            point[dimension.name] = dimension.range.choices[0]
        elif dimension.default is not None and _contains(dimension.range, dimension.default):
            point[dimension.name] = dimension.default
    return point


def untuned_config(config: dict, dimensions: list[Dimension]) -> dict:
    """The config as written, with only the values ``tune.space`` fixes (a single choice) set: what trial 0
    trains, and what a search returns when no trial beat it (so ``model.preset: auto`` then trains exactly
    what ``model.preset: default`` would)."""
    fixed = {d.name: d.range.choices[0] for d in dimensions if d.range.choices is not None and len(d.range.choices) == 1}
    return apply_values(config, fixed) if fixed else copy.deepcopy(config)


def _draw(trial, dimension: Dimension):
    spec, name = dimension.range, dimension.name
    if spec.choices is not None:
        return trial.suggest_categorical(name, spec.choices)
    if spec.integer:
        return trial.suggest_int(name, int(spec.low), int(spec.high), log=spec.log)
    return trial.suggest_float(name, spec.low, spec.high, log=spec.log)


def _layer_sizes(config: dict, values: dict) -> tuple[str, list[int]] | None:
    """``model.width``/``model.depth`` → the preset's layer-size option and its sizes (``None``: not applicable)."""
    width, depth = values.get("model.width"), values.get("model.depth")
    space = _SPACES.get(config["task"])
    preset = config.get("model", {}).get("preset", "default")
    if (width is None and depth is None) or space is None or space.layer_sizes is None:
        return None
    key, width0, depth0, narrowing, presets = space.layer_sizes
    if presets is not None and preset not in presets:
        return None
    width, depth = int(width if width is not None else width0), int(depth if depth is not None else depth0)
    return key, [max(8, width // 2**i) if narrowing else width for i in range(depth)]


def apply_values(config: dict, values: dict[str, Any]) -> dict:
    """A copy of the config dict with each dotted key set (shorthands turned into layer sizes)."""
    config = copy.deepcopy(config)
    for name, value in values.items():
        if name in SHORTHANDS:
            continue
        _set(config, name.split("."), value)
    sizes = _layer_sizes(config, values)
    if sizes is not None:
        _set(config, ["model", "options", sizes[0]], sizes[1])
    return config


def _set(config: dict, keys: list[str], value: Any) -> None:
    node = config
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {} if child is None or isinstance(child, (bool, str)) else child
            node[key] = child
        node = child
    node[keys[-1]] = value


def default_values(config) -> dict[str, Any]:
    """What each searched key is without tuning (for the report's 'chosen vs default' table)."""
    dumped = config.to_dict()
    defaults: dict[str, Any] = {}
    for dimension in search_space(config):
        node: Any = dumped
        for key in dimension.name.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        defaults[dimension.name] = node
    return defaults
