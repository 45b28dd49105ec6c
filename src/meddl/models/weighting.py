"""Per-sample loss weights for ``fit``: ``sample_weight`` and Keras's ``class_weight`` (or ``"balanced"``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from meddl.errors import DataError, MeddlError
from meddl.models.inputs import as_array, check_finite

__all__ = ["sample_weights", "class_indices", "validation_weights"]


def class_indices(y_t: torch.Tensor, loss) -> torch.Tensor:
    """The class of every prepared target, whatever the loss's target encoding."""
    kind = loss.target_kind
    if kind == "sparse":
        return y_t
    if kind == "categorical":
        return y_t.argmax(dim=-1)
    if kind == "binary":
        return y_t[:, 0].round().long()
    raise MeddlError(f"'class_weight' needs a classification loss; the loss is '{loss.name}'. Use sample_weight instead.")


def sample_weights(y_t: torch.Tensor, loss, class_weight: Any = None, sample_weight: Any = None) -> torch.Tensor | None:
    """One weight per sample (on ``y_t``'s device), or ``None`` when neither weighting is asked for.

    ``"balanced"`` gives class c the weight n / (n_classes · n_c), as scikit-learn does.
    """
    weights = None
    if sample_weight is not None:
        array = as_array(sample_weight, "sample_weight").astype(np.float32).reshape(-1)
        check_finite(array, "sample_weight")
        if len(array) != len(y_t):
            raise DataError(f"'sample_weight' must have one weight per sample ({len(y_t)}); got {len(array)}.")
        if (array < 0).any():
            raise DataError("'sample_weight' must be non-negative.")
        weights = torch.as_tensor(array, device=y_t.device)
    if class_weight is None:
        return weights
    if y_t.ndim > 2:
        raise MeddlError(f"'class_weight' weighs whole samples by their class; these targets have one value per "
                         f"position (shape {tuple(y_t.shape)}). Use sample_weight, or a loss of your own that "
                         "weighs the positions.")
    classes = class_indices(y_t, loss)
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise MeddlError(f"The 'class_weight' must be a dict {{class: weight}} or 'balanced'. Got {class_weight!r} instead.")
        counts = torch.bincount(classes).float()
        table = torch.where(counts > 0, len(classes) / (len(counts[counts > 0]) * counts.clamp(min=1)), 0.0)
    else:
        if not isinstance(class_weight, dict):
            raise MeddlError(f"The 'class_weight' must be a dict {{class: weight}} or 'balanced'. "
                             f"Got {type(class_weight).__name__} instead.")
        size = max(int(classes.max()) + 1, max(int(k) for k in class_weight) + 1)
        table = torch.ones(size)
        for key, value in class_weight.items():
            table[int(key)] = float(value)
    per_sample = table.to(y_t.device)[classes]
    return per_sample if weights is None else weights * per_sample


def validation_weights(targets: list[torch.Tensor], loss, validation_data: Any) -> list[torch.Tensor]:
    """The sample weights of Keras's ``validation_data=(x, y, sample_weight)`` (they weigh ``val_loss``), as a
    list of one tensor; empty for ``(x, y)`` or a weight of ``None``."""
    if len(validation_data) < 3 or validation_data[2] is None:
        return []
    try:
        return [sample_weights(targets[0], loss, None, validation_data[2])]
    except DataError as error:
        raise DataError(str(error).replace("'sample_weight'", "'validation_data[2]'")) from None
