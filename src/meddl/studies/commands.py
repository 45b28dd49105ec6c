"""``meddl tune`` on the command line: parse, call :func:`meddl.studies.tune` / :func:`nested_tune`, print."""

from __future__ import annotations

import argparse

from meddl.errors import ConfigError
from meddl.runs import load_config
from meddl.runs.tuning_config import parse_duration
from meddl.studies.nested import nested_tune
from meddl.studies.tracking import log_to_mlflow
from meddl.studies.tuning import tune

__all__ = ["add_tune_parser", "cmd_tune"]


def _duration(text: str) -> float:
    try:
        return parse_duration(text, name="--time-budget")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_tune_parser(commands) -> None:
    """Add the ``tune`` sub-command to the ``meddl`` parser."""
    parser = commands.add_parser("tune", help="search hyperparameters (Optuna) on validation rows, then train the best")
    parser.add_argument("config", help="YAML config; its tune: section sets the defaults below")
    parser.add_argument("--out", required=True, help="folder to write (best_config.yaml, trials.csv, best/, ...)")
    parser.add_argument("--trials", type=int, help="trials to run (default: tune.trials, or as many as the budget allows)")
    parser.add_argument("--time-budget", type=_duration, help="e.g. 90s, 30m, 2h (default: tune.time_budget)")
    parser.add_argument("--nested", type=int, metavar="K",
                        help="also estimate the tuned model by nested cross-validation with K outer folds")
    parser.add_argument("--n-jobs", type=int, default=1, help="worker processes sharing the study (default 1)")
    parser.add_argument("--storage", help="Optuna storage URL (default: sqlite file OUT/study.db); "
                        "postgresql+psycopg://... to share a study between machines")
    parser.add_argument("--study-name", default="meddl-tune", help="study name in the storage (default meddl-tune)")
    parser.add_argument("--mlflow", metavar="URI", help="log to MLflow (e.g. file:./mlruns)")
    parser.add_argument("--verbose", action="store_true", help="show the best run's log")
    parser.set_defaults(handler=cmd_tune)


def cmd_tune(args) -> int:
    if args.trials is not None and args.trials < 1:
        raise ConfigError(f"--trials must be >= 1; got {args.trials}.")
    if args.nested is not None and args.nested < 2:  # before the search, not after it
        raise ConfigError(f"--nested must be at least 2 outer folds; got {args.nested}.")
    config = load_config(args.config)
    result = tune(config, args.out, trials=args.trials, time_budget=args.time_budget, n_jobs=args.n_jobs,
                  storage=args.storage, study_name=args.study_name, verbose=args.verbose)
    counts = ", ".join(f"{v} {k}" for k, v in sorted(result.trial_counts.items()))
    print(f"{sum(result.trial_counts.values())} trials ({counts}); best validation {result.metric} "
          f"{result.best_value:.4f} (optimistic: the best of the trials)")
    for name, value in sorted(result.best_params.items()):
        print(f"  {name:<36}{value}")
    metrics = {"best_validation": {result.metric: result.best_value}}
    if result.best_run is not None and "test" in result.best_run.metrics:
        test = result.best_run.metrics["test"]
        entry = (test.get("metrics") or {}).get(result.metric) or ({"value": test.get(result.metric)}
                                                                   if result.metric in test else None)
        if entry and entry.get("value") is not None:
            ci = entry.get("ci95")
            print(f"Test {result.metric} of the best config (the estimate to quote): {entry['value']:.4f}"
                  + (f"  [{ci[0]:.4f}, {ci[1]:.4f}]" if ci else ""))
        metrics["best_run"] = result.best_run.metrics
    if args.nested is not None:
        nested = nested_tune(config, args.out, folds=args.nested, trials=args.trials, time_budget=args.time_budget)
        ci = f"  [{nested.ci95[0]:.4f}, {nested.ci95[1]:.4f}]" if nested.ci95 else ""
        print(f"Nested CV ({args.nested} outer folds) {nested.metric}: {nested.mean:.4f}{ci}  "
              f"(the honest estimate of the tuned model; outer scores "
              + ", ".join(f"{s:.3f}" for s in nested.outer_scores) + ")")
        metrics["nested"] = {nested.metric: {"value": nested.mean, "ci95": list(nested.ci95) if nested.ci95 else None}}
    uri = args.mlflow or config.tracking.mlflow
    if uri:
        log_to_mlflow(uri, result.path, kind="tune", config=result.best_config, metrics=metrics,
                      experiment=config.tracking.experiment)
    print(f"Folder: {result.path}  (best_config.yaml, trials.csv, summary.json, report.html, best/)")
    return 0
