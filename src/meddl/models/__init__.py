"""Models: ``Sequential``, functional ``Model(inputs, outputs)``, and saving/loading (no pickle)."""

from meddl.models.functional import Functional
from meddl.models.model import Model
from meddl.models.saving import load_model, save_model
from meddl.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "load_model", "save_model"]
