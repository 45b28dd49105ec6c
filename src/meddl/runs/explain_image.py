"""``explain_run`` for image runs: heatmaps of chosen cases, overlays, and the trust checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from meddl.explain.common import check_method_trust, completeness_summary
from meddl.runs.explain_data import (RunData, RunRows, model_output, prediction_table, predict_rows, resolve_targets,
                                     sample_rows)
from meddl.explain.core import attribute
from meddl.explain.gradcam import grad_cam
from meddl.explain.overlays import select_cases
from meddl.explain.result import Explanation

#: Random orders for the image deletion/insertion reference (each costs 2 x (n_steps + 1) forward passes per case).
IMAGE_RANDOM_ORDERS = 3
#: Training images drawn as GradientSHAP's background set.
BACKGROUND_IMAGES = 16


def _choose_cases(run: Any, rows: RunRows, predicted: pd.DataFrame, n_cases: int):
    names = run.class_names
    proba = predicted[[f"prob_{name}" for name in names]].to_numpy()
    chosen_class = predicted["predicted"].map({name: k for k, name in enumerate(names)}).to_numpy(dtype=np.int64)
    confidence = proba[np.arange(len(proba)), chosen_class]
    cases = select_cases(confidence, chosen_class, rows.y, n_per_kind=n_cases)
    positions = np.asarray([i for i, _ in cases], dtype=np.int64)
    return positions, [kind for _, kind in cases]


def explain_images(run: Any, rows: RunRows, from_test: bool, methods: tuple[str, ...], target: Any, baseline: Any,
                   layer: str | None, n_cases: int, options: dict[str, Any], notes: list[str],
                   data: RunData | None = None):
    predicted = predict_rows(run, rows)
    if from_test:
        positions, kinds = _choose_cases(run, rows, predicted, n_cases)
        rows, predicted = rows.take(positions), predicted.iloc[positions].reset_index(drop=True)
    else:
        kinds = ["input"] * len(rows.x)
    targets, rule = resolve_targets(run, predicted, target)
    predictions = prediction_table(run, predicted, targets)
    if rows.y is not None:
        predictions["y_true"] = [run.class_names[int(k)] for k in rows.y]
    predictions["case_kind"] = kinds
    reference = 0.0 if baseline is None else baseline
    seed, batch_size = options["seed"], options["batch_size"]
    background = sample_rows(data.split("train"), BACKGROUND_IMAGES, seed) if (
        data is not None and "gradient_shap" in methods) else None
    f = model_output(run)
    if len(f.members) > 1:
        notes.append(f"Ensemble of {len(f.members)} members: attributions explain the members' mean probability; "
                     f"Grad-CAM maps are the mean of the members' maps.")

    def heatmaps(module, x, method):
        if method == "grad_cam":  # an ensemble's map is the mean of its members' maps
            maps = [grad_cam(member, x, target=targets, layer=layer, batch_size=batch_size) for member in module.members]
            return np.mean(maps, axis=0), None
        references = background if method == "gradient_shap" and background is not None else reference
        values = attribute(module, x, method, baseline=references, target=targets, n_steps=options["n_steps"],
                           n_samples=options["n_samples"], batch_size=batch_size, seed=seed)
        return values.sum(axis=-1), values  # signed evidence per pixel (channels summed)

    maps, trust = {}, {}
    for method in methods:
        maps[method], values = heatmaps(f, rows.x, method)
        trust[method] = check_method_trust(f, lambda module, x, method=method: heatmaps(module, x, method)[0],
                                           rows.x, maps[method], targets, baseline=reference, units=None,
                                           n_random=IMAGE_RANDOM_ORDERS, seed=seed, batch_size=batch_size)
        if method == "integrated_gradients":
            trust[method]["completeness"] = completeness_summary(f, rows.x, values, targets, baseline=reference,
                                                                 n_steps=options["n_steps"], batch_size=batch_size)
    if "gradient_shap" in methods and background is None:
        notes.append("GradientSHAP used the baseline image as its only reference: the training images could not be "
                     "reloaded" + (f" ({data.error})." if data is not None and data.error else "."))
    baseline_info = {"kind": "zeros" if baseline is None else "custom",
                     "description": "a black image (all pixels 0 after preprocessing)" if baseline is None
                     else "a given reference image / value",
                     "gradient_shap": (f"{len(background)} training images drawn at random (seed {seed})"
                                       if background is not None else None)}
    if "grad_cam" in methods:
        notes.append(f"Grad-CAM at layer {layer!r}, on the class score before the softmax, upsampled to the image size.")
    result = Explanation(kind="image", task=run.task, problem=run.info["problem"], methods=methods, target=rule,
                         baseline=baseline_info, predictions=predictions, heatmaps=maps, trust=trust, notes=notes,
                         seed=seed, source=rows.source)
    return result, rows.x
