"""Models: ``Sequential``, functional ``Model(inputs, outputs)``, and saving/loading (no pickle)."""

from meddl.models.functional import Functional
from meddl.models.model import Model
from meddl.models.saving import clone_model, load_model, model_from_json, save_model
from meddl.models.sequential import Sequential

__all__ = ["Functional", "Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
