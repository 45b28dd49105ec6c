"""Keras's weight initialisers, by name or as objects with arguments, so a meddl layer starts where a Keras one does.

A layer keeps its initializer as a *spec*: the name (``"he_normal"``) when it takes Keras's
default arguments, else ``{"class_name": name, "config": {...}}``, which is how it is saved.
Fans are passed in explicitly (a kernel's torch layout differs from Keras's, so
they cannot be read off the tensor's shape).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from meddl.errors import MeddlError, unknown_name_error

__all__ = ["glorot_uniform_", "initialize_", "check_initializer", "INITIALIZERS", "Initializer", "Zeros", "Ones",
           "Constant", "RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "GlorotUniform",
           "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal", "Orthogonal", "get"]

INITIALIZERS = ("glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                "zeros", "ones", "random_uniform", "random_normal", "orthogonal", "uniform", "normal", "constant",
                "truncated_normal", "variance_scaling")
_ALIASES = {"zeros": "zeros", "Zeros": "zeros", "Ones": "ones", "GlorotUniform": "glorot_uniform",
            "GlorotNormal": "glorot_normal", "HeUniform": "he_uniform", "HeNormal": "he_normal",
            "LecunUniform": "lecun_uniform", "LecunNormal": "lecun_normal", "RandomUniform": "random_uniform",
            "RandomNormal": "random_normal", "Orthogonal": "orthogonal", "uniform": "random_uniform",
            "normal": "random_normal", "Constant": "constant", "TruncatedNormal": "truncated_normal",
            "VarianceScaling": "variance_scaling"}
# The arguments each initializer takes, with Keras's defaults (``seed`` is accepted and left to meddl.set_seed).
_ARGUMENTS: dict[str, dict[str, Any]] = {
    "random_normal": {"mean": 0.0, "stddev": 0.05}, "random_uniform": {"minval": -0.05, "maxval": 0.05},
    "truncated_normal": {"mean": 0.0, "stddev": 0.05}, "constant": {"value": 0.0}, "orthogonal": {"gain": 1.0},
    "variance_scaling": {"scale": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}}
_TRUNCATION = 0.87962566103423978  # the standard deviation of a unit normal truncated at two deviations


def glorot_uniform_(tensor: torch.Tensor, fan_in: int, fan_out: int) -> torch.Tensor:
    """Fill ``tensor`` from U(-l, l) with l = sqrt(6 / (fan_in + fan_out)) (Keras's default)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        return tensor.uniform_(-limit, limit)


class Initializer:
    """Keras's initializer objects: ``kernel_initializer=meddl.initializers.RandomNormal(stddev=0.01)``."""

    name = "initializer"

    def __init__(self, **arguments: Any):
        self.arguments = arguments

    def get_config(self) -> dict[str, Any]:
        return dict(self.arguments)

    def __call__(self, shape, dtype=None) -> torch.Tensor:
        """A new tensor of ``shape`` (fans as Keras reads them: the last axis out, the rest in)."""
        shape = tuple(int(n) for n in shape)
        fan_out = shape[-1] if shape else 1
        fan_in = math.prod(shape[:-1]) if len(shape) > 1 else fan_out
        return initialize_(torch.empty(shape), check_initializer(self, "initializer", "Initializer"), fan_in, fan_out)


def _initializer_class(class_name: str, name: str, arguments: tuple[str, ...] = ()) -> type[Initializer]:
    """An initializer class taking Keras's ``arguments`` (keyword or positional, in Keras's order) and ``seed``."""
    defaults = _ARGUMENTS.get(name, {})

    def __init__(self, *values, seed=None, **given):
        if len(values) > len(arguments):
            raise MeddlError(f"{class_name} takes at most {len(arguments)} positional arguments {list(arguments)}; "
                             f"got {len(values)}.")
        given = {**dict(zip(arguments, values)), **given}
        unknown = sorted(set(given) - set(arguments))
        if unknown:
            raise MeddlError(f"{class_name} got unexpected argument(s) {unknown}; it takes {list(arguments)} and seed.")
        Initializer.__init__(self, **{key: given.get(key, defaults[key]) for key in arguments})

    return type(class_name, (Initializer,), {"name": name, "__init__": __init__, "__module__": __name__,
                                              "__doc__": f"Keras's ``{class_name}`` initializer."})


Zeros = _initializer_class("Zeros", "zeros")
Ones = _initializer_class("Ones", "ones")
Constant = _initializer_class("Constant", "constant", ("value",))
RandomNormal = _initializer_class("RandomNormal", "random_normal", ("mean", "stddev"))
RandomUniform = _initializer_class("RandomUniform", "random_uniform", ("minval", "maxval"))
TruncatedNormal = _initializer_class("TruncatedNormal", "truncated_normal", ("mean", "stddev"))
VarianceScaling = _initializer_class("VarianceScaling", "variance_scaling", ("scale", "mode", "distribution"))
GlorotUniform = _initializer_class("GlorotUniform", "glorot_uniform")
GlorotNormal = _initializer_class("GlorotNormal", "glorot_normal")
HeUniform = _initializer_class("HeUniform", "he_uniform")
HeNormal = _initializer_class("HeNormal", "he_normal")
LecunUniform = _initializer_class("LecunUniform", "lecun_uniform")
LecunNormal = _initializer_class("LecunNormal", "lecun_normal")
Orthogonal = _initializer_class("Orthogonal", "orthogonal", ("gain",))


def get(identifier: Any) -> Initializer:
    """The initializer object for a name, a Keras config dict or an object."""
    if isinstance(identifier, Initializer):
        return identifier
    spec = check_initializer(identifier, "identifier", "initializers.get")
    name, arguments = (spec, {}) if isinstance(spec, str) else (spec["class_name"], spec["config"])
    cls = next(c for c in (Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
                           GlorotUniform, GlorotNormal, HeUniform, HeNormal, LecunUniform, LecunNormal, Orthogonal)
               if c.name == name)
    return cls(**arguments)


def check_initializer(identifier: Any, argument: str, layer: str) -> str | dict[str, Any]:
    """The spec of an initializer given by name, as an object, or as a Keras config dict: its canonical name,
    or ``{"class_name": name, "config": arguments}`` when an argument differs from Keras's default."""
    arguments: dict[str, Any] = {}
    if isinstance(identifier, Initializer):
        identifier, arguments = identifier.name, identifier.get_config()
    elif isinstance(identifier, dict):  # Keras config: {"class_name": "RandomNormal", "config": {"stddev": 0.01}}
        arguments = {key: value for key, value in (identifier.get("config") or {}).items()  # seed: meddl.set_seed's;
                     if key != "seed" and value is not None}  # Keras 3.15's input_axes/output_axes: None
        identifier = identifier.get("class_name", identifier.get("module"))
    if not isinstance(identifier, str):
        raise MeddlError(f"The '{argument}' parameter of {layer} must be an initializer name such as "
                         f"'glorot_uniform' or a meddl.initializers object. Got {identifier!r} instead.")
    name = _ALIASES.get(identifier, identifier)
    if name not in INITIALIZERS:
        raise unknown_name_error("initializer", identifier, INITIALIZERS)
    defaults = _ARGUMENTS.get(name, {})
    unknown = sorted(set(arguments) - set(defaults))
    if unknown:
        raise MeddlError(f"The '{argument}' parameter of {layer}: initializer {identifier!r} does not take "
                         f"{unknown} in meddl.")
    if name == "variance_scaling":
        _check_variance_scaling({**defaults, **arguments}, argument, layer)
    given = {key: value for key, value in arguments.items() if value != defaults[key]}
    return {"class_name": name, "config": {**defaults, **given}} if given else name


def _check_variance_scaling(settings: dict[str, Any], argument: str, layer: str) -> None:
    if settings["mode"] not in ("fan_in", "fan_out", "fan_avg") or settings["distribution"] not in (
            "truncated_normal", "untruncated_normal", "uniform", "normal"):
        raise MeddlError(f"The '{argument}' parameter of {layer}: VarianceScaling needs mode 'fan_in', 'fan_out' or "
                         "'fan_avg' and distribution 'truncated_normal', 'untruncated_normal' or 'uniform'. Got "
                         f"mode={settings['mode']!r}, distribution={settings['distribution']!r}.")


def _initialize_with_arguments(tensor: torch.Tensor, name: str, settings: dict[str, Any], fan_in: int,
                               fan_out: int) -> torch.Tensor:
    settings = {**_ARGUMENTS[name], **settings}
    if name == "random_normal":
        return tensor.normal_(float(settings["mean"]), float(settings["stddev"]))
    if name == "random_uniform":
        return tensor.uniform_(float(settings["minval"]), float(settings["maxval"]))
    if name == "truncated_normal":
        mean, stddev = float(settings["mean"]), float(settings["stddev"])
        return torch.nn.init.trunc_normal_(tensor, mean, stddev, mean - 2 * stddev, mean + 2 * stddev)
    if name == "constant":
        return tensor.fill_(float(settings["value"]))
    if name == "orthogonal":
        initialize_(tensor, "orthogonal", fan_in, fan_out)
        return tensor.mul_(float(settings["gain"]))
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[settings["mode"]]
    variance = float(settings["scale"]) / max(1.0, fan)
    if settings["distribution"] == "uniform":
        limit = math.sqrt(3.0 * variance)
        return tensor.uniform_(-limit, limit)
    if settings["distribution"] in ("untruncated_normal", "normal"):
        return tensor.normal_(0.0, math.sqrt(variance))
    return _truncated_normal_(tensor, math.sqrt(variance))


def initialize_(tensor: torch.Tensor, name: str | dict[str, Any], fan_in: int, fan_out: int) -> torch.Tensor:
    """Fill ``tensor`` in place with Keras's initializer: a name (default arguments) or a spec with arguments."""
    if isinstance(name, dict):
        with torch.no_grad():
            return _initialize_with_arguments(tensor, name["class_name"], name["config"], fan_in, fan_out)
    with torch.no_grad():
        if name == "glorot_uniform":
            return glorot_uniform_(tensor, fan_in, fan_out)
        if name == "glorot_normal":
            return _truncated_normal_(tensor, math.sqrt(2.0 / (fan_in + fan_out)))
        if name == "he_uniform":
            limit = math.sqrt(6.0 / fan_in)
            return tensor.uniform_(-limit, limit)
        if name == "he_normal":
            return _truncated_normal_(tensor, math.sqrt(2.0 / fan_in))
        if name == "lecun_uniform":
            limit = math.sqrt(3.0 / fan_in)
            return tensor.uniform_(-limit, limit)
        if name == "lecun_normal":
            return _truncated_normal_(tensor, math.sqrt(1.0 / fan_in))
        if name == "zeros":
            return tensor.zero_()
        if name == "ones":
            return tensor.fill_(1.0)
        if name == "random_uniform":
            return tensor.uniform_(-0.05, 0.05)
        if name == "random_normal":
            return tensor.normal_(0.0, 0.05)
        if name == "orthogonal":
            flat = tensor.view(tensor.shape[0], -1) if tensor.dim() > 1 else tensor.view(1, -1)
            torch.nn.init.orthogonal_(flat)
            return tensor
        if name in _ARGUMENTS:  # constant, truncated_normal, variance_scaling at Keras's defaults
            return _initialize_with_arguments(tensor, name, {}, fan_in, fan_out)
    raise MeddlError(f"Unknown initializer {name!r}.")


def _truncated_normal_(tensor: torch.Tensor, stddev: float) -> torch.Tensor:
    # Keras's variance-scaling normal: a normal truncated at two standard deviations, rescaled.
    return torch.nn.init.trunc_normal_(tensor, 0.0, stddev / _TRUNCATION, -2 * stddev / _TRUNCATION,
                                       2 * stddev / _TRUNCATION)
