"""Keras's ``keras.backend`` essentials: ``clear_session`` between experiments, and the constants custom
losses and layers read (``epsilon``, ``floatx``, ``image_data_format``, ``backend``).

Example:
    >>> import meddl
    >>> meddl.backend.clear_session()   # the next model's first Dense is 'dense' again
"""

from __future__ import annotations

import gc

import torch

from meddl.layers.base import reset_layer_names
from meddl.errors import missing_name

__all__ = ["backend", "clear_session", "epsilon", "floatx", "image_data_format"]


def clear_session() -> None:
    """Reset layer naming (the next ``Dense`` is ``dense`` again) and free memory, as Keras's ``clear_session``:
    call it between the models of a loop (cross-validation, a search) so names and memory do not pile up."""
    reset_layer_names()
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def backend() -> str:
    return "torch"


def epsilon() -> float:
    """Keras's fuzz factor, 1e-7 (meddl's losses clip probabilities with it)."""
    return 1e-7


def floatx() -> str:
    return "float32"


def image_data_format() -> str:
    """Images are channels-last ``(N, H, W, C)`` in meddl, as in Keras by default."""
    return "channels_last"

def __getattr__(name: str):
    raise missing_name("meddl.backend", name, __all__)
