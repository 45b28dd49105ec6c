"""Accuracy without hand-tuning: meddl's default config against ``model.preset: auto`` within a fixed budget.

For each data set, two runs on the same splits: the config with only ``task`` and
``data`` (the defaults), and the same config with ``model: auto`` and
``training.time_budget`` (the search sees training and validation rows only, then
the best config is trained once). Printed per run: the test metric with its 95% CI,
the test calibration slope with its CI (diagnosis; survival: at each horizon),
wall time and the number of trials the budget allowed.

Data (``--data`` or ``$MEDDL_BENCH_DATA``, e.g. ../shared/data):

* ``pneumonia``  ``medmnist/pneumoniamnist_subset.npz`` (its own train/val/test split; test AUROC, accuracy)
* ``wisconsin``  scikit-learn's breast-cancer table (built in)
* ``gbsg2``, ``whas500``  scikit-survival's tables (built in; test C-index)
* ``gbsg-split`` ``deepsurv/gbsg_cancer_train_test.h5`` (train Rotterdam, test GBSG; 15% of train for validation)
* ``ihdp1`` .. ``ihdp5``  ``ihdp/ihdp_npci_N.csv`` (63/27/10 % split; out-of-sample √PEHE)
* ``ihdp1x10``  realisation 1 with every outcome multiplied by 10 (√PEHE should be ~10x realisation 1's)

Usage: python bench/accuracy.py [--data DIR] [--budget 10m] [--sets wisconsin,gbsg2,ihdp1] [--out DIR]

The full comparison the issue asks for uses ``--budget 10m`` on a quiet machine; on a
shared 2-core machine use a small budget and a few sets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from pathlib import Path

import pandas as pd

import meddl
from meddl.runs.tuning_config import parse_duration

ALL_SETS = ("pneumonia", "wisconsin", "gbsg2", "whas500", "gbsg-split", "ihdp1", "ihdp2", "ihdp3", "ihdp4", "ihdp5",
            "ihdp1x10")


def _ihdp_scaled(path: Path, factor: float, folder: Path) -> Path:
    frame = pd.read_csv(path, header=None)
    frame.iloc[:, 1:5] *= factor  # y_factual, y_cfactual, mu0, mu1
    scaled = folder / f"{path.stem}_x{factor:g}.csv"
    frame.to_csv(scaled, header=False, index=False)
    return scaled


def base_config(name: str, data: Path, scratch: Path) -> dict:
    """The config with only ``task`` and ``data`` (and the split each benchmark prescribes)."""
    if name == "pneumonia":
        return {"task": "diagnosis", "data": {"source": "medmnist", "class_names": ["normal", "pneumonia"],
                                              "path": str(data / "medmnist" / "pneumoniamnist_subset.npz")}}
    if name == "wisconsin":
        return {"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer",
                                              "positive_class": "malignant"}}
    if name in ("gbsg2", "whas500"):
        return {"task": "survival", "data": {"source": "builtin", "name": name}}
    if name == "gbsg-split":
        return {"task": "survival", "data": {"source": "deepsurv_h5",
                                             "path": str(data / "deepsurv" / "gbsg_cancer_train_test.h5")}}
    if name.startswith("ihdp"):
        realisation = name[4]
        path = data / "ihdp" / f"ihdp_npci_{realisation}.csv"
        if name.endswith("x10"):
            path = _ihdp_scaled(path, 10.0, scratch)
        return {"task": "treatment", "data": {"source": "ihdp", "path": str(path),
                                              "split": {"val_size": 0.27, "test_size": 0.10, "seed": 0}}}
    raise SystemExit(f"unknown set {name!r}; choose from {', '.join(ALL_SETS)}")


def _cell(entry: dict | None) -> str:
    if not entry or entry.get("value") is None:
        return "n/a"
    ci = entry.get("ci95")
    if ci:
        return f"{entry['value']:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"
    unbounded = re.search(r"finite end of the 95% interval is ([-0-9.e]+)", entry.get("reason") or "")
    if unbounded:  # a calibration slope under complete separation in some resamples: [finite end, unbounded)
        return f"{entry['value']:.3f} [{float(unbounded.group(1).rstrip('.')):.3f}, unbounded)"
    return f"{entry['value']:.3f}"


def summarise(run) -> dict[str, str]:
    test = run.metrics["test"]
    if run.task == "diagnosis":
        m = test["metrics"]
        return {"metric": f"AUROC {_cell(m['auroc'])}; acc {_cell(m['accuracy'])}",
                "calibration": f"slope {_cell(m['calibration_slope'])}"}
    if run.task == "survival":
        m = test.get("metrics", {})
        slopes = [k for k in m if k.startswith("calibration_slope@")]  # one per horizon (event-time quartiles)
        return {"metric": f"C-index {_cell(m.get('c_index'))}",
                "calibration": "; ".join(f"{k.replace('calibration_', '')} {_cell(m[k])}" for k in slopes) or "n/a"}
    return {"metric": f"sqrt(PEHE) out-of-sample {_cell(test['effect_metrics']['sqrt_pehe'])}",
            "calibration": "n/a"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MEDDL_BENCH_DATA"),
                        help="benchmark data folder (default $MEDDL_BENCH_DATA)")
    parser.add_argument("--budget", default="10m", help="search budget per data set for 'auto' (e.g. 90s, 10m)")
    parser.add_argument("--sets", default=",".join(ALL_SETS), help="comma-separated: " + ", ".join(ALL_SETS))
    parser.add_argument("--variants", default="default,auto", help="which runs per set (default: default,auto)")
    parser.add_argument("--out", default=None, help="where the runs go (default: a temporary folder)")
    args = parser.parse_args()
    if not args.data:
        raise SystemExit("give the benchmark data folder: --data DIR or MEDDL_BENCH_DATA=DIR")
    data = Path(args.data)
    budget = parse_duration(args.budget)
    out = Path(args.out or tempfile.mkdtemp(prefix="meddl-accuracy-"))
    rows = []
    for name in args.sets.split(","):
        base = base_config(name, data, out)
        for variant in args.variants.split(","):
            config = json.loads(json.dumps(base))
            if variant == "auto":
                config["model"] = {"preset": "auto"}
                config.setdefault("training", {})["time_budget"] = budget
            started, cpu_started = time.perf_counter(), time.process_time()
            run = meddl.train(config, out / f"{name}-{variant}")
            seconds = time.perf_counter() - started
            tuning = run.path / "tuning" / "summary.json"
            search = json.loads(tuning.read_text()) if tuning.is_file() else {}
            trials = search.get("trial_counts")
            chosen = ("-" if not search else "untuned" if search.get("chosen_is_untuned")
                      else f"trial {search['best_trial']}")
            row = {"set": name, "variant": variant, **summarise(run), "seconds": round(seconds),
                   "cpu_seconds": round(time.process_time() - cpu_started),
                   "trials": ", ".join(f"{v} {k}" for k, v in sorted(trials.items())) if trials else "-",
                   "scoring": f"{search['folds']}-fold CV" if search.get("folds") else "val split" if search else "-",
                   "chosen": chosen, "preset": run.config.model.preset}
            if search.get("selection"):
                print(f"  {name} auto: {search['selection']['reason']}", flush=True)
            rows.append(row)
            print(" | ".join(str(v) for v in row.values()), flush=True)
    print()
    frame = pd.DataFrame(rows)
    print("| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns))
    for row in rows:  # a markdown table without the optional 'tabulate' package
        print("| " + " | ".join(str(v) for v in row.values()) + " |")
    print(f"\nBudget per 'auto' run: {budget:.0f} s of search (then one final training). Runs in {out}.")


if __name__ == "__main__":
    main()
