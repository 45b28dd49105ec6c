"""Development data for the treatment search's objective: which score picks the network with the best effects?

A treatment search can only score what it observes. ``factual_rmse`` (the
observed arm's outcome) is what `meddl tune` used: a network that predicts the
observed outcome better is not always the one whose *difference* between arms
is closer to the truth. This script compares selection scores on fresh draws of
Hill's response surface B (see ``bench/ihdp_simulated.py``; the IHDP benchmark
files' outcomes are not used), where the true effect is known:

- ``factual_rmse``: root mean squared error of the observed arm's prediction;
- ``r_risk``: Nie & Wager's R-loss, mean((y − m(x) − (t − e(x)) τ̂(x))²), with
  m(x) = E[y | x] and e(x) = P(t = 1 | x) fitted on the fold's training rows
  (Schuler et al. 2018 found it the most reliable single criterion);
- ``pehe_nn``: Shalit et al.'s proxy, each patient's effect taken from the
  nearest patient of the other arm.

For each draw, candidates (the default config and random ones from the
search space) are cross-validated on the development rows (5 folds, 15% of each
fold's training rows for early stopping, as ``meddl tune``'s small-data trials);
every score and the true √PEHE are computed on the held-out folds. Then each
score selects, with the search's one-standard-error rule against the default,
and the chosen candidate's true out-of-fold √PEHE is printed.

Measured (draws 200, 201, 203, 204; the default and 8 random candidates each; 1 thread):
Spearman correlation of each score with the true √PEHE across the 9 candidates,
factual_rmse 0.88 / 0.90 / 0.75 / 0.70, r_risk 0.93 / 0.97 / 0.43 / 0.93, pehe_nn
0.98 / 0.97 / 0.93 / 0.98 (the random-forest m(x) was poor on draw 203). Chosen
candidate's true √PEHE, mean over the draws: factual_rmse 0.492, r_risk 0.492,
pehe_nn 0.438, the default 0.492, the best candidate 0.438 (pehe_nn found it on
draw 204: 0.470 against the default's 0.688; factual_rmse chose 0.686). So
``meddl tune`` minimises ``pehe_nn`` for treatment runs.

The same choice through the whole search (``bench/accuracy.py --sets ihdp1,...,ihdp5
--budget 5m`` on draws 300-304 in the IHDP layout, written by ``bench/ihdp_simulated.py
--write-files``; two searches at
once on 2 cores): out-of-sample √PEHE of ``auto``, default config 0.294 / 0.609 /
0.392 / 0.344 / 0.525; searching factual_rmse 0.294 / 0.621 (switched, worse) / 0.392
/ 0.344 / 0.525; searching pehe_nn 0.294 / 0.609 / 0.392 / 0.344 / 0.490 (switched,
better). Five minutes allowed only 3-10 complete trials per search.

Usage: python bench/treatment_selection.py [--data ../shared/data] [--draws 6] [--candidates 8]
                                          [--first-seed 200]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.ensemble import RandomForestRegressor  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, train_test_split  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ihdp_simulated import draw_surface_b  # noqa: E402

from meddl import load_config  # noqa: E402
from meddl.studies.search_space import search_space  # noqa: E402
from meddl.studies.selection import standard_error  # noqa: E402
from meddl.treatment import CFRNet, Dragonnet, EffectEnsemble, TARNet, nearest_neighbour_pehe  # noqa: E402

NETWORKS = {"tarnet": TARNet, "cfrnet": CFRNet, "dragonnet": Dragonnet}
#: meddl's treatment search space (its dimensions record the untuned defaults), by short name
SPACE = {d.name.rsplit(".", 1)[-1]: d
         for d in search_space(load_config({"task": "treatment", "data": {"source": "ihdp", "path": "ihdp.csv"}}))}
DEFAULT = {name: d.default for name, d in SPACE.items()}
SCORES = ("factual_rmse", "r_risk", "pehe_nn")


def random_candidate(rng: np.random.Generator) -> dict:
    """A draw from meddl's treatment search space (:data:`SPACE`), uniform or log-uniform as each range says."""
    def draw(spec):
        if spec.choices is not None:
            return spec.choices[int(rng.integers(len(spec.choices)))]
        low, high = (math.log(spec.low), math.log(spec.high)) if spec.log else (spec.low, spec.high)
        value = rng.uniform(low, high + (1 if spec.integer and not spec.log else 0))
        value = math.exp(value) if spec.log else value
        return int(round(value)) if spec.log and spec.integer else int(value) if spec.integer else float(value)
    return {name: draw(d.range) for name, d in SPACE.items()}


