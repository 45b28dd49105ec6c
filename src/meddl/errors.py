"""The one exception family of meddl.

Every error meddl raises on purpose is a :class:`MeddlError` (a ``ValueError``),
so callers can catch one class, and the CLI turns it into exit code 1.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "MeddlError",
    "ConfigError",
    "DataError",
    "NotFittedError",
    "ModelFileError",
    "did_you_mean",
    "unknown_name_error",
]


class MeddlError(ValueError):
    """Base class of every error meddl raises about its inputs."""


class ConfigError(MeddlError):
    """A configuration value is missing, of the wrong type or out of range."""


class DataError(MeddlError):
    """Input data (an array, a table or a file) is not what was expected."""


class NotFittedError(MeddlError):
    """A model or estimator was used before it was built or fitted."""


class ModelFileError(MeddlError):
    """A saved model or run folder is missing, truncated or tampered with."""


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest option, or ``""``."""
    matches = difflib.get_close_matches(str(name).lower(), [o.lower() for o in options], n=1, cutoff=0.6)
    return f" Did you mean '{matches[0]}'?" if matches else ""


def unknown_name_error(kind: str, name: object, options: Iterable[str], error_class=MeddlError) -> MeddlError:
    """Build the error for an unknown string identifier, with a suggestion.

    >>> str(unknown_name_error("activation", "rleu", ["relu", "tanh"]))
    "Unknown activation 'rleu'. Expected one of: 'relu', 'tanh'. Did you mean 'relu'?"
    """
    options = sorted(set(options))
    listed = ", ".join(repr(o) for o in options)
    return error_class(f"Unknown {kind} {name!r}. Expected one of: {listed}.{did_you_mean(str(name), options)}")
