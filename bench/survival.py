"""Survival benchmark: meddl DeepSurv / LogisticHazard / LinearCox vs lifelines Cox and scikit-survival RSF.

Data sets (all models in the same run, same splits, same preprocessing):

* GBSG split of the DeepSurv paper (``$MEDDL_BENCH_DATA/deepsurv/gbsg_cancer_train_test.h5``):
  train = Rotterdam tumour bank (1,546), test = GBSG trial (686). Published test C-index:
  linear Cox PH 0.658, DeepSurv ≈ 0.67 (Katzman et al. 2018).
* scikit-survival's GBSG2 (686) and WHAS500 (500): 5-fold cross-validation (stratified by event);
  categoricals one-hot encoded, numeric columns standardised on the training fold.

Honest tuning: the settings of the meddl models are chosen from a small grid by the mean
Harrell's C-index over 3 inner folds *of the training data* (never the test data), each inner fit
early-stopped on its validation fold; the chosen settings are refit on the whole training set for
the median best epoch. Baselines use their usual defaults.

Figures: test C-index (Harrell) with a 95% bootstrap CI (1,000 resamples) on the GBSG split and
mean ± SD over folds for cross-validation; Uno's C; integrated Brier score (IPCW, censoring from
the training data); seconds to fit (tuning included for the meddl models; the ×5 ensemble reuses
DeepSurv's tuning and counts its time).

Usage: python bench/survival.py [--data ../shared/data] [--resamples 1000] [--folds 5] [--quick]
"""

from __future__ import annotations

import os

# One BLAS/OpenMP thread per process: small matrices, and 2 shared cores (see the report).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from meddl.survival import DeepSurv, LinearCox, LogisticHazard, SurvivalEnsemble, harrell_c_index  # noqa: E402
from meddl.survival import survival_metrics  # noqa: E402

# Candidate settings, chosen per training set by validation C-index (inside the training data).
DEEPSURV_GRID = [
    dict(hidden_units=(32, 32), dropout=0.1, learning_rate=1e-3, weight_decay=1e-4),
    dict(hidden_units=(64, 64), dropout=0.3, learning_rate=1e-3, weight_decay=1e-3),
    dict(hidden_units=(128,), dropout=0.5, learning_rate=3e-4, weight_decay=1e-3),
    dict(hidden_units=(16,), dropout=0.0, learning_rate=3e-3, weight_decay=1e-2),
]
LOGISTIC_HAZARD_GRID = [
    dict(n_intervals=20, hidden_units=(32, 32), dropout=0.1, learning_rate=1e-2),
    dict(n_intervals=10, hidden_units=(64, 64), dropout=0.3, learning_rate=3e-3),
    dict(n_intervals=20, hidden_units=(128,), dropout=0.5, learning_rate=3e-3, weight_decay=1e-3),
    dict(n_intervals=10, hidden_units=(16,), dropout=0.0, learning_rate=1e-2, weight_decay=1e-2),
]
LINEAR_COX_GRID = [dict(l2=l2) for l2 in (0.0, 1e-3, 1e-2, 1e-1)]
COMMON = dict(epochs=200, early_stopping_patience=15, batch_size=256)


# -- data --------------------------------------------------------------------------------------------
def load_gbsg_split(data_root: Path):
    path = data_root / "deepsurv" / "gbsg_cancer_train_test.h5"
    try:
        from meddl.data import read_deepsurv_h5
    except ImportError:
        read_deepsurv_h5 = None
    if read_deepsurv_h5 is not None:
        splits = read_deepsurv_h5(path, splits=["train", "test"])
        return [(np.asarray(s.x, float), np.asarray(s.t, float), np.asarray(s.e, int)) for s in (splits["train"],
                                                                                              splits["test"])]
    import h5py

    with h5py.File(path, "r") as handle:
        return [(handle[g]["x"][()].astype(float), handle[g]["t"][()].astype(float), handle[g]["e"][()].astype(int))
                for g in ("train", "test")]


def load_sksurv(name: str):
    from sksurv import datasets

    x, y = {"gbsg2": datasets.load_gbsg2, "whas500": datasets.load_whas500}[name]()
    event_field, time_field = y.dtype.names
    x = pd.get_dummies(x, drop_first=True, dtype=float).astype(float)
    return x.to_numpy(), y[time_field].astype(float), y[event_field].astype(int)


def standardise(x_train, x_test):
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return (x_train - mean) / scale, (x_test - mean) / scale