def build(candidate: dict):
    options = {"representation_units": (candidate["width"],) * candidate["depth"],
               "learning_rate": candidate["learning_rate"], "weight_decay": candidate["weight_decay"],
               "random_state": 0}
    if candidate["preset"] == "cfrnet":
        options["alpha"] = candidate["alpha"]
    base = NETWORKS[candidate["preset"]](**options)
    return EffectEnsemble(base, n_members=candidate["ensemble"], random_state=0) if candidate["ensemble"] > 1 else base


def fold_scores(candidate, x, t, y, effect, folds, seed):
    """Per held-out fold: every selection score and the true √PEHE."""
    rows = {name: [] for name in (*SCORES, "true_pehe")}
    for fit_rows, held in folds:
        train, val = train_test_split(fit_rows, test_size=0.15, stratify=t[fit_rows], random_state=seed)
        model = build(candidate).fit(x[train], t[train], y[train], validation_data=(x[val], t[val], y[val]))
        outcomes = model.predict_outcomes(x[held])
        tau = outcomes[:, 1] - outcomes[:, 0]
        factual = np.where(t[held] == 1, outcomes[:, 1], outcomes[:, 0])
        m = RandomForestRegressor(200, min_samples_leaf=5, random_state=0, n_jobs=1).fit(x[fit_rows], y[fit_rows])
        e = LogisticRegression(max_iter=2000).fit(x[fit_rows], t[fit_rows]).predict_proba(x[held])[:, 1]
        residual = y[held] - m.predict(x[held])
        rows["factual_rmse"].append(float(np.sqrt(np.mean((factual - y[held]) ** 2))))
        rows["r_risk"].append(float(np.mean((residual - (t[held] - e) * tau) ** 2)))
        rows["pehe_nn"].append(nearest_neighbour_pehe(x[held], t[held], y[held], tau))
        rows["true_pehe"].append(float(np.sqrt(np.mean((tau - effect[held]) ** 2))))
    return rows


def one_se_choice(results: list[dict], score: str) -> int:
    """meddl.studies.selection's rule: the best mean, unless it beats candidate 0 (the default) by <= one SE."""
    means = [np.mean(r[score]) for r in results]
    best = int(np.argmin(means))
    if best == 0:
        return 0
    return best if means[0] - means[best] > standard_error(results[best][score]) else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MEDDL_BENCH_DATA", "../shared/data"))
    parser.add_argument("--draws", type=int, default=6)
    parser.add_argument("--first-seed", type=int, default=200)
    parser.add_argument("--candidates", type=int, default=8, help="random candidates besides the default")
    parser.add_argument("--json", help="also write every fold score here")
    args = parser.parse_args()
    raw = np.loadtxt(Path(args.data) / "ihdp" / "ihdp_npci_1.csv", delimiter=",")
    t_all, x_raw = raw[:, 0].astype(int), raw[:, 5:]  # covariates and arms only
    summary = {score: [] for score in (*SCORES, "default", "oracle")}
    dump = []
    for seed in range(args.first_seed, args.first_seed + args.draws):
        started = time.perf_counter()
        y_all, effect_all = draw_surface_b(x_raw, t_all, seed)
        development, _ = train_test_split(np.arange(len(t_all)), test_size=0.10, stratify=t_all, random_state=seed)
        x = x_raw[development]
        x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-12)
        t, y, effect = t_all[development], y_all[development], effect_all[development]
        folds = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(x, t))
        rng = np.random.default_rng(seed)
        candidates = [DEFAULT] + [random_candidate(rng) for _ in range(args.candidates)]
        results = [fold_scores(c, x, t, y, effect, folds, seed) for c in candidates]
        true = [float(np.sqrt(np.mean(np.square(r["true_pehe"])))) for r in results]
        line = [f"draw {seed}: default {true[0]:.3f}, oracle {min(true):.3f}"]
        summary["default"].append(true[0])
        summary["oracle"].append(min(true))
        for score in SCORES:
            chosen = one_se_choice(results, score)
            summary[score].append(true[chosen])
            line.append(f"{score} -> #{chosen} {true[chosen]:.3f}")
        print("; ".join(line) + f" ({time.perf_counter() - started:.0f} s)", flush=True)
        dump.append({"seed": seed, "candidates": candidates, "results": results})
        if args.json:
            Path(args.json).write_text(json.dumps(dump))
    print("mean true out-of-fold √PEHE of the chosen candidate: " +
          ", ".join(f"{name} {np.mean(values):.3f}" for name, values in summary.items()))


if __name__ == "__main__":
    main()
