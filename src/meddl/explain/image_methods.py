"""Heat-map methods for image models behind one signature, and ``auto``: the method chosen by evidence.

Every method becomes ``explain(module, images, targets) -> maps (n, H, W)``, so the
trust checks and the choice treat them alike:

* ``grad_cam`` / ``grad_cam_plus_plus`` -- at the deepest layer whose map keeps
  at least a quarter of the image side (:func:`meddl.explain.resolution_layer`),
  or a named layer;
* ``integrated_gradients``, ``smooth_integrated_gradients`` (IG with a noise
  tunnel), ``occlusion``, ``gradient_shap`` -- Captum's, against the baseline
  (default: each image blurred, see :func:`meddl.explain.blurred_baseline`),
  channels summed.

An ensemble (a module with ``members``) gets the mean of its members' CAMs; the
gradient methods explain the module as a whole. :func:`choose_method` scores
candidates on validation images by the faithfulness score (deletion and
insertion gains over random orders, :func:`meddl.explain.faithfulness`) and
keeps the best one whose randomisation test did not fail, and says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from meddl.errors import ConfigError, unknown_name_error
from meddl.explain.core import attribute
from meddl.explain.faithfulness import blurred_baseline, faithfulness
from meddl.explain.gradcam import grad_cam, grad_cam_plus_plus, resolution_layer
from meddl.explain.randomization import cascading_randomization

__all__ = ["IMAGE_HEATMAP_METHODS", "AUTO_CANDIDATES", "image_explainer", "choose_method", "MethodChoice",
           "method_label", "occlusion_window"]

IMAGE_HEATMAP_METHODS = ("grad_cam", "grad_cam_plus_plus", "integrated_gradients", "smooth_integrated_gradients",
                         "occlusion", "gradient_shap")
#: What ``auto`` compares (GradientSHAP needs training images as references; it is used when asked for).
AUTO_CANDIDATES = ("grad_cam", "grad_cam_plus_plus", "integrated_gradients", "smooth_integrated_gradients",
                   "occlusion")
_LABELS = {"grad_cam": "Grad-CAM", "grad_cam_plus_plus": "Grad-CAM++", "integrated_gradients": "Integrated Gradients",
           "smooth_integrated_gradients": "SmoothGrad-IG (noise tunnel)", "occlusion": "Occlusion",
           "gradient_shap": "GradientSHAP", "kernel_shap": "KernelSHAP"}

Explainer = Callable[[Any, Any, np.ndarray], np.ndarray]


def method_label(method: str) -> str:
    """A method's name for people.

    Example:
        >>> method_label("grad_cam_plus_plus")
        'Grad-CAM++'
    """
    return _LABELS.get(method, method)


def _members(module: Any) -> list:
    return list(getattr(module, "members", None) or [module])


def image_explainer(method: str, *, layer: str | None = None, baseline: Any = "blur", n_steps: int = 32,
                    n_samples: int | None = None, seed: int = 0, batch_size: int | None = None) -> Explainer:
    """``explain(module, images, targets) -> maps (n, H, W)`` for one heat-map method.

    Args:
        method: one of :data:`IMAGE_HEATMAP_METHODS`.
        layer: the CAM layer (default: :func:`meddl.explain.resolution_layer` of the first member).
        baseline: ``"blur"`` (each image blurred), a number, one image, or training images (GradientSHAP).
        n_steps, n_samples, seed, batch_size: as for :func:`meddl.explain.attribute`.

    Example:
        >>> import numpy as np
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> model = Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        ...                     GlobalAveragePooling2D(), Dense(2, activation="softmax")])
        >>> explain = image_explainer("occlusion")
        >>> explain(model, np.ones((2, 8, 8, 1), "float32"), np.array([1, 1])).shape
        (2, 8, 8)
    """
    if method not in IMAGE_HEATMAP_METHODS:
        raise unknown_name_error("image explanation method", method, IMAGE_HEATMAP_METHODS, error_class=ConfigError)

    def explain(module: Any, images: Any, targets: np.ndarray) -> np.ndarray:
        if method in ("grad_cam", "grad_cam_plus_plus"):
            function = grad_cam if method == "grad_cam" else grad_cam_plus_plus
            members = _members(module)
            name = layer if layer is not None else resolution_layer(members[0])[0]
            return np.mean([function(member, images, target=targets, layer=name, batch_size=batch_size)
                            for member in members], axis=0)
        reference = blurred_baseline(images) if isinstance(baseline, str) and baseline == "blur" else baseline
        values = attribute(module, images, method, baseline=reference, target=targets, n_steps=n_steps,
                           n_samples=n_samples, batch_size=batch_size, seed=seed,
                           window=occlusion_window(np.shape(images)[1:]) if method == "occlusion" else None)
        return values.sum(axis=-1)  # signed evidence per pixel (channels summed)

    return explain


def occlusion_window(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """A patch of a quarter of the image side (7 x 7 for 28 x 28), all channels; strides are half of it.

    About 8 x 8 = 64 occluded copies per image whatever its size (an eighth of
    the side with stride 1 needs 676 copies of a 28 x 28 image: 25 s for 50
    images on 2 busy CPU cores). A lesion smaller than the patch is still found,
    at the patch's resolution.

    Example:
        >>> occlusion_window((28, 28, 1)), occlusion_window((224, 224, 3))
        ((7, 7, 1), (56, 56, 3))
    """
    height, width, channels = shape
    return max(2, height // 4), max(2, width // 4), channels


@dataclass
class MethodChoice:
    """What ``auto`` chose and why: ``method``, ``reason`` (words) and each candidate's ``scores``.

    Example:
        >>> MethodChoice("occlusion", "the only candidate").to_dict()["method"]
        'occlusion'
    """

    method: str
    reason: str
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    n_images: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "reason": self.reason, "n_images": self.n_images, "candidates": self.scores}


def choose_method(f: Any, images: Any, targets: np.ndarray, explainers: dict[str, Explainer], *, baseline: Any,
                  n_steps: int = 10, n_random: int = 2, seed: int = 0, batch_size: int | None = None) -> MethodChoice:
    """Score each candidate on ``images`` (validation, not test) and return the most faithful one that is not random.

    Each candidate gets the faithfulness score (the mean of its deletion and
    insertion gains over random orders, 95% CI over images) and the
    randomisation test with every weight randomised at once. Candidates whose
    randomisation test fails are set aside (a map that survives random weights
    shows the image, not the model); among the rest, those whose deletion and
    insertion gains both have CIs above zero come first, and the best score wins.

    Args:
        f: the explained module (probabilities, or one output); images: ``(n, H, W, C)``.
        targets: the explained output index per image.
        explainers: name -> ``explain(module, images, targets)`` (see :func:`image_explainer`).
        baseline: the deletion/insertion reference (e.g. :func:`meddl.explain.blurred_baseline` of ``images``).

    Example:
        >>> import numpy as np, torch
        >>> from meddl import Sequential
        >>> from meddl.layers import Conv2D, Dense, GlobalAveragePooling2D
        >>> torch.manual_seed(0) and None
        >>> model = Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        ...                     GlobalAveragePooling2D(), Dense(2, activation="softmax")])
        >>> images = np.random.default_rng(0).random((6, 8, 8, 1)).astype("float32")
        >>> choice = choose_method(model, images, np.ones(6, int), {"occlusion": image_explainer("occlusion")},
        ...                        baseline=0.0)
        >>> choice.method, sorted(choice.scores["occlusion"])[:3]
        ('occlusion', ['deletion_gain', 'faithfulness', 'faithfulness_score'])
    """
    if not explainers:
        raise ConfigError("The 'explainers' parameter of choose_method must name at least one candidate method.")
    scores: dict[str, dict[str, Any]] = {}
    for name, explain in explainers.items():
        maps = explain(f, images, targets)
        faith = faithfulness(f, images, maps, baseline=baseline, target=targets, n_steps=n_steps, n_random=n_random,
                             seed=seed, batch_size=batch_size)
        check = cascading_randomization(f, images, lambda module, x, explain=explain: explain(module, x, targets),
                                        seed=seed, max_steps=1)
        scores[name] = {"faithfulness_score": faith["score"], "faithfulness": faith["status"],
                        "deletion_gain": faith["deletion_gain"], "insertion_gain": faith["insertion_gain"],
                        "randomization": check["status"], "reason": check["reason"]}
    eligible = {name: s for name, s in scores.items() if s["randomization"] != "failed"} or scores
    # Candidates whose deletion and insertion gains both have CIs above zero come first, then by score.
    ranked = sorted(eligible, key=lambda name: (eligible[name]["faithfulness"] != "passed",
                                                -(eligible[name]["faithfulness_score"]["mean"] or -np.inf)))
    best = ranked[0]
    score = scores[best]["faithfulness_score"]
    others = "; ".join(f"{method_label(name)} {_fmt(scores[name]['faithfulness_score'])}" for name in ranked[1:])
    excluded = [name for name in scores if name not in eligible]
    both = ("; its deletion and insertion gains both beat random orders (CIs above zero)"
            if scores[best]["faithfulness"] == "passed" else
            "; no candidate had both its deletion and insertion gains above zero with confidence")
    leader = max(scores, key=lambda name: scores[name]["faithfulness_score"]["mean"] or -np.inf)
    reason = (f"{method_label(best)} had the highest faithfulness score (mean of deletion and insertion gains over "
              f"random orders) on {len(images)} validation images" + ("" if leader == best else
                                                                       " among candidates passing both curves")
              + f": {_fmt(score)}{both}" + (f"; then {others}" if others else "") + ".")
    if excluded:
        reason += " Set aside because their randomisation test failed: " + ", ".join(
            f"{method_label(name)} ({scores[name]['reason']})" for name in excluded) + "."
    if len(eligible) == len(scores) and any(s["randomization"] == "failed" for s in scores.values()):
        reason += " Every candidate failed the randomisation test; the most faithful one is used, with that warning."
    return MethodChoice(best, reason, scores, len(images))


def _fmt(score: dict[str, Any]) -> str:
    if score["mean"] is None:
        return "undefined"
    if score["ci_low"] is None:
        return f"{score['mean']:.4f}"
    return f"{score['mean']:.4f} [{score['ci_low']:.4f}, {score['ci_high']:.4f}]"
