"""Real-image section of bench/explain.py: do the explanations hold up on PneumoniaMNIST?

Trains the ``default`` image model (a small ResNet) on the PneumoniaMNIST
subset for a bounded time, then, for every heat-map method and for what
``auto`` picks (scored on validation images, never the test images):

* the cascading randomisation test (Adebayo et al.): Spearman of |map| and SSIM
  after every weight is random, and how many images it is defined on;
* deletion and insertion gains over random orders with 95% bootstrap CIs, on
  at least 200 test images, the blurred image as baseline;
* ROAD (remove and debias) with its CI;
* seconds per image of the map itself;
* the border/corner share of the maps (the population view's shortcut check).

The explained class is "pneumonia" (label 1) for every image.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from meddl.evaluation import evaluate_predictions
from meddl.explain.faithfulness import blurred_baseline, faithfulness, road
from meddl.explain.gradcam import resolution_layer
from meddl.explain.image_methods import AUTO_CANDIDATES, choose_method, image_explainer, method_label
from meddl.explain.population import shortcut_warning
from meddl.explain.randomization import cascading_randomization
from meddl.models.presets import build_model

CLASS_NAMES = ["normal", "pneumonia"]


def load(path: str):
    data = np.load(path)

    def split(name):
        return (data[f"{name}_images"] / 255.0).astype(np.float32)[..., None], data[f"{name}_labels"][:, 0].astype(int)

    return split("train"), split("val"), split("test")


def train(train_split, *, epochs: int, seconds: float, seed: int = 0, chunk: int = 1024):
    """Fit in chunks of ``chunk`` images, stopping at the first chunk boundary after ``seconds`` (at least one chunk)."""
    torch.manual_seed(seed)
    model = build_model("default", kind="image", input_shape=(28, 28, 1), n_outputs=2, output_activation="softmax")
    model.compile("adam", "sparse_categorical_crossentropy", learning_rate=1e-3)
    images, labels = train_split
    weights = len(labels) / (2 * np.bincount(labels))
    rng = np.random.default_rng(seed)
    start, seen = time.perf_counter(), 0
    for _ in range(epochs):
        order = rng.permutation(len(labels))
        for first in range(0, len(order), chunk):
            part = order[first:first + chunk]
            model.fit(images[part], labels[part], epochs=1, batch_size=64, verbose=0,
                      class_weight={0: weights[0], 1: weights[1]}, seed=seed + seen)
            seen += len(part)
            if time.perf_counter() - start > seconds:
                model.eval()
                return model, seen / len(labels), time.perf_counter() - start
    model.eval()
    return model, seen / len(labels), time.perf_counter() - start


def run(path: str, *, n_test: int = 200, n_val: int = 32, epochs: int = 3, train_seconds: float = 150,
        ig_steps: int = 8, cascade_steps: int = 2, curve_steps: int = 8, n_random: int = 1, seed: int = 0,
        log=print) -> dict:
    train_split, val_split, test_split = load(path)
    model, done_epochs, train_time = train(train_split, epochs=epochs, seconds=train_seconds, seed=seed)
    log(f"trained {done_epochs:.2f} epochs in {train_time:.0f} s")
    test_x, test_y = test_split
    proba = model.predict(test_x)
    metrics = evaluate_predictions("binary", test_y, proba[:, 1], n_resamples=200)["metrics"]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(test_x), size=min(n_test, len(test_x)), replace=False))
    x, targets = test_x[pick], np.ones(len(pick), dtype=np.int64)
    val_pick = np.sort(rng.choice(len(val_split[0]), size=min(n_val, len(val_split[0])), replace=False))
    val_x = val_split[0][val_pick]
    layer, size = resolution_layer(model)
    explainers = {m: image_explainer(m, n_steps=ig_steps, seed=seed) for m in AUTO_CANDIDATES}
    explainers["smooth_integrated_gradients"] = image_explainer("smooth_integrated_gradients",
                                                                n_steps=max(2, ig_steps // 2), n_samples=4, seed=seed)
    start = time.perf_counter()
    choice = choose_method(model, val_x, np.ones(len(val_x), dtype=np.int64), explainers,
                           baseline=blurred_baseline(val_x), seed=seed, n_steps=curve_steps, n_random=n_random)
    choice_time = time.perf_counter() - start
    log(f"auto chose {choice.method} in {choice_time:.0f} s")
    baseline = blurred_baseline(x)
    rows = []
    order = [choice.method] + [m for m in explainers if m != choice.method]  # auto's pick first
    for method, explain in ((m, explainers[m]) for m in order):
        start = time.perf_counter()
        maps = explain(model, x, targets)
        per_image = (time.perf_counter() - start) / len(x)
        randomization = cascading_randomization(model, x, lambda module, images, e=explain: e(module, images, targets),
                                                seed=seed, max_steps=cascade_steps)
        faith = faithfulness(model, x, maps, baseline=baseline, target=targets, n_steps=curve_steps, n_random=n_random,
                             seed=seed)
        removed = road(model, x, maps, target=targets, fractions=(0.2, 0.5, 0.8), seed=seed)
        log(f"{method}: {time.perf_counter() - start:.0f} s; randomisation {randomization['status']}, "
            f"{faith['reason']}")
        rows.append({"method": method, "seconds_per_image": per_image, "randomization": randomization,
                     "faithfulness": faith, "road": removed["score"], "shortcut": shortcut_warning(maps)})
    return {"metrics": metrics, "epochs": done_epochs, "train_seconds": train_time, "layer": layer, "map_size": size,
            "n_test": len(x), "n_val": len(val_x), "choice": choice, "choice_seconds": choice_time, "rows": rows,
            "cascade_steps": cascade_steps, "ig_steps": ig_steps, "curve_steps": curve_steps, "n_random": n_random}


def _ci(entry: dict) -> str:
    if entry["mean"] is None:
        return "undefined"
    return f"{entry['mean']:+.4f} [{entry['ci_low']:+.4f}, {entry['ci_high']:+.4f}]"


def report(result: dict) -> str:
    auroc = result["metrics"]["auroc"]
    lines = [f"PneumoniaMNIST subset, default image model: {result['epochs']:.2f} epochs in {result['train_seconds']:.0f} s; "
             f"test AUROC {auroc['value']:.3f} [{auroc['ci95'][0]:.3f}, {auroc['ci95'][1]:.3f}]",
             f"Explained class: 'pneumonia'. Grad-CAM layer {result['layer']!r}, map {result['map_size'][0]}x"
             f"{result['map_size'][1]} (upsampled to 28x28). Baseline: each image blurred (sigma 3.5 px).",
             f"{result['n_test']} test images; cascading randomisation in {result['cascade_steps']} steps "
             f"(output layer first); deletion/insertion {result['curve_steps']} steps vs {result['n_random']} random "
             f"orders per image; IG {result['ig_steps']} steps; 95% bootstrap CIs over images.",
             "",
             f"{'method':<30} {'randomisation (all weights random)':<44} {'deletion gain [95% CI]':<27} "
             f"{'insertion gain [95% CI]':<27} {'ROAD LeRF-MoRF [95% CI]':<27} {'corner/border share':<20} {'s/image':>8}"]
    for row in result["rows"]:
        rand = row["randomization"]
        defined = rand["n_rows"] - rand["undefined_rows"]
        spearman = "undef" if rand["spearman"] is None else f"{rand['spearman']:.2f}"
        text = f"{rand['status']}: SSIM {rand['ssim']:.2f}, rho {spearman} ({defined}/{rand['n_rows']} def.)" \
            if rand["ssim"] is not None else f"{rand['status']} (0/{rand['n_rows']} defined)"
        faith = row["faithfulness"]
        short = row["shortcut"]
        lines.append(f"{method_label(row['method']):<30} {text:<44} {_ci(faith['deletion_gain']):<27} "
                     f"{_ci(faith['insertion_gain']):<27} {_ci(row['road']):<27} "
                     f"{short['corners_share']:.2f} / {short['border_share']:.2f}{'':<7} {row['seconds_per_image']:>8.4f}")
    lines += ["", f"auto ({result['n_val']} validation images, {result['choice_seconds']:.0f} s): "
              f"{method_label(result['choice'].method)}. {result['choice'].reason}",
              f"(area shares of the image: corners {result['rows'][0]['shortcut']['corners_area']:.2f}, "
              f"border band {result['rows'][0]['shortcut']['border_area']:.2f})"]
    chosen = next(r for r in result["rows"] if r["method"] == result["choice"].method)
    ok = (chosen["randomization"]["status"] == "passed" and chosen["faithfulness"]["deletion_gain"]["ci_low"] > 0
          and chosen["faithfulness"]["insertion_gain"]["ci_low"] > 0)
    lines.append(f"Requirement (auto's method: randomisation passes, deletion and insertion CIs above 0): "
                 f"{'MET' if ok else 'NOT MET'}")
    return "\n".join(lines)
