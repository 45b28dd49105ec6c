"""Typed results that travel between a task, ``meddl.train`` and the run folder.

A task's ``fit`` returns a :class:`RunResult`; :class:`~meddl.runs.folder.RunFolder`
writes it. :class:`RunInfo` is the typed view of ``run.json``: the fields every
task writes, plus the task's own details (horizons, propensity model, ...).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from meddl.runs.config import RunConfig
from meddl.sections import Section
from meddl.version import __version__

__all__ = ["RunInfo", "RunResult", "FORMAT_VERSION"]

#: The run folder's format. 1: meddl 0.1.0 (no manifest, no format_version in run.json); 2: a manifest of
#: every file's sha256. Folders of an older format still load; a newer one is refused with a clear message.
FORMAT_VERSION = 2


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class RunInfo:
    """What ``run.json`` holds: the fields every task writes, and ``details`` for the task's own keys.

    Attributes:
        task: the task's registered name.
        input: what the model takes: ``{"kind": "table", "columns": [...]}`` or ``{"kind": "image", "input_shape": [...]}``.
        data_summary: source, rows, split sizes, class balance or events, missingness.
        model: the model's name and size (``preset``, ``n_parameters``, ``ensemble``, ...).
        seed: the training seed.
        problem: ``binary``, ``multiclass``, ``regression``, ``survival``, ``treatment``.
        label: the target column (``None`` where the task has none).
        class_names: classes in model output order (classification), else ``None``.
        positive_class: the class that counts as positive (binary runs), else ``None``.
        threshold: the decision threshold (binary runs), else ``None``.
        details: the task's other keys, written at the top level of ``run.json``.
    """

    task: str
    input: dict[str, Any]
    data_summary: dict[str, Any]
    model: dict[str, Any]
    seed: int
    problem: str | None = None
    label: str | None = None
    class_names: list[str] | None = None
    positive_class: str | None = None
    threshold: float | None = None
    created: str = field(default_factory=_now)
    meddl_version: str = __version__
    format_version: int = FORMAT_VERSION
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``run.json`` mapping: the common fields, then ``details`` at the same level."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "details"}
        clash = set(values) & set(self.details)
        if clash:
            raise ValueError(f"RunInfo.details must not repeat the common fields {sorted(clash)}.")
        return {**values, **self.details}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RunInfo":
        """Read ``run.json`` (a folder of meddl 0.1.0 has no ``format_version``: it is format 1)."""
        names = {f.name for f in fields(cls)} - {"details"}
        known = {k: v for k, v in data.items() if k in names}
        known.setdefault("format_version", 1)
        known.setdefault("meddl_version", "0.1.0")
        for required in ("input", "data_summary", "model"):
            known.setdefault(required, {})
        known.setdefault("seed", 0)
        return cls(**known, details={k: v for k, v in data.items() if k not in names})


@dataclass
class RunResult:
    """Everything a task's ``fit`` produced, for :meth:`RunFolder.write` to save.

    Attributes:
        config: the resolved config.
        info: ``run.json``.
        model: the trained model (anything with ``save(folder)``).
        metrics: ``metrics.json`` (validation and test metrics with CIs).
        predictions: ``predictions_<split>.csv`` tables by split name.
        split: which row went to which split (``split.csv``), or ``None`` (pretraining has none).
        preprocessor: the fitted preprocessing (``to_dict()``), or ``None``.
        history: the training history (``to_frame()``), or ``None``.
        extra_files: more files, by name (a ``RunFolder`` constant), each written by a function given
            the target path (augmentation examples, ...).
        members: an ensemble's other members (``model`` is member 0), each with ``save(folder)``.
        member_histories: their training histories.
        sections: task-specific report sections, kept with the run so report rebuilds keep them.
    """

    config: RunConfig
    info: RunInfo
    model: Any
    metrics: dict[str, Any]
    predictions: dict[str, pd.DataFrame]
    split: pd.DataFrame | None
    preprocessor: Any = None
    history: Any = None
    extra_files: dict[str, Callable[[Path], Any]] = field(default_factory=dict)
    members: list[Any] = field(default_factory=list)
    member_histories: list[Any] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)