# -- models ----------------------------------------------------------------------------------------------
class Fitted:
    """Predictions of a fitted model: a risk score and survival curves at any times."""

    def __init__(self, risk, survival, seconds):
        self.risk, self.survival, self.seconds = risk, survival, seconds


def tune(cls, grid, x, t, e, *, extra=None, folds: int = 3):
    """Choose settings by mean validation C-index over ``folds`` inner folds of (x, t, e).

    Each inner fit is early-stopped on its validation fold (best weights restored); the chosen
    settings come back with the median best epoch, used to refit on all the training data.
    Returns ``(settings, epochs or None, seconds)``.
    """
    from sklearn.model_selection import StratifiedKFold

    started = time.perf_counter()
    extra = dict(extra or {})
    if len(grid) == 1 and cls is LinearCox:
        return grid[0], None, time.perf_counter() - started
    best, best_score, best_epochs = None, -np.inf, None
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for settings in grid:
        scores, epochs = [], []
        for fit_rows, val_rows in splitter.split(x, e):
            model = cls(**settings, **extra)
            validation = (x[val_rows], t[val_rows], e[val_rows])
            model.fit(x[fit_rows], t[fit_rows], e[fit_rows], validation=None if cls is LinearCox else validation)
            scores.append(harrell_c_index(t[val_rows], e[val_rows], model.predict_risk(x[val_rows])))
            epochs.append(model.best_epoch_)
        if np.mean(scores) > best_score:
            best, best_score, best_epochs = settings, np.mean(scores), int(np.median(epochs))
    return best, (None if cls is LinearCox else best_epochs), time.perf_counter() - started


def fit_chosen(cls, settings, epochs, x, t, e, x_test, *, tuning_seconds: float, ensemble: int = 0, extra=None):
    """Refit the chosen settings on all of (x, t, e) for the tuned number of epochs; predict on x_test."""
    started = time.perf_counter()
    options = dict(extra or {})
    if epochs is not None:
        options.update(epochs=max(epochs, 1), early_stopping_patience=None)
    base = cls(**settings, **options)
    model = SurvivalEnsemble(base, n_members=ensemble) if ensemble else base
    model.fit(x, t, e)
    seconds = tuning_seconds + time.perf_counter() - started
    shown = dict(settings, **({"epochs": epochs} if epochs is not None else {}))
    return Fitted(model.predict_risk(x_test), lambda times: model.predict_survival(x_test, times), seconds), shown


def fit_lifelines_cox(x, t, e, x_test):
    from lifelines import CoxPHFitter

    started = time.perf_counter()
    columns = [f"x{i}" for i in range(x.shape[1])]
    frame = pd.DataFrame(x, columns=columns).assign(T=t, E=e)
    cph = CoxPHFitter(penalizer=0.0).fit(frame, "T", "E")
    seconds = time.perf_counter() - started
    test = pd.DataFrame(x_test, columns=columns)
    risk = cph.predict_log_partial_hazard(test).to_numpy()
    return Fitted(risk, lambda times: cph.predict_survival_function(test, times=times).T.to_numpy(), seconds)


def fit_random_survival_forest(x, t, e, x_test, seed=0):
    from sksurv.ensemble import RandomSurvivalForest

    from meddl.survival._checks import structured_target

    started = time.perf_counter()
    forest = RandomSurvivalForest(n_estimators=200, min_samples_leaf=15, max_features="sqrt", n_jobs=2,
                                  random_state=seed).fit(x, structured_target(t, e.astype(bool)))
    seconds = time.perf_counter() - started
    risk = forest.predict(x_test)
    grid = forest.unique_times_
    curves = forest.predict_survival_function(x_test, return_array=True)

    def survival(times):
        index = np.searchsorted(grid, times, side="right") - 1
        return np.where(index >= 0, curves[:, np.clip(index, 0, None)], 1.0)

    return Fitted(risk, survival, seconds)


