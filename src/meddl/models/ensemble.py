"""Deep ensembles: several members trained with different seeds, probabilities averaged, spread as uncertainty.

``training.ensemble: 5`` trains members with seeds ``seed, seed + 1, ...``.
Classification members are combined by averaging their probabilities; the
combined output is handed on as ``log(mean probability)``, whose softmax is the
mean probability, so calibration, thresholds and conformal sets work unchanged
and an ensemble of identical members gives exactly that member's predictions.
Regression members are averaged. The members' spread is the uncertainty:
``prob_<class>_sd`` (standard deviation across members) and
``prob_<class>_low``/``_high`` (2.5th and 97.5th percentiles across members, a
95% interval; with few members it is close to their range). Spreads are of the
members' uncalibrated probabilities.

A run folder holds member 0 in ``model/`` and the others in ``model_1/``, ...
(:class:`meddl.runs.folder.RunFolder` owns those names).
"""

from __future__ import annotations

import numpy as np

__all__ = ["member_outputs", "combine_outputs", "spread_columns"]

_LOW, _HIGH = 2.5, 97.5


def member_outputs(models, x: np.ndarray) -> np.ndarray:
    """Each member's raw outputs (logits for classification), shape ``(members, N, outputs)``, float64."""
    outputs = []
    for model in models:
        tensor = model.predict_tensor(model._to_device(x), logits=True)
        outputs.append(tensor.cpu().numpy().astype(np.float64))
    return np.stack(outputs)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    proba = np.exp(shifted)
    return proba / proba.sum(axis=-1, keepdims=True)


def combine_outputs(outputs: np.ndarray, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(combined, per_member)`` from ``member_outputs``.

    Classification: ``combined`` is ``log`` of the members' mean probabilities
    (use it as logits), ``per_member`` the members' probabilities ``(members, N, classes)``.
    Regression: ``combined`` is the members' mean output, ``per_member`` the outputs.
    """
    if not classification:
        return outputs.mean(axis=0), outputs
    proba = _softmax(outputs)
    if len(proba) == 1:
        return outputs[0], proba
    mean = proba.mean(axis=0)
    return np.log(np.clip(mean, np.finfo(np.float64).tiny, None)), proba


def spread_columns(per_member: np.ndarray, class_names: list[str] | None,
                   target_scaling: dict | None = None) -> dict[str, np.ndarray]:
    """Uncertainty columns for the prediction table: ``prob_<class>_sd/_low/_high`` (or ``predicted_*``)."""
    if class_names is None:
        values = per_member[..., 0]
        if target_scaling:
            values = values * target_scaling["std"] + target_scaling["mean"]
        return {"predicted_sd": values.std(axis=0, ddof=1 if len(values) > 1 else 0),
                "predicted_low": np.percentile(values, _LOW, axis=0),
                "predicted_high": np.percentile(values, _HIGH, axis=0)}
    columns = {}
    ddof = 1 if len(per_member) > 1 else 0
    for k, name in enumerate(class_names):
        columns[f"prob_{name}_sd"] = per_member[:, :, k].std(axis=0, ddof=ddof)
        columns[f"prob_{name}_low"] = np.percentile(per_member[:, :, k], _LOW, axis=0)
        columns[f"prob_{name}_high"] = np.percentile(per_member[:, :, k], _HIGH, axis=0)
    return columns
