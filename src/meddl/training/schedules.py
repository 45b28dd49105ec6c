"""Learning-rate schedules (Keras's ``optimizers.schedules``): the rate as a function of the step.

A schedule passed as ``learning_rate=`` to an optimizer sets the rate after
every optimizer step through a torch step hook, so the training loop's
per-batch path is unchanged when no schedule is used.

Example:
    >>> import meddl
    >>> schedule = meddl.optimizers.schedules.ExponentialDecay(1e-2, decay_steps=1000, decay_rate=0.9)
    >>> optimizer = meddl.optimizers.SGD(learning_rate=schedule)
"""

from __future__ import annotations

import math
from typing import Any

from meddl.errors import MeddlError, missing_name, unknown_name_error

__all__ = ["LearningRateSchedule", "ExponentialDecay", "InverseTimeDecay", "PiecewiseConstantDecay", "PolynomialDecay",
           "CosineDecay", "serialize", "deserialize"]

# Keras's schedules that meddl does not have, and what to use instead.
_NOT_IN_MEDDL = {"CosineDecayRestarts": "use CosineDecay, or a callbacks.LearningRateScheduler whose function restarts "
                                        "the cosine"}


def __getattr__(name: str):
    raise missing_name("meddl.optimizers.schedules", name, __all__, _NOT_IN_MEDDL)


def _positive(value: Any, argument: str, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise MeddlError(f"The '{argument}' parameter of {owner} must be a positive number. Got {value!r} instead.")
    return float(value)


class LearningRateSchedule:
    """Base class: ``schedule(step) -> learning rate``; subclass and implement ``__call__`` for your own."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        return {}


class ExponentialDecay(LearningRateSchedule):
    """``initial · decay_rate ^ (step / decay_steps)`` (the exponent floored with ``staircase``)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, decay_rate: float, staircase: bool = False):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate", "ExponentialDecay")
        self.decay_steps = _positive(decay_steps, "decay_steps", "ExponentialDecay")
        self.decay_rate = _positive(decay_rate, "decay_rate", "ExponentialDecay")
        self.staircase = bool(staircase)

    def __call__(self, step: int) -> float:
        exponent = step / self.decay_steps
        return self.initial_learning_rate * self.decay_rate ** (math.floor(exponent) if self.staircase else exponent)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


class InverseTimeDecay(ExponentialDecay):
    """``initial / (1 + decay_rate · step / decay_steps)`` (floored with ``staircase``)."""

    def __call__(self, step: int) -> float:
        ratio = step / self.decay_steps
        return self.initial_learning_rate / (1 + self.decay_rate * (math.floor(ratio) if self.staircase else ratio))


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[i]`` while ``boundaries[i-1] < step <= boundaries[i]`` (Keras's convention)."""

    def __init__(self, boundaries: list[int], values: list[float]):
        if len(values) != len(boundaries) + 1:
            raise MeddlError(f"PiecewiseConstantDecay needs one more value than boundaries; got {len(boundaries)} "
                             f"boundaries and {len(values)} values.")
        self.boundaries, self.values = [int(b) for b in boundaries], [float(v) for v in values]

    def __call__(self, step: int) -> float:
        for boundary, value in zip(self.boundaries, self.values):
            if step <= boundary:
                return value
        return self.values[-1]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values}


class PolynomialDecay(LearningRateSchedule):
    """From ``initial`` to ``end_learning_rate`` over ``decay_steps`` along ``(1 − step / decay_steps) ^ power``,
    then flat; with ``cycle`` the decay starts again, over the next multiple of ``decay_steps`` (Keras's rule)."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, end_learning_rate: float = 0.0001,
                 power: float = 1.0, cycle: bool = False):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate", "PolynomialDecay")
        self.decay_steps = _positive(decay_steps, "decay_steps", "PolynomialDecay")
        if isinstance(end_learning_rate, bool) or not isinstance(end_learning_rate, (int, float)) \
                or end_learning_rate < 0:
            raise MeddlError("The 'end_learning_rate' parameter of PolynomialDecay must be a number >= 0. Got "
                             f"{end_learning_rate!r} instead.")
        self.end_learning_rate = float(end_learning_rate)
        self.power = _positive(power, "power", "PolynomialDecay")
        self.cycle = bool(cycle)

    def __call__(self, step: int) -> float:
        decay_steps = self.decay_steps
        if self.cycle:
            decay_steps = decay_steps * max(1, math.ceil(step / decay_steps))
        else:
            step = min(step, decay_steps)
        fraction = (1 - step / decay_steps) ** self.power
        return (self.initial_learning_rate - self.end_learning_rate) * fraction + self.end_learning_rate

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "end_learning_rate": self.end_learning_rate, "power": self.power, "cycle": self.cycle}


class CosineDecay(LearningRateSchedule):
    """Cosine from ``initial`` to ``alpha · initial`` over ``decay_steps`` (Loshchilov & Hutter), then flat."""

    def __init__(self, initial_learning_rate: float, decay_steps: int, alpha: float = 0.0):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate", "CosineDecay")
        self.decay_steps = _positive(decay_steps, "decay_steps", "CosineDecay")
        self.alpha = float(alpha)

    def __call__(self, step: int) -> float:
        progress = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha}


SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay, PolynomialDecay,
                                           CosineDecay)}


def serialize(schedule: LearningRateSchedule) -> dict[str, Any]:
    if type(schedule).__name__ not in SCHEDULES:
        raise MeddlError(f"The schedule {type(schedule).__name__} is not one of meddl's, so it cannot be saved; "
                         f"use one of {sorted(SCHEDULES)}.")
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(spec: dict[str, Any]) -> LearningRateSchedule:
    name = spec.get("class_name")
    if name not in SCHEDULES:
        raise unknown_name_error("learning-rate schedule", name, SCHEDULES)
    return SCHEDULES[name](**spec.get("config", {}))
