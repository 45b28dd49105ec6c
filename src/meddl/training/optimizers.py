"""Optimizers by name or object, with Keras's defaults, built on ``torch.optim``.

``SGD`` with no momentum is plain gradient descent, w ← w − α·∂L/∂w. ``weight_decay`` is Keras 3's
decoupled decay for every optimizer: before each step, w ← w − α·λ·w (torch's ``AdamW`` form), not an
L2 penalty added to the gradient (torch's ``weight_decay`` elsewhere; ``AdamL2`` keeps it for the
survival models tuned with it).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import torch

from meddl.errors import MeddlError, unknown_name_error
from meddl.training import schedules

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "AdamL2", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "get",
           "OPTIMIZERS"]

# Keras's saved optimizer settings that change nothing here (the EMA ones only matter with use_ema=True).
_HARMLESS_KERAS_SETTINGS = {"name", "ema_momentum", "ema_overwrite_frequency", "jit_compile", "is_legacy_optimizer"}


def _check_positive(value: float, argument: str, owner: str, allow_zero: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        rule = "[0, inf)" if allow_zero else "(0, inf)"
        raise MeddlError(f"The '{argument}' parameter of {owner} must be a float in the range {rule}. Got {value!r} instead.")
    return float(value)


def _kernel_options(parameters: list) -> dict:
    """Fused kernels where torch has them for these tensors (CPU and CUDA float32), else foreach.

    On a 2-core CPU the fused Adam step made the seed MLP's training about 1.5x faster than
    the foreach one (bench/seed_throughput.py); the arithmetic is the same.
    """
    tensors = [t for item in parameters for t in (item["params"] if isinstance(item, dict) else [item])]
    if tensors and all(t.dtype == torch.float32 and t.device.type in ("cpu", "cuda") for t in tensors):
        return {"fused": True}
    return {"foreach": True}


def _legacy_learning_rate(owner: str, learning_rate: Any, legacy: dict[str, Any]) -> Any:
    """The learning rate given Keras 2's way: ``lr=`` (its old name) and ``decay=d``, the rate
    ``lr / (1 + d·step)``, which is :class:`schedules.InverseTimeDecay`. Any other unknown argument is refused:
    dropped silently, ``Adam(lr=0.1)`` would train at the default 0.001."""
    legacy = {key: value for key, value in legacy.items() if key not in _HARMLESS_KERAS_SETTINGS}
    old_rate, decay = legacy.pop("lr", None), legacy.pop("decay", None)
    if legacy:
        raise MeddlError(f"{owner} got unexpected argument(s) {sorted(legacy)}. See help(meddl.optimizers.{owner}) "
                         "for its arguments.")
    if old_rate is not None:
        if learning_rate is not None:
            raise MeddlError(f"{owner}: give the learning rate once, as 'learning_rate' (Keras's name since 2.3); "
                             f"got both learning_rate={learning_rate!r} and lr={old_rate!r}.")
        learning_rate = old_rate
    if decay:
        if learning_rate is None or isinstance(learning_rate, (dict, schedules.LearningRateSchedule)):
            raise MeddlError(f"{owner}: 'decay' (Keras 2's learning-rate decay) needs a number as the learning rate; "
                             f"got {learning_rate!r}. Use meddl.optimizers.schedules.InverseTimeDecay instead.")
        decay = _check_positive(decay, "decay", owner)
        learning_rate = schedules.InverseTimeDecay(_check_positive(learning_rate, "learning_rate", owner),
                                                   decay_steps=1, decay_rate=decay)
    return learning_rate


class Optimizer:
    """Base class: holds the settings; ``build(parameters)`` makes the torch optimizer."""

    name = "optimizer"
    default_learning_rate = 0.001
    _built = None  # a weak reference to the torch optimizer build() made last
    _group_factors: list[float] = []

    @property
    def learning_rate(self) -> float:
        """The learning rate now, as Keras's ``optimizer.learning_rate``: once built, the one training uses (after
        ReduceLROnPlateau, LearningRateScheduler or the schedule), not only the one given."""
        built = self._built() if self._built is not None else None
        if built is not None and self._group_factors and self._group_factors[0]:
            return float(built.param_groups[0]["lr"]) / self._group_factors[0]
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        """``model.optimizer.learning_rate = 1e-4`` between fits changes the rate the next fit trains with."""
        if getattr(self, "schedule", None) is not None:
            raise MeddlError(f"{type(self).__name__} follows a learning-rate schedule ({type(self.schedule).__name__}); "
                             "its learning rate cannot be set. Compile with a new optimizer instead.")
        value = _check_positive(float(value) if hasattr(value, "__float__") else value, "learning_rate",
                                type(self).__name__, allow_zero=True)
        self._learning_rate = value
        built = self._built() if self._built is not None else None
        if built is not None:
            for group, factor in zip(built.param_groups, self._group_factors):
                group["lr"] = value * factor

    def __init__(self, learning_rate: float | schedules.LearningRateSchedule | None = None, *,
                 clipnorm: float | None = None, clipvalue: float | None = None, global_clipnorm: float | None = None,
                 use_ema: bool = False, gradient_accumulation_steps: int | None = None,
                 loss_scale_factor: float | None = None, **legacy):
        owner = type(self).__name__
        learning_rate = _legacy_learning_rate(owner, learning_rate, legacy)
        lr = self.default_learning_rate if learning_rate is None else learning_rate
        if isinstance(lr, dict) and "class_name" in lr:
            lr = schedules.deserialize(lr)
        self.schedule = lr if isinstance(lr, schedules.LearningRateSchedule) else None
        if self.schedule is not None:
            lr = float(self.schedule(0))
        self._learning_rate = _check_positive(lr, "learning_rate", owner)
        unsupported = {key: value for key, value, harmless in (
            ("use_ema", use_ema, use_ema is False), ("loss_scale_factor", loss_scale_factor, loss_scale_factor is None),
            ("gradient_accumulation_steps", gradient_accumulation_steps, gradient_accumulation_steps in (None, 1)))
            if not harmless}
        if unsupported:  # refused, never silently dropped: each would change the training
            raise MeddlError(f"{owner} in meddl does not support {unsupported}.")
        clips = {key: _check_positive(value, key, owner) for key, value in
                 (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm))
                 if value is not None}
        if len(clips) > 1:
            raise MeddlError(f"{owner}: give only one of clipnorm, clipvalue and global_clipnorm, as Keras requires. "
                             f"Got {clips}.")
        self.clipping = clips

    def _clip(self, torch_optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        """Keras's gradient clipping, before each step: each weight's gradient norm (``clipnorm``), all
        gradients' joint norm (``global_clipnorm``), or each value (``clipvalue``)."""
        gradients = [p for group in torch_optimizer.param_groups for p in group["params"] if p.grad is not None]
        if "clipnorm" in self.clipping:
            for parameter in gradients:
                torch.nn.utils.clip_grad_norm_([parameter], self.clipping["clipnorm"])
        elif "global_clipnorm" in self.clipping:
            torch.nn.utils.clip_grad_norm_(gradients, self.clipping["global_clipnorm"])
        else:
            torch.nn.utils.clip_grad_value_(gradients, self.clipping["clipvalue"])

    #: Keras 3's decoupled weight decay, applied by :meth:`build` (0 for none; AdamW's torch kernel does its own)
    weight_decay = 0.0
    decays_in_kernel = False

    def _decay(self, torch_optimizer: torch.optim.Optimizer, args, kwargs) -> None:
        """Keras 3's weight decay, after clipping and before the step: w ← w − lr·λ·w for each weight updated."""
        with torch.no_grad():
            for group in torch_optimizer.param_groups:
                for parameter in group["params"]:
                    if parameter.grad is not None:
                        parameter.mul_(1 - group["lr"] * self.weight_decay)

    def build(self, parameters: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        """The torch optimizer over ``parameters`` (with gradient clipping, weight decay and the learning-rate
        schedule, if any)."""
        rate = self.learning_rate
        optimizer = self.make_torch_optimizer(parameters)
        # each group's share of the rate (learning_rate_factors), so reading and setting learning_rate follow it
        self._group_factors = [group["lr"] / rate if rate else 1.0 for group in optimizer.param_groups]
        self._built = weakref.ref(optimizer)
        if self.clipping:
            optimizer.register_step_pre_hook(self._clip)
        if self.weight_decay and not self.decays_in_kernel:
            optimizer.register_step_pre_hook(self._decay)
        if self.schedule is not None:
            schedule = self.schedule
            factors = list(self._group_factors)

            def follow_schedule(torch_optimizer, args, kwargs) -> None:
                torch_optimizer.meddl_steps = getattr(torch_optimizer, "meddl_steps", 0) + 1
                rate = float(schedule(torch_optimizer.meddl_steps))
                for group, factor in zip(torch_optimizer.param_groups, factors):
                    group["lr"] = rate * factor

            optimizer.register_step_post_hook(follow_schedule)
        return optimizer

    def make_torch_optimizer(self, parameters: Iterable[torch.nn.Parameter]) -> torch.optim.Optimizer:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        rate = schedules.serialize(self.schedule) if self.schedule is not None else self.learning_rate
        return {"name": self.name, "learning_rate": rate, **self.clipping}


class SGD(Optimizer):
    """(Stochastic) gradient descent, optionally with (Nesterov) momentum. Keras default lr 0.01."""

    name = "sgd"
    default_learning_rate = 0.01

    def __init__(self, learning_rate: float | None = None, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float | None = 0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        weight_decay = weight_decay or 0.0
        self.momentum = _check_positive(momentum, "momentum", "SGD", allow_zero=True)
        self.nesterov = bool(nesterov)
        self.weight_decay = _check_positive(weight_decay, "weight_decay", "SGD", allow_zero=True)

    def make_torch_optimizer(self, parameters):
        parameters = list(parameters)
        return torch.optim.SGD(parameters, lr=self.learning_rate, momentum=self.momentum,
                               nesterov=self.nesterov and self.momentum > 0, **_kernel_options(parameters))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam with Keras's defaults (lr 0.001, betas 0.9/0.999, epsilon 1e-7); ``weight_decay`` decays the weights
    directly, as Keras 3's does (which makes it ``AdamW``).

    ``epsilon`` is added after the second moment's bias correction, as in torch; Keras adds it before, so its
    effective epsilon is ``epsilon / sqrt(1 − beta_2^t)``. Weights whose gradients are near zero move slightly
    differently (bench/keras_parity.py: the same fit matches Keras to 1e-6 with ``epsilon=1e-12``).
    """

    name = "adam"

    def __init__(self, learning_rate: float | None = None, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = 0.0, amsgrad: bool = False, **kwargs):
        super().__init__(learning_rate, **kwargs)
        weight_decay = weight_decay or 0.0
        self.amsgrad = bool(amsgrad)
        self.beta_1, self.beta_2 = float(beta_1), float(beta_2)
        self.epsilon = _check_positive(epsilon, "epsilon", type(self).__name__)
        self.weight_decay = _check_positive(weight_decay, "weight_decay", type(self).__name__, allow_zero=True)

    decays_in_kernel = True  # torch's AdamW decays exactly as Keras 3 does

    def make_torch_optimizer(self, parameters):
        parameters = list(parameters)
        kernel = torch.optim.AdamW if self.weight_decay else torch.optim.Adam  # the same steps without decay
        return kernel(parameters, lr=self.learning_rate, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                      weight_decay=self.weight_decay, amsgrad=self.amsgrad, **_kernel_options(parameters))

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay, **({"amsgrad": True} if self.amsgrad else {})}


class AdamW(Adam):
    """Adam with decoupled weight decay (Keras's default weight_decay 0.004)."""

    name = "adamw"

    def __init__(self, learning_rate: float | None = None, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float = 0.004, amsgrad: bool = False, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, amsgrad, **kwargs)


class AdamL2(Adam):
    """Adam whose ``weight_decay`` is torch's L2 term added to the gradient (the penalty goes through Adam's
    scaling): how meddl's survival models were tuned, kept so their results stay as measured. Not Keras's."""

    name = "adam_l2"

    def make_torch_optimizer(self, parameters):
        parameters = list(parameters)
        return torch.optim.Adam(parameters, lr=self.learning_rate, betas=(self.beta_1, self.beta_2), eps=self.epsilon,
                                weight_decay=self.weight_decay, amsgrad=self.amsgrad, **_kernel_options(parameters))


class RMSprop(Optimizer):
    """RMSprop with Keras's defaults (lr 0.001, rho 0.9, epsilon 1e-7)."""

    name = "rmsprop"

    def __init__(self, learning_rate: float | None = None, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False, weight_decay: float | None = 0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.weight_decay = _check_positive(weight_decay or 0.0, "weight_decay", "RMSprop", allow_zero=True)
        self.centered = bool(centered)
        self.rho = float(rho)
        self.momentum = _check_positive(momentum, "momentum", "RMSprop", allow_zero=True)
        self.epsilon = _check_positive(epsilon, "epsilon", "RMSprop")

    def make_torch_optimizer(self, parameters):
        return torch.optim.RMSprop(parameters, lr=self.learning_rate, alpha=self.rho, eps=self.epsilon,
                                   momentum=self.momentum, centered=self.centered, foreach=True)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon,
                "weight_decay": self.weight_decay}


class Adagrad(Optimizer):
    """Adagrad with Keras's defaults (lr 0.001, initial accumulator 0.1, epsilon 1e-7): each weight's step is
    scaled by the root of its summed squared gradients. torch adds epsilon after the root, Keras under it."""

    name = "adagrad"

    def __init__(self, learning_rate: float | None = None, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7, weight_decay: float | None = 0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.initial_accumulator_value = _check_positive(initial_accumulator_value, "initial_accumulator_value",
                                                         "Adagrad", allow_zero=True)
        self.epsilon = _check_positive(epsilon, "epsilon", "Adagrad")
        self.weight_decay = _check_positive(weight_decay or 0.0, "weight_decay", "Adagrad", allow_zero=True)

    def make_torch_optimizer(self, parameters):
        return torch.optim.Adagrad(parameters, lr=self.learning_rate, eps=self.epsilon, foreach=True,
                                   initial_accumulator_value=self.initial_accumulator_value)

    def get_config(self):
        return {**super().get_config(), "initial_accumulator_value": self.initial_accumulator_value,
                "epsilon": self.epsilon, "weight_decay": self.weight_decay}


class Adadelta(Optimizer):
    """Adadelta with Keras's defaults (lr 0.001, rho 0.95, epsilon 1e-7)."""

    name = "adadelta"

    def __init__(self, learning_rate: float | None = None, rho: float = 0.95, epsilon: float = 1e-7,
                 weight_decay: float | None = 0.0, **kwargs):
        super().__init__(learning_rate, **kwargs)
        if not 0 <= rho <= 1:
            raise MeddlError(f"The 'rho' parameter of Adadelta must be a float in the range [0, 1]. Got {rho!r} instead.")
        self.rho = float(rho)
        self.epsilon = _check_positive(epsilon, "epsilon", "Adadelta")
        self.weight_decay = _check_positive(weight_decay or 0.0, "weight_decay", "Adadelta", allow_zero=True)

    def make_torch_optimizer(self, parameters):
        return torch.optim.Adadelta(parameters, lr=self.learning_rate, rho=self.rho, eps=self.epsilon, foreach=True)

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon, "weight_decay": self.weight_decay}


class _AdamVariant(Adam):
    """Adam's settings without ``amsgrad`` (Keras's Adamax and Nadam have none)."""

    decays_in_kernel = False

    def __init__(self, learning_rate: float | None = None, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, weight_decay: float | None = 0.0, **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, weight_decay, **kwargs)


class Adamax(_AdamVariant):
    """Adamax (Adam with the infinity norm) with Keras's defaults (lr 0.001, betas 0.9/0.999, epsilon 1e-7)."""

    name = "adamax"

    def make_torch_optimizer(self, parameters):
        return torch.optim.Adamax(parameters, lr=self.learning_rate, betas=(self.beta_1, self.beta_2),
                                  eps=self.epsilon, foreach=True)


class Nadam(_AdamVariant):
    """Adam with Nesterov momentum, Keras's defaults (lr 0.001, betas 0.9/0.999, epsilon 1e-7) and Keras 3's
    momentum schedule ``beta_1·(1 − 0.5·0.96^t)`` (torch's ``NAdam`` with ``momentum_decay=1``; torch's own
    default, 0.004, is Keras 2.10's schedule)."""

    name = "nadam"

    def make_torch_optimizer(self, parameters):
        return torch.optim.NAdam(parameters, lr=self.learning_rate, betas=(self.beta_1, self.beta_2),
                                 eps=self.epsilon, momentum_decay=1.0, foreach=True)


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.name: cls for cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta,
                                                                    Adamax, Nadam)}


def get(identifier: str | dict | Optimizer, learning_rate: float | None = None) -> Optimizer:
    """Return an optimizer for a name (``"adam"``), a config dict or an ``Optimizer`` object."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        settings = dict(identifier)
        name = settings.pop("name", None)
        if learning_rate is not None:
            settings["learning_rate"] = learning_rate
        cls = get(name).__class__
        try:
            return cls(**settings)
        except TypeError as exc:
            raise MeddlError(f"Invalid settings for optimizer {name!r}: {exc}.") from None
    if not isinstance(identifier, str) or identifier.lower() not in OPTIMIZERS:
        raise unknown_name_error("optimizer", identifier, OPTIMIZERS)
    return OPTIMIZERS[identifier.lower()](learning_rate=learning_rate)