def run_models(x, t, e, x_test, *, quick: bool):
    """Fit every model on one training set; return {name: (Fitted, chosen settings)}."""
    pick = (lambda grid: grid[:1]) if quick else (lambda grid: grid)
    common = dict(COMMON, epochs=60) if quick else COMMON
    out = {}
    settings, _, seconds = tune(LinearCox, pick(LINEAR_COX_GRID), x, t, e)
    out["meddl LinearCox"] = fit_chosen(LinearCox, settings, None, x, t, e, x_test, tuning_seconds=seconds)
    settings, epochs, seconds = tune(DeepSurv, pick(DEEPSURV_GRID), x, t, e, extra=common)
    out["meddl DeepSurv"] = fit_chosen(DeepSurv, settings, epochs, x, t, e, x_test, tuning_seconds=seconds,
                                       extra=common)
    out["meddl DeepSurv ×5"] = fit_chosen(DeepSurv, settings, epochs, x, t, e, x_test, tuning_seconds=seconds,
                                          ensemble=5, extra=common)
    settings, epochs, seconds = tune(LogisticHazard, pick(LOGISTIC_HAZARD_GRID), x, t, e, extra=common)
    out["meddl LogisticHazard"] = fit_chosen(LogisticHazard, settings, epochs, x, t, e, x_test,
                                             tuning_seconds=seconds, extra=common)
    out["lifelines CoxPH"] = (fit_lifelines_cox(x, t, e, x_test), None)
    out["sksurv RSF"] = (fit_random_survival_forest(x, t, e, x_test), None)
    return out


def evaluate(fitted: Fitted, t_test, e_test, train, resamples: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return survival_metrics(t_test, e_test, fitted.risk, survival=fitted.survival, train=train,
                                horizons=[np.median(t_test[e_test == 1])], n_resamples=resamples, seed=0)


# -- reporting ----------------------------------------------------------------------------------------------
def _ci(entry):
    if entry["value"] is None:
        return "n/a"
    text = f"{entry['value']:.3f}"
    return text + (f" [{entry['ci95'][0]:.3f}, {entry['ci95'][1]:.3f}]" if entry.get("ci95") else "")


def print_table(title, rows):
    print(f"\n## {title}\n")
    header = ("model", "C-index (Harrell)", "Uno's C", "integrated Brier", "fit s", "settings chosen")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(c) for c in row) + " |")


def bench_gbsg_split(data_root: Path, resamples: int, quick: bool):
    (x, t, e), (x_test, t_test, e_test) = load_gbsg_split(data_root)
    x_std, x_test_std = standardise(x, x_test)
    rows = []
    for name, (fitted, settings) in run_models(x_std, t, e, x_test_std, quick=quick).items():
        metrics = evaluate(fitted, t_test, e_test, (t, e), resamples)
        rows.append((name, _ci(metrics["c_index"]), _ci({**metrics["uno_c_index"], "ci95": None}),
                     _ci(metrics["integrated_brier_score"]), f"{fitted.seconds:.1f}", _settings(settings)))
    print_table("GBSG: train Rotterdam (1,546) → test GBSG (686); published C: linear Cox 0.658, DeepSurv ≈0.67",
                rows)


def bench_cross_validation(name: str, folds: int, resamples: int, quick: bool):
    from sklearn.model_selection import StratifiedKFold

    x, t, e = load_sksurv(name)
    scores: dict[str, dict[str, list]] = {}
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for train_rows, test_rows in splitter.split(x, e):
        x_train, x_test = standardise(x[train_rows], x[test_rows])
        results = run_models(x_train, t[train_rows], e[train_rows], x_test, quick=quick)
        for model_name, (fitted, settings) in results.items():
            metrics = evaluate(fitted, t[test_rows], e[test_rows], (t[train_rows], e[train_rows]),
                               min(resamples, 200))
            entry = scores.setdefault(model_name, {"c": [], "uno": [], "ibs": [], "s": [], "settings": []})
            entry["c"].append(metrics["c_index"]["value"])
            entry["uno"].append(metrics["uno_c_index"]["value"])
            entry["ibs"].append(metrics["integrated_brier_score"]["value"])
            entry["s"].append(fitted.seconds)
            entry["settings"].append(_settings(settings))
    rows = []
    for model_name, entry in scores.items():
        chosen = pd.Series(entry["settings"]).value_counts()
        rows.append((model_name, _mean_sd(entry["c"]), _mean_sd(entry["uno"]), _mean_sd(entry["ibs"]),
                     f"{np.mean(entry['s']):.1f}", f"{chosen.index[0]} ({chosen.iloc[0]}/{folds})"))
    print_table(f"{name.upper()} (n={len(t)}, {e.mean():.0%} events): {folds}-fold CV, mean ± SD over folds", rows)


def _mean_sd(values):
    values = [v for v in values if v is not None]
    return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else "n/a"


def _settings(settings):
    if not settings:
        return "defaults"
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("MEDDL_BENCH_DATA", "../shared/data"))
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="first grid entry only, 60 epochs (a smoke run)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s); CPU cores: {os.cpu_count()}")
    bench_gbsg_split(Path(args.data), args.resamples, args.quick)
    for name in ("gbsg2", "whas500"):
        bench_cross_validation(name, args.folds, args.resamples, args.quick)
    print(f"\nTotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
