"""Development data for the treatment networks' defaults: fresh draws of Hill's IHDP response surface B.

The IHDP benchmark files (``ihdp/ihdp_npci_{1..5}.csv``) are kept aside to
measure meddl, not to tune it. The defaults of TARNet/CFRNet/Dragonnet are
chosen here instead, on new outcomes drawn the way Hill (2011) drew the
benchmark's ("response surface B"), over the same 747 children's covariates and
treatment arms:

    Y(0) = exp((X + 0.5) β) + ε,   Y(1) = X β − ω + ε,   ε ~ N(0, 1),
    β_j ∈ {0, 0.1, 0.2, 0.3, 0.4} with probabilities (0.6, 0.1, 0.1, 0.1, 0.1),

``ω`` set so the average effect on the treated is 4. Each draw is split 63/27/10 %
(train / validation for early stopping / test) as in Shalit et al.; printed: the
out-of-sample √PEHE per draw, its mean and median, per setting.

Measured (8 draws, seeds 100-107, CFRNet x5, 1 thread): 3 x 200 representation with
the validation split unused 0.689 (median 0.543); 3 x 200 early-stopping on the validation
split 0.656 (0.538); 1 x 64 0.612 (0.441), 1 x 32 0.657 (0.443), 1 x 128 0.628 (0.472),
2 x 64 0.657 (0.491); 3 x 200 with 10 members 0.639 (0.525).

Usage: python bench/ihdp_simulated.py [--data ../shared/data] [--draws 8] [--members 5]
                                      [--units 64 --units 200,200,200 ...]
       python bench/ihdp_simulated.py --write-files DIR --seeds 300,301,302,303,304
         (draws in the IHDP files' layout, for bench/accuracy.py --data DIR --sets ihdp1,...)
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from meddl.treatment import CFRNet, EffectEnsemble, sqrt_pehe  # noqa: E402


def surface_b(x: np.ndarray, t: np.ndarray, seed: int) -> np.ndarray:
    """Hill's response surface B in the IHDP files' layout: columns t, y_factual, y_cfactual, mu0, mu1, x..."""
    rng = np.random.default_rng(seed)
    beta = rng.choice([0.0, 0.1, 0.2, 0.3, 0.4], size=x.shape[1], p=[0.6, 0.1, 0.1, 0.1, 0.1])
    mu0 = np.exp((x + 0.5) @ beta)
    mu1 = x @ beta
    mu1 = mu1 - (np.mean(mu1[t == 1] - mu0[t == 1]) - 4.0)
    y = np.where(t == 1, mu1, mu0) + rng.normal(size=len(t))
    y_cfactual = np.where(t == 1, mu0, mu1) + rng.normal(size=len(t))
    return np.column_stack([t, y, y_cfactual, mu0, mu1, x])


def draw_surface_b(x: np.ndarray, t: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A factual outcome and the true effect, drawn as Hill's response surface B."""
    table = surface_b(x, t, seed)
    return table[:, 1], table[:, 4] - table[:, 3]


def write_ihdp_files(x: np.ndarray, t: np.ndarray, seeds: list[int], folder: Path) -> None:
    """Draws in the benchmark's file layout (``folder/ihdp/ihdp_npci_1.csv`` ...), for ``bench/accuracy.py --data``."""
    (folder / "ihdp").mkdir(parents=True, exist_ok=True)
    for number, seed in enumerate(seeds, start=1):
        np.savetxt(folder / "ihdp" / f"ihdp_npci_{number}.csv", surface_b(x, t, seed), delimiter=",", fmt="%.6g")


def simulated_pehe(x: np.ndarray, t: np.ndarray, seed: int, units: tuple[int, ...], members: int) -> float:
    y, effect = draw_surface_b(x, t, seed)
    rows = np.arange(len(t))
    development, test = train_test_split(rows, test_size=0.10, stratify=t, random_state=seed)
    train, val = train_test_split(development, test_size=0.27 / 0.90, stratify=t[development], random_state=seed)
    mean, scale = x[train].mean(axis=0), x[train].std(axis=0) + 1e-12
    standard = (x - mean) / scale
    model = EffectEnsemble(CFRNet(representation_units=units, random_state=0), n_members=members, random_state=0)
    model.fit(standard[train], t[train], y[train], validation_data=(standard[val], t[val], y[val]))
    return sqrt_pehe(effect[test], model.predict_effect(standard[test]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MEDDL_BENCH_DATA", "../shared/data"))
    parser.add_argument("--draws", type=int, default=8)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--units", action="append", default=None,
                        help="representation layer sizes, e.g. 64 or 200,200,200 (repeat to compare)")
    parser.add_argument("--write-files", help="write draws in the IHDP layout to DIR/ihdp/ instead of training")
    parser.add_argument("--seeds", default="300,301,302,303,304", help="with --write-files: the draws' seeds")
    args = parser.parse_args()
    raw = np.loadtxt(Path(args.data) / "ihdp" / "ihdp_npci_1.csv", delimiter=",")
    t, x = raw[:, 0].astype(int), raw[:, 5:]  # covariates and arms only: the file's outcomes are not used
    if args.write_files:
        write_ihdp_files(x, t, [int(seed) for seed in args.seeds.split(",")], Path(args.write_files))
        return
    for setting in args.units or ["64", "200,200,200"]:
        units = tuple(int(u) for u in setting.split(","))
        started = time.perf_counter()
        scores = [simulated_pehe(x, t, seed, units, args.members) for seed in range(100, 100 + args.draws)]
        seconds = time.perf_counter() - started
        print(f"CFRNet x{args.members}, representation {units}: √PEHE mean {np.mean(scores):.3f}, median "
              f"{np.median(scores):.3f}, per draw {np.round(scores, 2).tolist()} ({seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
