"""The one exception family of meddl.

Every error meddl raises on purpose is a :class:`MeddlError` (a ``ValueError``),
so callers can catch one class, and the CLI turns it into exit code 1.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Iterable, Mapping
from types import ModuleType

__all__ = [
    "MeddlError",
    "ConfigError",
    "DataError",
    "NotFittedError",
    "ModelFileError",
    "RunFolderError",
    "OutputPathError",
    "UnlikeTrainingDataWarning",
    "did_you_mean",
    "unknown_name_error",
    "MissingDependencyError",
    "import_optional",
    "MissingNameError",
    "missing_name",
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


class RunFolderError(MeddlError):
    """A run cannot be written where it was asked to go (the target is not a run folder, locked, read-only)."""


class OutputPathError(MeddlError):
    """An output file or folder cannot be written where it was asked to go (a folder, a file, no permission)."""


class UnlikeTrainingDataWarning(UserWarning):
    """Inputs to a prediction differ from the training data (a column empty or out of range in every row)."""


def did_you_mean(name: str, options: Iterable[str]) -> str:
    """Return ``" Did you mean 'x'?"`` for the closest option (spelled as the option is), or ``""``.

    Matching ignores case, but the suggestion keeps the option's capitals: a column
    is ``'Age'``, and suggesting ``'age'`` would send the user to another dead end.
    """
    spelled: dict[str, str] = {}
    for option in map(str, options):  # of two spellings ('Accuracy', 'accuracy'), the one cased as typed
        if option.lower() not in spelled or (option == option.lower()) == (str(name) == str(name).lower()):
            spelled[option.lower()] = option
    typed = str(name).lower()
    matches = difflib.get_close_matches(typed, list(spelled), n=3, cutoff=0.6)
    # Swapped letters are the commonest typo: 'adma' is 'adam', though 'adamax' shares more of its letters.
    matches = sorted(matches, key=lambda option: sorted(option) != sorted(typed))
    return f" Did you mean '{spelled[matches[0]]}'?" if matches else ""


def unknown_name_error(kind: str, name: object, options: Iterable[str], error_class=MeddlError) -> MeddlError:
    """Build the error for an unknown string identifier, with a suggestion.

    >>> str(unknown_name_error("activation", "rleu", ["relu", "tanh"]))
    "Unknown activation 'rleu'. Expected one of: 'relu', 'tanh'. Did you mean 'relu'?"
    """
    options = sorted(set(options))
    listed = ", ".join(repr(o) for o in options)
    return error_class(f"Unknown {kind} {name!r}. Expected one of: {listed}.{did_you_mean(str(name), options)}")

# module name -> (pip package name, meddl extra that installs it)
_PACKAGES = {
    "PIL": ("pillow", "imaging"),
    "pydicom": ("pydicom", "imaging"),
    "nibabel": ("nibabel", "imaging"),
    "monai": ("monai", "imaging"),
    "h5py": ("h5py", "survival"),
    "sksurv": ("scikit-survival", "survival"),
    "pyarrow": ("pyarrow", "parquet"),
    "onnx": ("onnx", "onnx"),
    "onnxruntime": ("onnxruntime", "onnx"),
    "captum": ("captum", "explain"),
    "fastapi": ("fastapi", "serve"),
    "uvicorn": ("uvicorn", "serve"),
    "sqlalchemy": ("sqlalchemy", "serve"),
    "optuna": ("optuna", "tune"),
    "mlflow": ("mlflow-skinny", "mlflow"),
}


class MissingDependencyError(MeddlError, ImportError):
    """An optional package needed for this feature is not installed.

    It is both a :class:`MeddlError` (so the CLI reports it
    cleanly) and an :class:`ImportError` (so ``except ImportError`` works).
    """


def import_optional(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` with the pip command.

    Args:
        module: Dotted module name, e.g. ``"pydicom"`` or ``"monai.transforms"``.
        purpose: What needs it, for the message, e.g. ``"Reading DICOM files"``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        package, extra = _PACKAGES.get(top, (top, "all"))
        raise MissingDependencyError(
            f"{purpose} needs the '{package}' package, which is not installed "
            f"({exc}). Install it with: pip install 'meddl[{extra}]'"
        ) from exc


class MissingNameError(MeddlError, AttributeError):
    """A name a meddl namespace does not have (Keras's ``keras.layers.StringLookup``, a typo): an
    :class:`AttributeError`, so ``hasattr`` and ``getattr(..., default)`` work, with what to use instead."""


def missing_name(namespace: str, name: str, public: Iterable[str], notes: Mapping[str, str] | None = None
                 ) -> AttributeError:
    """The error a namespace's module ``__getattr__`` raises for ``name``: what meddl offers instead where
    ``notes`` says (Keras names meddl does not have), else the closest public name."""
    if name.startswith("_"):  # Python's own probes (__path__, __wrapped__, ...): the plain error, quickly
        return AttributeError(f"module {namespace!r} has no attribute {name!r}")
    note = (notes or {}).get(name)
    if note:
        return MissingNameError(f"{namespace} has no {name!r} (a Keras name meddl does not have): {note}")
    return MissingNameError(f"{namespace} has no {name!r}.{did_you_mean(name, public)}")
