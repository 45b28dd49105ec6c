"""Peak memory of ``meddl predict`` on a large CSV: streamed in chunks vs the whole table at once.

Trains a small diagnosis run on a synthetic clinical table, writes new tables of 10 and N rows, and runs
each prediction in a fresh subprocess, reading its peak resident memory at its end: ``VmHWM`` of
/proc/self/status on Linux, because ``resource.getrusage``'s ru_maxrss survives ``exec`` and so reports
the launching process's peak when that was higher (this script's own, after writing the large table);
``ru_maxrss`` elsewhere. "chunked" is ``meddl predict RUN IN --out OUT`` (meddl.runs.write_predictions); "whole table"
is the former path (``Run.predict`` of the whole file, then the whole CSV text written at once).
Target (issue 13, item 16): N = 1,000,000 rows peaks within 150 MB of the 10-row case.

Usage: python bench/predict_memory.py [--rows 1000000] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

import meddl

CHILD = """
import resource, sys
from meddl.cli import main
from meddl.io import atomic_write_text
from meddl.runs import load_run
run_dir, source, out, mode = sys.argv[1:5]
if mode == "chunked":
    assert main(["predict", run_dir, source, "--out", out]) == 0
else:
    atomic_write_text(out, load_run(run_dir).predict(source).to_csv(index=False))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
try:
    peak = next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
except OSError:
    pass
print("PEAK_MB", peak)
"""


def clinical_table(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n).round()
    crp = rng.lognormal(1.0, 0.8, n)
    sex = rng.choice(["female", "male"], n)
    site = rng.choice(["A", "B", "C"], n)
    risk = 0.08 * (age - 60) + 0.9 * np.log(crp) + (sex == "male") * 0.5 + rng.normal(0, 0.5, n)
    return pd.DataFrame({"age": age, "crp": crp, "sex": sex, "site": site, "noise": rng.normal(size=n),
                         "label": np.where(risk > np.median(risk), "sepsis", "no sepsis")})


def peak_mb(run_dir: Path, source: Path, out: Path, mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", CHILD, str(run_dir), str(source), str(out), mode],
                          capture_output=True, text=True, check=True)
    return float(done.stdout.split("PEAK_MB")[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", default=None, help="where to write the tables (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        root = Path(folder)
        clinical_table(400).to_csv(root / "train.csv", index=False)
        run = meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(root / "train.csv"),
                                                         "label": "label", "positive_class": "sepsis"},
                           "training": {"epochs": 3}, "evaluation": {"n_resamples": 0}}, out=root / "run")
        for n in (10, args.rows):
            clinical_table(n, seed=1).drop(columns=["label"]).to_csv(root / f"new_{n}.csv", index=False)
        print(f"{'rows':>10}  {'mode':<12}{'peak MB':>9}")
        peaks = {}
        for mode in ("whole table", "chunked"):
            for n in (10, args.rows):
                peaks[mode, n] = peak_mb(run.path, root / f"new_{n}.csv", root / f"p_{n}_{mode[0]}.csv",
                                         "chunked" if mode == "chunked" else "whole")
                print(f"{n:>10,}  {mode:<12}{peaks[mode, n]:>9.0f}")
        same = (root / f"p_{args.rows}_c.csv").read_bytes() == (root / f"p_{args.rows}_w.csv").read_bytes()
        for mode in ("whole table", "chunked"):
            print(f"{mode}: {args.rows:,} rows peak {peaks[mode, args.rows] - peaks[mode, 10]:+.0f} MB over 10 rows")
        print(f"chunked output identical to the whole-table output: {same}")


if __name__ == "__main__":
    main()
