"""The ``tune:`` and ``tracking:`` sections of a run config, and ``training.time_budget``.

They live beside the other config models (not in ``meddl.studies``, which uses
them) because imports only go down: the config is read by the runs layer, the
search that acts on it sits above it.

Example::

    task: diagnosis
    data: {source: builtin, name: wisconsin-breast-cancer}
    tune:
      trials: 30
      time_budget: 10m
      space:
        training.learning_rate: {low: 1.0e-4, high: 1.0e-2, log: true}
        model.options.dropout: [0.0, 0.2, 0.4]     # a list: choices
        training.batch_size: 64                    # a value: fixed, not searched
        model.depth: null                          # null: drop a default dimension
    tracking:
      mlflow: file:./mlruns
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["ParameterRange", "TrackingConfig", "TuneConfig", "parse_duration"]

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: Any, *, name: str = "time_budget") -> float | None:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"1.5h"`` (``None`` stays ``None``).

    >>> parse_duration("30m"), parse_duration(45), parse_duration("1h")
    (1800.0, 45.0, 3600.0)
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be seconds or a duration like '30m'; got {value!r}")  # noqa: TRY004 - pydantic reports ValueErrors
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(s|sec|m|min|h)?\s*", str(value))
        if not match:
            raise ValueError(f"{name} must be seconds or a duration like '90s', '30m', '2h'; got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"{name} must be > 0; got {value!r}")
    return seconds


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ParameterRange(_Section):
    """One searched dimension: a numeric range (``low``/``high``, ``log``, ``integer``) or ``choices``."""

    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.choices is not None:
            if not self.choices:
                raise ValueError("choices must list at least one value")
            return self
        if self.low is None or self.high is None:
            raise ValueError("a searched parameter needs 'low' and 'high' (or 'choices')")
        if not self.low < self.high:
            raise ValueError(f"low must be below high (got low={self.low}, high={self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"a log range needs low > 0 (got {self.low})")
        return self


class TuneConfig(_Section):
    """How ``meddl tune`` (and ``model.preset: auto``) searches: budget, metric, search-space overrides."""

    trials: int | None = Field(None, ge=1)  # None: as many as the time budget allows (20 without a budget)
    time_budget: float | None = None  # seconds; "30m" etc. accepted
    metric: str | None = None  # None: the task's default (Brier score, MSE, C-index, PEHE_nn)
    space: dict[str, ParameterRange | list[Any] | float | int | str | bool | None] = Field(default_factory=dict)
    pruning: bool = True
    seed: int = Field(0, ge=0)
    # None: cross-validate each trial on small data (meddl.studies.search_folds); 0 or 1: the validation split
    cv_folds: int | None = Field(None, ge=0)
    # "one_se": keep the untuned config unless a trial beats it by more than one standard error of the fold
    # scores (meddl.studies.selection); "best": the best mean score
    selection: Literal["one_se", "best"] = "one_se"

    @field_validator("time_budget", mode="before")
    @classmethod
    def _duration(cls, value):
        return parse_duration(value)


class TrackingConfig(_Section):
    """Experiment tracking: ``mlflow`` is a tracking URI (``file:./mlruns``); off when unset."""

    mlflow: str | None = None
    experiment: str = "meddl"
