"""``explain_run`` for image runs: the method (``auto``: chosen on validation images), case overlays, trust checks
on a sample of test images, and the population view. The algorithms live in image_methods, image_trust and
population; this module only feeds them the run's rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from meddl.explain.common import completeness_summary
from meddl.explain.faithfulness import blurred_baseline
from meddl.explain.gradcam import conv_layers, layer_map_size, resolution_layer
from meddl.explain.image_methods import AUTO_CANDIDATES, choose_method, image_explainer, method_label
from meddl.explain.image_trust import image_trust
from meddl.explain.overlays import select_cases
from meddl.explain.population import population_figure, population_maps, shortcut_warning
from meddl.explain.result import Explanation
from meddl.runs.explain_data import (RunData, RunRows, model_output, prediction_table, predict_rows, resolve_targets,
                                     sample_rows)

#: Training images drawn as GradientSHAP's background set.
BACKGROUND_IMAGES = 16
#: Validation images ``auto`` scores the candidate methods on.
AUTO_IMAGES = 48
#: Integrated Gradients steps and noisy copies while ``auto`` compares methods (the chosen one uses n_steps).
AUTO_STEPS, AUTO_NOISE_SAMPLES = 16, 4


def _choose_cases(run: Any, rows: RunRows, predicted: pd.DataFrame, n_cases: int):
    names = run.class_names
    proba = predicted[[f"prob_{name}" for name in names]].to_numpy()
    chosen_class = predicted["predicted"].map({name: k for k, name in enumerate(names)}).to_numpy(dtype=np.int64)
    confidence = proba[np.arange(len(proba)), chosen_class]
    cases = select_cases(confidence, chosen_class, rows.y, n_per_kind=n_cases)
    positions = np.asarray([i for i, _ in cases], dtype=np.int64)
    return positions, [kind for _, kind in cases]


def _sample(n: int, size: int, seed: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n, size=min(n, size), replace=False))


def explain_images(run: Any, rows: RunRows, from_test: bool, methods: tuple[str, ...], target: Any, baseline: Any,
                   layer: str | None, n_cases: int, options: dict[str, Any], notes: list[str],
                   data: RunData | None = None):
    all_predicted = predict_rows(run, rows)
    all_targets, rule = resolve_targets(run, all_predicted, target)
    seed, batch_size = options["seed"], options["batch_size"]
    f = model_output(run)
    if len(f.members) > 1:
        notes.append(f"Ensemble of {len(f.members)} members: attributions explain the members' mean probability; "
                     f"Grad-CAM maps are the mean of the members' maps.")
    reference = "blur" if baseline is None else baseline
    background = sample_rows(data.split("train"), BACKGROUND_IMAGES, seed) if (
        data is not None and "gradient_shap" in methods) else None
    cams = {"grad_cam", "grad_cam_plus_plus"}
    layer_name, map_size = None, None
    if conv_layers(f.members[0]):
        layer_name, map_size = ((layer, layer_map_size(f.members[0], layer)) if layer is not None
                                else resolution_layer(f.members[0]))

    def explainer(method: str, n_steps: int = options["n_steps"], n_samples: Any = options["n_samples"]):
        references = background if method == "gradient_shap" and background is not None else reference
        return image_explainer(method, layer=layer_name, baseline=references, n_steps=n_steps, n_samples=n_samples,
                               seed=seed, batch_size=batch_size)

    choice = None
    if methods == ("auto",):
        methods, choice = _auto(run, f, data, explainer, reference, options, notes, with_cam=layer_name is not None)
    sample = _sample(len(rows.x), options["trust_images"], seed)
    x, targets = rows.x[sample], all_targets[sample]
    removal = blurred_baseline(x) if isinstance(reference, str) else reference
    maps, trust = {}, {}
    for method in methods:
        explain = explainer(method)
        maps[method] = explain(f, x, targets)
        trust[method] = image_trust(f, x, maps[method], lambda module, images, e=explain: e(module, images, targets),
                                    targets=targets, baseline=removal, seed=seed, batch_size=batch_size)
        if method == "integrated_gradients":  # the total is all completeness needs: spread it over the channels
            channels = x.shape[-1]
            values = np.repeat(maps[method][..., None], channels, axis=-1) / channels
            trust[method]["completeness"] = completeness_summary(f, x, values, targets, baseline=removal,
                                                                 n_steps=options["n_steps"], batch_size=batch_size)
    notes.append(f"Trust checks and the population view use {len(sample)} of {len(rows.x)} images "
                 f"({rows.source}; drawn at random, seed {seed}); 95% CIs are bootstrap intervals over these images.")
    population = _population(run, rows, all_predicted, sample, maps[methods[0]], method_label(methods[0]), rule)
    if population["shortcut"]["warning"]:
        notes.append("Possible shortcut: " + population["shortcut"]["message"])
    if cams & set(methods):
        notes.append(f"Grad-CAM/Grad-CAM++ at layer {layer_name!r}, map {map_size[0]}x{map_size[1]} (the deepest "
                     f"layer keeping a quarter of the image side, unless named), on the class score before the "
                     f"softmax, upsampled to the image size.")
    if from_test:
        positions, kinds = _choose_cases(run, rows, all_predicted, n_cases)
    else:
        positions, kinds = np.arange(len(rows.x)), ["input"] * len(rows.x)
    cases, predicted = rows.take(positions), all_predicted.iloc[positions].reset_index(drop=True)
    predictions = prediction_table(run, predicted, all_targets[positions])
    if cases.y is not None:
        predictions["y_true"] = [run.class_names[int(k)] for k in cases.y]
    predictions["case_kind"] = kinds
    case_maps = {method: explainer(method)(f, cases.x, all_targets[positions]) for method in methods}
    baseline_info = {"kind": "blurred" if baseline is None else "custom",
                     "description": "each image blurred (Gaussian, sigma = 1/8 of the side): an in-distribution "
                                    "reference, not a black image" if baseline is None
                     else "a given reference image / value",
                     "gradient_shap": (f"{len(background)} training images drawn at random (seed {seed})"
                                       if background is not None else None)}
    result = Explanation(kind="image", task=run.task, problem=run.info["problem"], methods=methods, target=rule,
                         baseline=baseline_info, predictions=predictions, heatmaps=case_maps, trust=trust, notes=notes,
                         seed=seed, source=rows.source, population=population,
                         choice=None if choice is None else choice.to_dict(),
                         grad_cam_layer=None if layer_name is None else {"layer": layer_name, "map_size": map_size})
    return result, cases.x


def _auto(run, f, data, explainer, reference, options, notes, *, with_cam: bool):
    validation = data.split("val") if data is not None else None
    fallback = "grad_cam" if with_cam else "integrated_gradients"
    if validation is None:
        notes.append(f"Method 'auto': the run's validation images could not be reloaded, so {method_label(fallback)} "
                     f"was used without comparing methods" + (f" ({data.error})." if data is not None and data.error
                                                              else "."))
        return (fallback,), None
    pick = _sample(len(validation.x), AUTO_IMAGES, options["seed"])
    images = validation.x[pick]
    predicted = predict_rows(run, validation.take(pick))
    val_targets, _ = resolve_targets(run, predicted, options["target"])
    candidates = {m: explainer(m, n_steps=min(options["n_steps"], AUTO_STEPS),
                               n_samples=AUTO_NOISE_SAMPLES if m == "smooth_integrated_gradients" else None)
                  for m in AUTO_CANDIDATES if with_cam or m not in ("grad_cam", "grad_cam_plus_plus")}
    removal = blurred_baseline(images) if isinstance(reference, str) else reference
    choice = choose_method(f, images, val_targets, candidates, baseline=removal, seed=options["seed"],
                           batch_size=options["batch_size"])
    notes.append(f"Method 'auto' chose {method_label(choice.method)}: {choice.reason}")
    return (choice.method,), choice


def _population(run, rows, predicted, sample, maps, label, rule) -> dict[str, Any]:
    names = list(run.class_names)
    index = {name: k for k, name in enumerate(names)}
    predicted_class = predicted["predicted"].map(index).to_numpy(dtype=np.int64)[sample]
    shortcut = shortcut_warning(maps)
    out: dict[str, Any] = {"method": label, "n_images": int(len(sample)), "shortcut": shortcut, "groups": {}}
    if rows.y is None:
        return out
    positive = names.index(str(run.info.get("positive_class"))) if str(run.info.get("positive_class")) in names else None
    groups = population_maps(maps, rows.y[sample], predicted_class, class_names=names, positive=positive)
    out["groups"] = {name: {"n": g["n"], "map": g["map"]} for name, g in groups.items()}
    out["figure"] = population_figure(groups, title=f"Mean {label} map explaining {rule}, by group")
    return out
