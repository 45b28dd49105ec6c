"""Calibration benchmark: which rows fit the post-hoc calibration map (``evaluation.calibration_rows``).

Wisconsin breast cancer (scikit-learn's copy, the ``meddl quickstart`` config: default model, positive class
malignant), one split (``--split-seed``, default 0) and ``--seeds`` training seeds (``training.seed`` 0..N-1).
Each seed is trained with ``evaluation.calibration_rows`` ``validation`` (the map fitted on the 85 validation
rows) and ``cross_fitted`` (on 5-fold out-of-fold logits over the 484 development rows), and, for reference,
with no recalibration (``evaluation.calibration: none``). Per run: the chosen method, test AUROC, calibration
slope and intercept with 95% bootstrap CIs, Brier score, and the CPU seconds of the fit (1 thread). The summary
counts the seeds whose slope CI covers 1 (an interval unbounded above covers 1 when its finite lower end is <= 1).

``--cv-repeats R`` adds (repeated) 5-fold cross-validation (``meddl.cross_validate``) of the same config in both
modes: every one of the 569 rows is predicted once per repeat by a fold's model, each fold fitting its map on its
own rows as a run would, and the pooled out-of-fold slope, intercept and Brier (with CIs) judge the maps on 569
rows instead of 85.

Measured 2026-12-01 (shared 2-core machine, load ~1.5, 1 thread; see meddl.runs.calibration_rows):
  split seed 0, seeds 0-4:   validation   slope 1.44-1.84 (mean 1.68), CI covers 1 in 0/5, Brier 0.0344, CPU 0.9 s
                             cross_fitted slope 0.91-1.06 (mean 0.99), CI covers 1 in 5/5, Brier 0.0427, CPU 1.9 s
                             none         slope 0.46-0.65 (mean 0.57), Brier 0.0493; AUROC 0.991 in all three
  new split per seed:        validation 1/5 (mean slope 1.73, Brier 0.0360); cross_fitted 4/5 (1.10, 0.0343)
  ensemble 3, split seed 0:  validation 0/5 (1.59, 0.0338); cross_fitted 5/5 (1.07, 0.0424)
  5-fold CV x 3 (pooled):    validation slope 1.78-2.01, 0/3, Brier 0.029-0.031, CPU 12.4 s;
                             cross_fitted slope 1.12-1.19, 3/3, Brier 0.024-0.025, CPU 25.6 s

Usage: python bench/calibration.py [--seeds 5] [--split-seed 0] [--vary-split] [--resamples 1000] [--ensemble 1]
                                   [--modes none,validation,cross_fitted] [--cv-repeats 0]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from meddl.runs import RunLog, get_task, load_config
from meddl.studies import cross_validate

MODES = {"none": {"calibration": "none"},
         "validation": {"calibration_rows": "validation"},
         "cross_fitted": {"calibration_rows": "cross_fitted"}}


def wisconsin_config(seed: int, split_seed: int, evaluation: dict, resamples: int, ensemble: int = 1) -> dict:
    return {"task": "diagnosis",
            "data": {"source": "builtin", "name": "wisconsin-breast-cancer", "positive_class": "malignant",
                     "split": {"seed": split_seed}},
            "training": {"seed": seed, "ensemble": ensemble},
            "evaluation": {"n_resamples": resamples, "conformal_coverage": None, **evaluation}}


def interval(entry: dict) -> tuple[float, float | None]:
    """``(low, high)`` of a metric's 95% CI; ``high`` is ``None`` when it is unbounded above."""
    if entry.get("ci95"):
        return tuple(entry["ci95"])
    reason = entry.get("reason") or ""
    if "finite end" in reason:
        finite = float(reason.rsplit("is ", 1)[1].rstrip("."))
        return (finite, None) if finite < entry["value"] else (float("-inf"), finite)
    return float("nan"), float("nan")


def shown(entry: dict) -> str:
    low, high = interval(entry)
    return f"{entry['value']:.3f} [{low:.2f}, {'inf' if high is None else f'{high:.2f}'}]"


