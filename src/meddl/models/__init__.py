"""Models: ``Sequential`` and saving/loading (no pickle)."""

from meddl.models.saving import load_model, save_model
from meddl.models.sequential import Sequential

__all__ = ["Sequential", "load_model", "save_model"]
