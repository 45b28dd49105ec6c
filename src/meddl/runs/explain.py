"""``explain_run``: explain a trained run's predictions and check that the explanations can be trusted.

What is explained is the network's output for the target class: the class
probability (softmax of the logits, before any post-hoc calibration) for
diagnosis runs, the predicted value (in the outcome's units) for regression
runs. Grad-CAM explains the class score before the softmax, as in its paper.
For an ensemble run the explained output is the members' mean probability (or
prediction), as ``Run.predict`` reports it; Grad-CAM maps are averaged over members.

Tables: per-patient attributions summed back to the original columns, relative
to a reference patient (default: zeros in the standardised space, the mean patient);
global importance (mean |attribution| and permutation importance on the test
split, with bootstrap CIs). Images: Grad-CAM and pixel attributions for chosen
cases, drawn as overlays. Both: the randomisation test, deletion/insertion
curves against random orders, and the completeness error of Integrated Gradients.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from meddl.errors import ConfigError, DataError
from meddl.validation import check_positive_int
from meddl.runs import explain_data as _run_data
from meddl.explain.checks import check_seed
from meddl.runs.explain_image import explain_images
from meddl.runs.explain_table import explain_table
from meddl.explain.core import check_method
from meddl.explain.gradcam import find_target_layer
from meddl.explain.importance import PERMUTATION_METRICS
from meddl.explain.methods import DEFAULT_METHODS, IMAGE_METHODS, TABLE_METHODS
from meddl.explain.result import Explanation
from meddl.runs.run import Run, load_run

__all__ = ["explain_run"]



def _check_methods(methods: Any, kind: str) -> tuple[str, ...]:
    allowed = TABLE_METHODS if kind == "table" else IMAGE_METHODS
    if methods is None or methods == "auto" or (not isinstance(methods, str) and list(methods) == ["auto"]):
        return DEFAULT_METHODS[kind]
    names = (methods,) if isinstance(methods, str) else tuple(methods)
    if "auto" in names:
        raise ConfigError(f"The 'methods' parameter of explain_run takes 'auto' alone (meddl then chooses); got "
                          f"{list(names)}. Name the methods to compare them yourself.")
    if not names:
        raise ConfigError(f"The 'methods' parameter of explain_run must name at least one of {list(allowed)}.")
    for name in names:
        if kind == "table" and name == "grad_cam":
            raise ConfigError("The method 'grad_cam' is for image models with convolution layers; this run's model "
                              "takes a table. Use 'integrated_gradients' or 'gradient_shap' instead.")
        if kind == "image" and name == "kernel_shap":
            raise ConfigError("The method 'kernel_shap' samples coalitions of a table's columns and is too slow for "
                              "the pixels of an image. Use 'occlusion' or 'integrated_gradients' instead.")
        check_method(name, f"explain_run on {kind} runs", allowed)
    if len(set(names)) != len(names):
        raise ConfigError(f"The 'methods' parameter of explain_run lists a method twice: {list(names)}.")
    return names


def explain_run(run: Any, inputs: Any = None, *, out_dir: str | Path | None = None, methods: Any = None,
                target: Any = None, baseline: Any = None, n_steps: int = 64, n_samples: int | None = None,
                layer: str | None = None, n_cases: int = 3, max_rows: int | None = None,
                permutation_metric: str | None = None, n_repeats: int = 5, n_resamples: int = 200,
                trust_rows: int = 32, trust_images: int = 200, seed: int = 0,
                batch_size: int | None = None) -> Explanation:
    """Explain a run's predictions, check the explanations, write them to ``out_dir``, return an :class:`Explanation`.

    Args:
        run: a :class:`~meddl.Run` or its folder (diagnosis or regression).
        inputs: what to explain, as ``Run.predict`` takes it (a table or images).
            ``None``: the run's test split, reloaded from the data source in its
            config -- every patient of a table; for images the ``n_cases`` most
            confident, least confident and misclassified test cases.
        out_dir: folder to write (default ``<run>/explanations``); replaced atomically.
        methods: ``"auto"`` (default) or a list. Tables: ``integrated_gradients``,
            ``gradient_shap``, ``kernel_shap``, ``occlusion`` (auto: the first two). Images:
            ``grad_cam``, ``grad_cam_plus_plus``, ``integrated_gradients``,
            ``smooth_integrated_gradients``, ``occlusion``, ``gradient_shap``; auto: the
            candidates are scored on validation images by their faithfulness score and the
            best one whose randomisation test does not fail is used (the reason is in the notes).
        target: the class to explain: ``None`` = the run's named positive class (binary;
            ``run.info["positive_class"]``, else the last class) or the predicted class
            (multiclass); ``"predicted"``; a class name or index.
        baseline: the reference input. Tables: ``"mean"`` (default; zeros in the
            standardised space: numeric columns at the training mean, no category
            level set), ``"median"`` (training medians and most frequent levels) or a
            dict of original values (see :func:`table_baseline`).
            Images: ``None`` (a black image, zeros), a number or an image. GradientSHAP
            draws its references from up to 64 training rows instead when the run's data can be reloaded.
        n_steps: Integrated Gradients steps. n_samples: GradientSHAP / KernelSHAP samples.
        layer: Grad-CAM layer name (default: the last convolution layer).
        n_cases: image cases per kind (misclassified / most / least confident).
        max_rows: explain at most this many table rows (the first ones).
        permutation_metric: ``"auroc"`` (default for classification) or ``"loss"``.
        n_repeats, n_resamples: shuffles per column and bootstrap resamples (0: no CI).
        trust_rows: table rows used by the randomisation and deletion/insertion checks (the first ones).
        trust_images: images (drawn at random from the explained split) for the image trust
            checks, with 95% CIs over them, and for the population view.
        seed: makes everything repeatable (same seed, same attributions).
        batch_size: model inputs per forward pass (default: sized to the input).

    Raises:
        ConfigError: a method the model type does not support (with what to use
            instead), an unknown class, layer or parameter value.
        DataError: inputs that ``Run.predict`` would refuse (e.g. a missing
            column), or a test split that cannot be rebuilt.

    Example:
        >>> result = explain_run("runs/sepsis")                            # doctest: +SKIP
        >>> result.importance["integrated_gradients"].head(3)              # doctest: +SKIP
    """
    owner = "explain_run"
    run = run if isinstance(run, Run) else load_run(run)
    if run.info.get("problem") not in ("binary", "multiclass", "regression"):
        raise ConfigError(f"explain_run explains networks that predict classes or values; this run's task is "
                          f"{run.task!r}: use Run.explain, which explains its risk score or treatment effect.")
    kind = run.info["input"]["kind"]
    methods = _check_methods(methods, kind)
    options = {"n_steps": check_positive_int(n_steps, "n_steps", owner),
               "n_samples": None if n_samples is None else check_positive_int(n_samples, "n_samples", owner),
               "batch_size": None if batch_size is None else check_positive_int(batch_size, "batch_size", owner),
               "seed": check_seed(seed, owner), "n_repeats": check_positive_int(n_repeats, "n_repeats", owner),
               "n_resamples": check_positive_int(n_resamples, "n_resamples", owner, minimum=0),
               "trust_rows": check_positive_int(trust_rows, "trust_rows", owner),
               "trust_images": check_positive_int(trust_images, "trust_images", owner), "target": target}
    n_cases = check_positive_int(n_cases, "n_cases", owner)
    if max_rows is not None:
        max_rows = check_positive_int(max_rows, "max_rows", owner)
    if kind == "image" and ({"auto", "grad_cam", "grad_cam_plus_plus"} & set(methods)):
        layer = None if layer is None else find_target_layer(run.model, layer)
    elif layer is not None:
        raise ConfigError(f"The 'layer' parameter of {owner} is for Grad-CAM on image runs; got layer={layer!r} "
                          f"with methods {list(methods)}.")
    if permutation_metric is None:
        permutation_metric = "auroc" if run.class_names is not None else "loss"
    if permutation_metric not in PERMUTATION_METRICS or (permutation_metric == "auroc" and run.class_names is None):
        allowed = list(PERMUTATION_METRICS) if run.class_names is not None else ["loss"]
        raise ConfigError(f"The 'permutation_metric' parameter of {owner} must be one of {allowed} for this "
                          f"{run.info['problem']} run. Got {permutation_metric!r} instead.")
    data = _run_data.RunData(run)
    notes: list[str] = []
    if inputs is None:
        rows = data.split("test")
        if rows is None:
            raise DataError(data.error or "The run has no test rows to explain; pass 'inputs'.")
    else:
        rows = _run_data.given_rows(run, inputs)
    if kind == "table":
        if max_rows is not None and len(rows.ids) > max_rows:
            notes.append(f"Explained the first {max_rows} of {len(rows.ids)} rows (max_rows).")
            rows = rows.take(np.arange(max_rows))
        result = explain_table(run, rows, data, methods, target, baseline, permutation_metric, options, notes)
        images = None
    else:
        result, images = explain_images(run, rows, inputs is None, methods, target, baseline, layer, n_cases,
                                        options, notes, data)
    result.write(Path(out_dir) if out_dir is not None else run.path / "explanations", images)
    return result
