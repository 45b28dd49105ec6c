"""Site recalibration benchmark: does ``meddl recalibrate`` fix a shifted test split's calibration?

PneumoniaMNIST's official test split differs from its validation split (conformal sets cover 76% of it against
90%): the default run's test calibration slope is 0.67, over-confident, while its validation images called for
sharper probabilities. A map fitted on validation cannot fix that; labelled cases from the test's own population
can. This script treats the test images as another site: for each of ``--halves`` random halves it runs
``meddl.runs.recalibrate_run`` on half A (the site's labelled cases, given as a MedMNIST file) and scores both
the original and the updated run on half B with ``Run.evaluate`` (calibration slope and intercept with 95%
bootstrap CIs, AUROC). The baseline is the original run on the same half B. No figure of half B is used to fit.

The run is trained here with the default config (``task`` and ``data`` only) unless ``--run`` names a trained
PneumoniaMNIST run folder.

Measured 2026-12-02 (shared 2-core machine, 1 thread; the default run of bench/accuracy.py, test AUROC 0.962,
20 random halves of 312 / 312 images, 500 bootstrap resamples; 1 minute in all):
  original run on half B:            mean slope 0.678, |log slope| 0.394, slope CI covers 1 in  4/20,
                                     mean intercept -2.807, mean AUROC 0.9606
  recalibrated on half A, on half B: mean slope 0.993, |log slope| 0.172, slope CI covers 1 in 14/20,
                                     mean intercept -0.007, mean AUROC 0.9606 (unchanged: the update is monotone)
  updates chosen by the closed test: logistic 18, intercept 2 (those two halves kept slopes of 0.57-0.58).
The six halves still off 1 lie on both sides (0.79-0.83 and 1.27-1.38): a 2-parameter update fitted on 312 cases
carries its own error to the next 312.

Usage: python bench/site_recalibration.py --data ../shared/data [--run RUN] [--halves 20] [--resamples 500]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np

import meddl
from meddl.runs import recalibrate_run


def pneumonia_config(npz: Path) -> dict:
    return {"task": "diagnosis", "data": {"source": "medmnist", "class_names": ["normal", "pneumonia"],
                                          "path": str(npz)}}


def write_cases(images: np.ndarray, labels: np.ndarray, path: Path) -> Path:
    """Labelled cases as a MedMNIST file: every split of it is scored, so they are spread over the three."""
    thirds = np.array_split(np.arange(len(labels)), 3)
    np.savez(path, **{f"{split}_{kind}": values[rows] for split, rows in zip(("train", "val", "test"), thirds)
                      for kind, values in (("images", images), ("labels", labels))})
    return path


def figures(metrics: dict) -> dict:
    values = metrics["metrics"]
    slope = values["calibration_slope"]
    low, high = slope.get("ci95") or (None, None)
    covers = low is not None and low <= 1 and (high is None or high >= 1)
    return {"slope": slope["value"], "covers": covers, "intercept": values["calibration_intercept"]["value"],
            "auroc": values["auroc"]["value"], "ci": (low, high)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the shared benchmark data folder")
    parser.add_argument("--run", type=Path, help="a trained PneumoniaMNIST run (default: train the default config)")
    parser.add_argument("--halves", type=int, default=20)
    parser.add_argument("--resamples", type=int, default=500)
    args = parser.parse_args()
    npz = args.data / "medmnist" / "pneumoniamnist_subset.npz"
    with np.load(npz) as arrays:
        images, labels = arrays["test_images"], arrays["test_labels"]
    with tempfile.TemporaryDirectory(prefix="meddl-site-") as scratch:
        scratch = Path(scratch)
        run_dir = args.run
        if run_dir is None:
            meddl.set_seed(0)
            run_dir = meddl.train(pneumonia_config(npz), out=scratch / "run").path
        original = meddl.load_run(run_dir)
        rng = np.random.default_rng(0)
        rows = []
        for half in range(args.halves):
            order = rng.permutation(len(labels))
            fit, held_out = order[: len(order) // 2], order[len(order) // 2:]
            site = write_cases(images[fit], labels[fit], scratch / f"site_{half}.npz")
            scored = write_cases(images[held_out], labels[held_out], scratch / f"held_out_{half}.npz")
            result = recalibrate_run(run_dir, pneumonia_config(site), scratch / f"site_run_{half}")
            before = figures(original.evaluate(pneumonia_config(scored), n_resamples=args.resamples, seed=half))
            updated = (meddl.load_run(result.run_dir) if result.run_dir is not None else original)
            after = figures(updated.evaluate(pneumonia_config(scored), n_resamples=args.resamples, seed=half))
            rows.append((result.update, before, after))
            print(f"half {half:2d}: update {result.update:<9} slope {before['slope']:.3f} -> {after['slope']:.3f} "
                  f"[{after['ci'][0]:.3f}, {after['ci'][1] if after['ci'][1] is None else round(after['ci'][1], 3)}]"
                  f"  intercept {before['intercept']:+.3f} -> {after['intercept']:+.3f}  "
                  f"AUROC {before['auroc']:.4f} -> {after['auroc']:.4f}", flush=True)
    for name, index in (("original run", 1), ("recalibrated on half A", 2)):
        chosen = [row[index] for row in rows]
        print(f"{name:<24} on half B: mean slope {statistics.mean(r['slope'] for r in chosen):.3f}, "
              f"|log slope| {statistics.mean(abs(np.log(r['slope'])) for r in chosen):.3f}, "
              f"slope CI covers 1 in {sum(r['covers'] for r in chosen)}/{len(chosen)}, "
              f"mean intercept {statistics.mean(r['intercept'] for r in chosen):+.3f}, "
              f"mean AUROC {statistics.mean(r['auroc'] for r in chosen):.4f}")
    updates = [row[0] for row in rows]
    print("updates chosen: " + ", ".join(f"{u} {updates.count(u)}" for u in sorted(set(updates))))


if __name__ == "__main__":
    main()
