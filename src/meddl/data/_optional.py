"""Lazy imports of optional dependencies, with an install hint when one is missing.

Heavy or optional packages (pydicom, nibabel, PIL, MONAI, h5py, pyarrow,
scikit-survival) are imported inside the functions that need them, so
``import meddl.data`` stays fast and works with only the core dependencies.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from meddl.errors import MeddlError

__all__ = ["MissingDependencyError", "import_optional"]

# module name -> (pip package name, meddl extra that installs it)
_PACKAGES = {
    "PIL": ("pillow", "imaging"),
    "pydicom": ("pydicom", "imaging"),
    "nibabel": ("nibabel", "imaging"),
    "monai": ("monai", "imaging"),
    "h5py": ("h5py", "survival"),
    "sksurv": ("scikit-survival", "survival"),
    "pyarrow": ("pyarrow", "parquet"),
}


class MissingDependencyError(MeddlError, ImportError):
    """An optional package needed for this feature is not installed.

    It is both a :class:`~meddl.errors.MeddlError` (so the CLI reports it
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
