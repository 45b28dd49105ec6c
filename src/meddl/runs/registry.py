"""Tasks are plug-ins: a task is one module that subclasses :class:`Task` and registers it.

``meddl.train`` asks the registry for the config's task, lets it fit and
returns what the run folder needs (a :class:`~meddl.runs.result.RunResult`);
``Run`` asks the task of the run it loaded to read its model and to predict,
evaluate, recommend, explain or recalibrate for another site. Nothing else in meddl branches on a task's
name, so a new task needs no edit elsewhere::

    class ToyConfig(RunConfig):
        task: Literal["toy"]

    @register_task
    class ToyTask(Task):
        name = "toy"
        config_class = ToyConfig

        def fit(self, config, *, log): ...          # -> RunResult
        def predict(self, run, data, **options): ...  # -> DataFrame
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from meddl.errors import ConfigError, MeddlError, unknown_name_error
from meddl.models import load_model
from meddl.runs.config import RunConfig, read_config_source, validate_config
from meddl.runs.folder import RunFolder
from meddl.runs.log import RunLog
from meddl.runs.result import RunResult

__all__ = ["Task", "register_task", "get_task", "task_keeps_history", "task_names", "load_config", "names_a_config"]


class Task:
    """What meddl needs to know about one kind of problem (diagnosis, survival, ...).

    Subclasses set ``name`` and ``config_class`` and implement ``fit``; the
    other methods have defaults (a Keras-style network saved in ``model/``) or
    say clearly that the task does not offer them.
    """

    name: ClassVar[str]
    config_class: ClassVar[type[RunConfig]]
    #: what ``Run.predict`` of this task returns, in words (for the CLI and the docs)
    predicts: ClassVar[str] = "predictions"
    #: ``(model method, description)`` of the one outcome ``Run.explain`` attributes (a risk score, an effect), if any
    explained_outcome: ClassVar[tuple[str, str] | None] = None
    #: whether a run keeps ``history.csv`` (networks trained epoch by epoch); the report lists it as missing only then
    keeps_history: ClassVar[bool] = True

    def fit(self, config: RunConfig, *, log: RunLog) -> RunResult:
        """Load the data, train and evaluate; return everything the run folder will hold."""
        raise NotImplementedError

    def load_model(self, folder: RunFolder, info: dict[str, Any]) -> Any:
        """The trained model from a run folder (default: the network in ``model/``)."""
        return load_model(folder.model_dir, device="cpu")

    def predict(self, run: Any, data: Any, **options: Any) -> pd.DataFrame:
        raise self._unsupported("predict")

    def evaluate(self, run: Any, data: Any, **options: Any) -> dict:
        raise self._unsupported("evaluate")

    def recommend(self, run: Any, data: Any) -> pd.DataFrame:
        raise self._unsupported("recommend")

    def explain(self, run: Any, data: Any = None, **options: Any) -> Any:
        raise self._unsupported("explain")

    def recalibrate(self, run: Any, data: Any, out: str | Path, **options: Any) -> Any:
        """The run updated on another site's labelled cases, written to ``out`` (``meddl recalibrate``)."""
        raise self._unsupported("recalibrate")

    def _unsupported(self, method: str) -> MeddlError:
        offered = [name for name in ("predict", "evaluate", "recommend", "explain", "recalibrate")
                   if getattr(type(self), name) is not getattr(Task, name)]
        return MeddlError(f"Run.{method} (meddl {method}) is not available for '{self.name}' runs; they offer "
                          f"{', '.join(f'Run.{m} (meddl {m})' for m in offered) or 'no predictions'}.")


_TASKS: dict[str, Task] = {}


def register_task(task_class: type[Task]) -> type[Task]:
    """Register a task plug-in (use as a class decorator); its ``name`` is what configs write as ``task:``."""
    name = getattr(task_class, "name", None)
    if not isinstance(name, str) or not name:
        raise MeddlError(f"A task class needs a 'name'; {task_class.__name__} has {name!r}.")
    if not (isinstance(getattr(task_class, "config_class", None), type)
            and issubclass(task_class.config_class, RunConfig)):
        raise MeddlError(f"Task '{name}' needs a 'config_class', a subclass of RunConfig.")
    _TASKS[name] = task_class()
    return task_class


def get_task(name: str) -> Task:
    """The registered task called ``name``."""
    if name not in _TASKS:
        raise unknown_name_error("task", name, _TASKS, error_class=ConfigError)
    return _TASKS[name]


def task_keeps_history(name: str | None) -> bool:
    """Whether runs of the task ``name`` keep a per-epoch history (True for a task this session does not know)."""
    return _TASKS[name].keeps_history if name in _TASKS else True


def task_names() -> tuple[str, ...]:
    """The names of the registered tasks, in registration order."""
    return tuple(_TASKS)


def names_a_config(data: Any) -> bool:
    """Whether ``data`` given for evaluation or a site update is a config (a dict or a YAML path), not a table."""
    return isinstance(data, dict) or (isinstance(data, (str, Path)) and str(data).endswith((".yaml", ".yml")))


def load_config(config: str | Path | dict[str, Any] | RunConfig) -> RunConfig:
    """Read and validate a config from a YAML path, a dict or a ``RunConfig``, with its task's config class.

    Relative data paths in a YAML file are resolved against the file's folder.

    Raises:
        ConfigError: naming each wrong key, e.g. ``data.label``.
    """
    if isinstance(config, RunConfig):
        return config
    raw, base = read_config_source(config)
    if "task" not in raw:
        raise ConfigError(f"Invalid config:\n  task: this key is required (one of {', '.join(task_names())}).")
    if not isinstance(raw["task"], str):
        raise ConfigError(f"Invalid config:\n  task: must be one of {', '.join(task_names())} "
                          f"(got {raw['task']!r}).")
    task = get_task(raw["task"])
    return validate_config(raw, task.config_class, base)
