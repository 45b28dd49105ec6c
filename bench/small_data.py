"""Small-data benchmark: how much do augmentation, ensembles and self-supervised pretraining buy on little data?

PneumoniaMNIST subset (`$MEDDL_BENCH_DATA/medmnist/pneumoniamnist_subset.npz`, real
chest X-rays, 28x28; train 3,882 / val 524 / test 624). The model trains on
nested stratified subsets of the training images (10%, 25%, 100%); validation
(early stopping, threshold) and test stay the same. Four recipes, all in one run:

  (a) seed-cnn      the seed's CNN, no augmentation
  (b) default       meddl's default image model (residual CNN, `light` augmentation)
  (c) +aug+ens5     (b) with the `medium` policy and a 5-member ensemble
  (d) +pretrained   (c) whose members start from an encoder pretrained with SimCLR
                    on ALL training images without their labels (pretraining cost
                    shown once, on its own line), pretrained layers at 0.1x the
                    learning rate

Each cell: test AUROC [95% bootstrap CI], CPU seconds (process CPU time, all
threads) and wall seconds. Every recipe uses meddl's defaults otherwise
(class_weight auto, early stopping on validation AUROC).

--quick: fractions 10% and 25%, width-16 models, 6 epochs (patience 3), a
3-member ensemble in (c)/(d) and 4 pretraining epochs: a few minutes on 2 cores.

Usage: python bench/small_data.py [--data ../shared/data] [--quick] [--out runs/bench-small-data]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import meddl
from meddl.studies.learning_curve import nested_subsets

CLASSES = ["normal", "pneumonia"]


def subset_file(source: dict, fraction: float, folder: Path) -> tuple[Path, int]:
    """A MedMNIST-style .npz with a stratified share of the training images and all val/test images."""
    labels = source["train_labels"][:, 0]
    rows = nested_subsets(labels, len(labels), [fraction], seed=0)[0]
    path = folder / f"train-{fraction:g}.npz"
    np.savez(path, train_images=source["train_images"][rows], train_labels=source["train_labels"][rows],
             **{k: source[k] for k in ("val_images", "val_labels", "test_images", "test_labels")})
    return path, len(rows)


def timed(function, *args, **kwargs):
    cpu, wall = time.process_time(), time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.process_time() - cpu, time.perf_counter() - wall


def recipes(settings: dict, encoder: Path) -> dict[str, dict]:
    base = {"epochs": settings["epochs"], "early_stopping": {"patience": settings["patience"]}}
    options = {"width": settings["width"]}
    return {
        "(a) seed-cnn": {"model": "seed-cnn", "training": {**base, "augmentation": "none"}},
        "(b) default": {"model": {"preset": "default", "options": options}, "training": base},
        f"(c) +aug+ens{settings['members']}": {"model": {"preset": "default", "options": options},
                                               "training": {**base, "augmentation": "medium",
                                                            "ensemble": settings["members"]}},
        "(d) +pretrained": {"model": {"preset": "default", "options": options, "init_from": str(encoder),
                                      "pretrained_learning_rate_factor": 0.1},
                            "training": {**base, "augmentation": "medium", "ensemble": settings["members"]}},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=os.environ.get("MEDDL_BENCH_DATA", "../shared/data"))
    parser.add_argument("--quick", action="store_true", help="fewer fractions, epochs and members (minutes)")
    parser.add_argument("--out", default=None, help="keep the run folders here (default: a temporary folder)")
    args = parser.parse_args()
    path = Path(args.data) / "medmnist" / "pneumoniamnist_subset.npz"
    if not path.is_file():
        raise SystemExit(f"{path} not found: pass --data or set MEDDL_BENCH_DATA.")
    settings = ({"fractions": [0.1, 0.25], "width": 16, "epochs": 6, "patience": 3, "members": 3,
                 "pretrain_epochs": 4} if args.quick else
                {"fractions": [0.1, 0.25, 1.0], "width": 32, "epochs": 40, "patience": 10, "members": 5,
                 "pretrain_epochs": 30})
    source = dict(np.load(path))
    print(f"PneumoniaMNIST subset: {len(source['train_labels'])} training images "
          f"({int((source['train_labels'] == 0).sum())} normal), {len(source['val_labels'])} val, "
          f"{len(source['test_labels'])} test; torch threads {torch.get_num_threads()}"
          + ("; --quick" if args.quick else ""))
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out) if args.out else Path(scratch)
        out.mkdir(parents=True, exist_ok=True)
        full = {"task": "diagnosis", "data": {"source": "medmnist", "path": str(path), "class_names": CLASSES},
                "model": {"preset": "default", "options": {"width": settings["width"]}},
                "training": {"augmentation": "strong"}}
        encoder, pre_cpu, pre_wall = timed(meddl.pretrain, full, out=out / "encoder",
                                           epochs=settings["pretrain_epochs"], batch_size=256)
        pre_info = json.loads((encoder / "run.json").read_text())
        print(f"SimCLR pretraining on all {pre_info['n_images']} training images (no labels): "
              f"{settings['pretrain_epochs']} epochs, loss {pre_info['final_loss']:.3f}, "
              f"CPU {pre_cpu:.0f} s, wall {pre_wall:.0f} s\n")
        rows = []
        for fraction in settings["fractions"]:
            data_path, n_train = subset_file(source, fraction, Path(scratch))
            for name, recipe in recipes(settings, encoder).items():
                config = {"task": "diagnosis",
                          "data": {"source": "medmnist", "path": str(data_path), "class_names": CLASSES},
                          "model": recipe["model"], "training": recipe["training"],
                          "evaluation": {"n_resamples": 1000}}
                slug = name.split(")")[0].strip("(")
                run, cpu, wall = timed(meddl.train, config, out=out / f"{slug}-{fraction:g}")
                auroc = run.metrics["test"]["metrics"]["auroc"]
                rows.append((fraction, n_train, name, auroc["value"], auroc["ci95"], cpu, wall))
                print(f"  {fraction:>5.0%} {n_train:>5}  {name:<18} AUROC {auroc['value']:.3f} "
                      f"[{auroc['ci95'][0]:.3f}, {auroc['ci95'][1]:.3f}]  CPU {cpu:6.0f} s  wall {wall:5.0f} s",
                      flush=True)
    print(f"\n{'train':>6} {'rows':>5}  {'recipe':<18} {'test AUROC [95% CI]':<24} {'CPU s':>7} {'wall s':>7}")
    for fraction, n_train, name, value, ci, cpu, wall in rows:
        print(f"{fraction:>6.0%} {n_train:>5}  {name:<18} {value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]     "
              f"{cpu:>7.0f} {wall:>7.0f}")
    print(f"{'':>6} {'':>5}  {'SimCLR pretraining':<18} {'(once, for (d))':<24} {pre_cpu:>7.0f} {pre_wall:>7.0f}")
    print("Reference (full official train set, 4,708 images): MedMNIST v2 ResNet-18 (28) test AUC 0.944.")


if __name__ == "__main__":
    main()
