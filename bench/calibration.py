"""Calibration benchmark: which rows fit the post-hoc calibration map (``evaluation.calibration_rows``).

Wisconsin breast cancer (scikit-learn's copy, the ``meddl quickstart`` config: default model, positive class
malignant), one split (``--split-seed``, default 0) and ``--seeds`` training seeds (``training.seed`` 0..N-1).
Each seed is trained with ``evaluation.calibration_rows`` ``validation`` (the map fitted on the 85 validation
rows) and ``cross_fitted`` (on 5-fold out-of-fold logits over the 484 development rows), and, for reference,
with no recalibration (``evaluation.calibration: none``). Per run: the chosen method, test AUROC, calibration
slope and intercept with 95% bootstrap CIs, Brier score, and the CPU seconds of the fit (1 thread). The summary
counts the seeds whose slope CI covers 1 (an interval unbounded above covers 1 when its finite lower end is <= 1).

Usage: python bench/calibration.py [--seeds 5] [--split-seed 0] [--vary-split] [--resamples 1000] [--ensemble 1]
                                   [--modes none,validation,cross_fitted]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from meddl.runs import RunLog, get_task, load_config

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
    for mode, rows in summary.items():
        aurocs, covered, briers, cpus, slopes, intercepts = zip(*rows)
        print(f"  {mode:<14}AUROC {statistics.mean(aurocs):.4f}  covers 1: {sum(covered)}/{len(rows)}  "
              f"slope {statistics.mean(slopes):.2f}  intercept {statistics.mean(intercepts):+.2f}  "
              f"Brier {statistics.mean(briers):.4f}  CPU {statistics.mean(cpus):.1f}s")


if __name__ == "__main__":
    main()