def covers_one(entry: dict) -> bool:
    low, high = interval(entry)
    return low <= 1.0 and (high is None or high >= 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--vary-split", action="store_true", help="split seed = training seed (a new test set each)")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--modes", default="none,validation,cross_fitted")
    parser.add_argument("--ensemble", type=int, default=1, help="training.ensemble (fold models: single members)")
    parser.add_argument("--cv-repeats", type=int, default=0, help="also cross-validate, this many repeats")
    args = parser.parse_args()
    torch.set_num_threads(1)
    modes = args.modes.split(",")
    summary: dict[str, list] = {mode: [] for mode in modes}
    print(f"Wisconsin, {'split seed = training seed' if args.vary_split else f'split seed {args.split_seed}'}, "
          f"ensemble {args.ensemble}, {args.seeds} training seeds, {args.resamples} bootstrap resamples, 1 thread")
    print(f"  {'seed':<5}{'rows':<14}{'method':<13}{'AUROC':<8}{'slope [95% CI]':<24}{'intercept [95% CI]':<26}"
          f"{'Brier':<8}{'CPU s':>6}")
    for seed in range(args.seeds):
        for mode in modes:
            config = load_config(wisconsin_config(seed, seed if args.vary_split else args.split_seed, MODES[mode],
                                                  args.resamples, args.ensemble))
            cpu = time.process_time()
            result = get_task("diagnosis").fit(config, log=RunLog())
            cpu = time.process_time() - cpu
            test = result.metrics["test"]["metrics"]
            method = (result.metrics.get("calibration") or {}).get("method", "none")
            slope, intercept = test["calibration_slope"], test["calibration_intercept"]
            summary[mode].append((test["auroc"]["value"], covers_one(slope), test["brier"]["value"], cpu,
                                  slope["value"], intercept["value"]))
            print(f"  {seed:<5}{mode:<14}{method:<13}{test['auroc']['value']:<8.4f}{shown(slope):<24}"
                  f"{shown(intercept):<26}{test['brier']['value']:<8.4f}{cpu:>6.1f}", flush=True)
    print("  summary (mean over seeds): AUROC, slope CIs covering 1, slope, intercept, Brier, CPU seconds")
    for mode, rows in ((m, r) for m, r in summary.items() if r):
        aurocs, covered, briers, cpus, slopes, intercepts = zip(*rows)
        print(f"  {mode:<14}AUROC {statistics.mean(aurocs):.4f}  covers 1: {sum(covered)}/{len(rows)}  "
              f"slope {statistics.mean(slopes):.2f}  intercept {statistics.mean(intercepts):+.2f}  "
              f"Brier {statistics.mean(briers):.4f}  CPU {statistics.mean(cpus):.1f}s")
    if args.cv_repeats:
        cross_validated(args.cv_repeats, [m for m in modes if m != "none"], args.resamples)


def cross_validated(repeats: int, modes: list[str], resamples: int) -> None:
    print(f"\nWisconsin, 5-fold cross-validation x {repeats} repeats (split seeds 0..{repeats - 1}), pooled "
          "out-of-fold test metrics per repeat")
    out = Path(tempfile.mkdtemp(prefix="meddl-bench-calibration-"))
    for mode in modes:
        config = wisconsin_config(0, 0, MODES[mode], resamples)
        cpu = time.process_time()
        result = cross_validate(config, folds=5, repeats=repeats, out=out / mode)
        cpu = time.process_time() - cpu
        for repeat, pooled in sorted(result.summary["out_of_fold"].items()):
            test = pooled["metrics"]
            print(f"  {mode:<14}repeat {repeat}  AUROC {test['auroc']['value']:.4f}  "
                  f"slope {shown(test['calibration_slope'])}  intercept {shown(test['calibration_intercept'])}  "
                  f"Brier {shown(test['brier'])}")
        print(f"  {mode:<14}CPU {cpu:.1f}s for {5 * repeats} fold runs")


if __name__ == "__main__":
    main()
