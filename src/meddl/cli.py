"""The ``meddl`` command: a thin layer over the Python API (parse → call → print).

Every ``MeddlError`` becomes a one-line message and exit code 1; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pandas as pd

from meddl.data import load_builtin
from meddl.errors import MeddlError, UnlikeTrainingDataWarning
from meddl.explain import Explanation, explanation_section, trust_lines
from meddl.io import atomic_write_json, atomic_write_text
from meddl.runs import (RunFolder, compare_runs, export_onnx, load_config, load_run, rebuild_report, write_report)
from meddl.runs.explain_outcomes import outcome_section
from meddl.runs.site_recalibration import SITE_UPDATES, recalibrate_run
from meddl.runs.streaming import write_predictions
from meddl.sections import Section
from meddl.studies import cross_validate, learning_curve, pretrain
from meddl.studies.auto import train  # meddl.runs.train, plus model.preset 'auto' and MLflow tracking
from meddl.studies.commands import add_tune_parser
from meddl.studies.tracking import log_to_mlflow
from meddl.training.progress import epoch_lines
from meddl.version import __version__

try:  # `meddl serve`, `meddl users`, `meddl audit` need the 'serve' extra; every other command works without it
    from meddl.serving.cli_commands import add_serving_commands
except ImportError as _missing:  # noqa: F841
    def add_serving_commands(commands, _reason=str(_missing)):
        for name in ("serve", "users", "audit"):
            commands.add_parser(name, help=f"(needs pip install 'meddl[serve]': {_reason})").set_defaults(
                handler=lambda args: print("meddl: install the serving extra: pip install 'meddl[serve]'",
                                           file=sys.stderr) or 1)

__all__ = ["main", "build_parser"]


def _metric_entries(split_metrics: dict) -> list[tuple[str, dict]]:
    """``split_metrics['metrics']``; for a split without that table (treatment runs), every figure by dotted path."""
    if "metrics" in split_metrics:
        return list(split_metrics["metrics"].items())
    entries = []

    def walk(prefix: str, node: dict) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                if "value" in value:
                    entries.append((prefix + key, value))
                else:
                    walk(f"{prefix}{key}.", value)
            elif isinstance(value, float):  # counts (n, n_without_recommendation) are not figures
                entries.append((prefix + key, {"value": value}))

    walk("", split_metrics)
    return entries


def _metric_rows(split_metrics: dict) -> list[tuple[str, str]]:
    rows = []
    for name, entry in _metric_entries(split_metrics):
        value, ci = entry.get("value"), entry.get("ci95")
        # a survival horizon past the follow-up is scored at the last usable time: the name alone would mislead
        clipped = (f"  (taken at {entry['evaluated_at']:g}: the follow-up ends before this horizon)"
                   if "evaluated_at" in entry else "")
        if value is None:
            rows.append((name, f"n/a ({entry.get('reason', 'not computable')})"))
        elif ci:
            rows.append((name, f"{value:.3f}  [{ci[0]:.3f}, {ci[1]:.3f}]{clipped}"))
        else:
            reason = entry.get("reason") or entry.get("ci_reason")
            rows.append((name, f"{value:.3f}" + (f"  (no CI: {reason})" if reason else "") + clipped))
    return rows


def print_metrics(split_metrics: dict, title: str) -> None:
    rows = _metric_rows(split_metrics)
    width = max((len(n) for n, _ in rows), default=10) + 2
    print(f"{title}  (value  [95% CI])")
    for name, text in rows:
        print(f"  {name:<{width}}{text}")


def cmd_quickstart(args) -> int:
    print("Diagnosing breast cancer (malignant vs benign) from the Wisconsin diagnostic table that scikit-learn ships,")
    print("with meddl's default tabular model. This takes a few seconds.\n")
    run = train({"task": "diagnosis",
                 "data": {"source": "builtin", "name": "wisconsin-breast-cancer", "positive_class": "malignant"},
                 "training": {"seed": args.seed}}, out=args.out, verbose=args.verbose)
    metrics = run.metrics
    print_metrics(metrics["test"], f"Test set ({metrics['test']['n']} patients), threshold {run.threshold:.3f}")
    example = Path(args.out) / "example_patient.csv"
    _write_example_patient(run, example)
    print(f"\nRun folder: {run.path}  (model, metrics.json, report.html, train.log)")
    print("Predict a new patient from a CSV row (same columns as the training table, any order):")
    print(f"  meddl predict {run.path} {example} --out predictions.csv")
    return 0


def _write_example_patient(run, path: Path) -> None:
    frame = load_builtin("wisconsin-breast-cancer").frame
    split = run.folder.read_split()
    test_ids = split.loc[split["split"] == "test", "row_id"].head(1)
    row = frame.loc[frame.index.astype(str).isin(test_ids)].drop(columns=[run.info["label"]])
    atomic_write_text(path, row.to_csv(index=False))


def cmd_train(args) -> int:
    if args.nproc > 1:
        return _launch_data_parallel(args)
    run = train(args.config, out=args.out, verbose=args.verbose, mlflow=args.mlflow, resume=args.resume)
    if run.info.get("positive_class") is not None:
        print(f"Positive class: {run.info['positive_class']!r} (sensitivity, PPV and the threshold are about it)")
    if "test" in run.metrics:
        print_metrics(run.metrics["test"], "Test set")
    print(f"Run folder: {run.path}")
    return 0


def _launch_data_parallel(args) -> int:
    """Re-run this command under torchrun with N processes (gloo on CPU, NCCL on GPU)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.nproc}",
               "-m", "meddl", "train", args.config, "--out", args.out] + (["--verbose"] if args.verbose else []) \
        + (["--resume"] if args.resume else [])
    return subprocess.call(command)


@contextmanager
def _data_warnings(command: str) -> Iterator[None]:
    """Print each :class:`UnlikeTrainingDataWarning` as ``meddl COMMAND: warning: ...`` (no Python source line)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnlikeTrainingDataWarning)
        try:
            yield
        finally:
            for warning in caught:
                if issubclass(warning.category, UnlikeTrainingDataWarning):
                    print(f"meddl {command}: warning: {warning.message}", file=sys.stderr)
                else:
                    warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)


def cmd_predict(args) -> int:
    with _data_warnings("predict"):
        written = write_predictions(load_run(args.run_dir), args.input, args.out, runtime=args.runtime)
    if written.input_check is not None and written.input_check.n_with_warnings:
        print(f"meddl predict: warning: {written.input_check.summary()}", file=sys.stderr)
    if args.out:
        print(f"Wrote {written.rows} prediction(s) to {args.out}")
    return 0


def cmd_recommend(args) -> int:
    table = load_run(args.run_dir).recommend(args.input)
    withheld = int((~table["in_support"]).sum())
    if args.out:
        atomic_write_text(args.out, table.to_csv(index=False))
        print(f"Wrote {len(table)} recommendation(s) to {args.out}; {withheld} without a recommendation "
              "(outside the data's support).")
    else:
        print(table.to_csv(index=False), end="")
    return 0


def cmd_evaluate(args) -> int:
    with _data_warnings("evaluate"):
        metrics = load_run(args.run_dir).evaluate(args.data, n_resamples=args.resamples)
    print_metrics(metrics, f"Evaluation on {args.data} ({metrics['n']} cases)")
    if metrics.get("recalibration"):
        print(f"Recalibration (closed testing): {metrics['recalibration']['reason']}.")
    if args.out:
        atomic_write_json(args.out, metrics)
        print(f"Wrote {args.out}")
    return 0


def cmd_recalibrate(args) -> int:
    with _data_warnings("recalibrate"):
        result = recalibrate_run(args.run_dir, args.data, args.out, label=args.label, update=args.update,
                                 alpha=args.alpha)
    print(result.summary())
    return 0


def cmd_explain(args) -> int:
    run = load_run(args.run_dir)
    options = {key: value for key, value in (("methods", args.method), ("target", args.target),
                                             ("layer", args.layer), ("n_steps", args.steps)) if value is not None}
    result = run.explain(args.input, out_dir=args.out, seed=args.seed, **options)
    if isinstance(result, Explanation):
        _print_explanation(result)
        section, written = explanation_section(result), result.out_dir
    else:
        print(f"Top columns by mean |attribution| of the {result['quantity']} (KernelSHAP):")
        for row in result["importance"].head(5).itertuples():
            print(f"  {row.feature:<24}{row.mean_abs_attribution:.4f}")
        print("Trust checks:")
        print("\n".join(trust_lines({"kernel_shap": result["trust"]})))
        section, written = outcome_section(result), result["out_dir"]
    if args.report:
        run.folder.save_section(Section(*section))
        print(f"Wrote {write_report(run.folder)}")
    print(f"Wrote {written}")
    return 0


def _print_explanation(result: Explanation) -> None:
    print(f"Explaining {result.target} with {', '.join(result.methods)}.")
    if result.choice:
        print(f"  auto: {result.choice['reason']}")
    if result.kind == "table":
        print(f"Top columns by mean |attribution| ({result.methods[0]}):")
        for row in result.importance[result.methods[0]].head(5).itertuples():
            print(f"  {row.feature:<24}{row.importance:.4f}  [{row.ci_low:.4f}, {row.ci_high:.4f}]")
    print("Trust checks:")
    print("\n".join(trust_lines(result.trust)))
    if (result.population or {}).get("shortcut", {}).get("warning"):
        print(f"Warning: {result.population['shortcut']['message']}")


def cmd_compare(args) -> int:
    result = compare_runs(args.run_a, args.run_b, split=args.split, n_resamples=args.resamples)
    print(f"{args.run_a} (A) vs {args.run_b} (B) on the same {result['n']} {args.split} cases")
    print(f"  {'metric':<20}{'A':>8}{'B':>8}{'A - B':>9}  {'95% CI':<18}{'p':>8}  method")
    notes: dict[str, int] = {}  # why a difference has no interval, numbered once however many metrics share it
    for name, entry in result["metrics"].items():
        reason = entry.get("reason") or "no reason recorded"
        if entry.get("difference") is None:
            print(f"  {name:<20}{'n/a':>8}  ({reason})")
            continue
        ci = entry.get("ci95") or [None, None]
        value = lambda v, spec=".3f": "n/a" if v is None else format(v, spec)  # noqa: E731
        why = ""
        if entry.get("ci95") is None or entry.get("p_value") is None:
            why = f"  (no CI or p: see [{notes.setdefault(reason, len(notes) + 1)}])"
        print(f"  {name:<20}{value(entry.get('a')):>8}{value(entry.get('b')):>8}{value(entry['difference'], '+.3f'):>9}  "
              f"[{value(ci[0], '+.3f')}, {value(ci[1], '+.3f')}]  {value(entry.get('p_value'), '.3g'):>8}  "
              f"{entry.get('method', '')}{why}")
    for reason, number in notes.items():
        print(f"  [{number}] {reason}")
    if args.out:
        atomic_write_json(args.out, result)
        print(f"Wrote {args.out}")
    return 0


def cmd_report(args) -> int:
    print(f"Wrote {rebuild_report(args.run_dir)}")
    return 0


def cmd_verify(args) -> int:
    result = RunFolder(args.run_dir).verify()
    print(result.summary())
    return 0 if result.ok else 1


def cmd_export(args) -> int:
    report = export_onnx(args.run_dir, quantize=args.quantize)
    print(f"Wrote {args.run_dir}/{report['file']} (max |ONNX - PyTorch| on the test split: "
          f"{report.get('max_abs_difference_vs_torch', float('nan')):.2e})")
    if "int8" in report:
        print(f"Wrote {args.run_dir}/{report['int8']['file']}; test metrics int8 vs fp32:")
        for name, change in report["int8"].get("metrics_change", {}).items():
            print(f"  {name:<20}{change['fp32']:.4f} -> {change['int8']:.4f}  ({change['change']:+.4f})")
    return 0


def cmd_cv(args) -> int:
    result = cross_validate(args.config, folds=args.folds, repeats=args.repeats, out=args.out, refit=args.refit,
                            verbose=args.verbose)
    summary = result.summary
    print(f"{summary['folds']}-fold cross-validation x {summary['repeats']} repeat(s), {summary['n_rows']} rows  "
          "(mean ± sd over folds; pooled out-of-fold value [95% CI])")
    pooled = summary["out_of_fold"]["0"]["metrics"]
    for name, entry in summary["metrics"].items():
        if entry["mean"] is None:
            continue
        spread = f" ± {entry['sd']:.3f}" if entry["sd"] is not None else ""
        ci = (pooled.get(name) or {}).get("ci95")
        value = (pooled.get(name) or {}).get("value")
        tail = f"   pooled {value:.3f}" + (f"  [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "") if value is not None else ""
        print(f"  {name:<24}{entry['mean']:.3f}{spread}{tail}")
    print(f"Folder: {result.path}  (folds.csv, fold_metrics.csv, summary.json, predictions_oof.csv"
          + (", refit/" if result.refit is not None else "") + ")")
    config = load_config(args.config)
    if args.mlflow or config.tracking.mlflow:
        log_to_mlflow(args.mlflow or config.tracking.mlflow, result.path, kind="cv", config=config.to_dict(),
                      metrics={"out_of_fold": summary["out_of_fold"]["0"]["metrics"]},
                      experiment=config.tracking.experiment)
    return 0


def cmd_learning_curve(args) -> int:
    result = learning_curve(args.config, fractions=args.fractions, out=args.out, verbose=args.verbose)
    metric = "auroc" if "val_auroc" in result.points else "r2"
    print(f"{'fraction':>9}{'rows':>8}   validation {metric} [95% CI]")
    for row in result.points.to_dict("records"):
        value, low, high = row[f"val_{metric}"], row[f"val_{metric}_low"], row[f"val_{metric}_high"]
        text = "n/a" if pd.isna(value) else f"{value:.3f}"
        if not pd.isna(low):
            text += f"  [{low:.3f}, {high:.3f}]"
        print(f"{row['fraction']:>9.2f}{row['n_train']:>8}   {text}")
    print(result.reading["text"])
    print(f"Folder: {result.path}  (learning_curve.png, learning_curve.csv, learning_curve.json)")
    return 0


def cmd_pretrain(args) -> int:
    out = pretrain(args.config, out=args.out, epochs=args.epochs, batch_size=args.batch_size,
                   temperature=args.temperature, verbose=args.verbose)
    print(f"Pretrained encoder: {out}  (start a run from it with model: {{init_from: {out}}})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meddl", description="Deep learning for medicine: diagnosis, prognosis, "
                                     "treatment — with confidence intervals and explanations.")
    parser.add_argument("--version", action="version", version=f"meddl {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    quick = commands.add_parser("quickstart", help="train a breast-cancer classifier on built-in data and show its metrics")
    quick.add_argument("--out", default="runs/quickstart", help="run folder (default: runs/quickstart)")
    quick.add_argument("--seed", type=int, default=0)
    quick.add_argument("--verbose", action="store_true", help="show the run log")
    quick.set_defaults(handler=cmd_quickstart)

    train = commands.add_parser("train", help="train and evaluate from a YAML config")
    train.add_argument("config", help="YAML config (task, data, model, training, evaluation)")
    train.add_argument("--out", required=True, help="run folder to write")
    train.add_argument("--verbose", action="store_true", help="show the run log")
    train.add_argument("--nproc", type=int, default=1,
                       help="data-parallel processes (torchrun + DistributedDataParallel; the batch size stays global)")
    train.add_argument("--mlflow", metavar="URI", help="log the run to MLflow (e.g. file:./mlruns)")
    train.add_argument("--resume", action="store_true",
                       help="continue a killed run into --out from its last checkpoint (saved after every epoch)")
    train.set_defaults(handler=cmd_train)

    predict = commands.add_parser("predict", help="predict new inputs with a trained run")
    predict.add_argument("run_dir")
    predict.add_argument("input", help="CSV/Parquet table, image file or folder, or MedMNIST .npz")
    predict.add_argument("--out", help="CSV file to write (default: print)")
    predict.add_argument("--runtime", choices=["torch", "onnx"], default="torch",
                         help="run the PyTorch model or the exported ONNX model (meddl export first)")
    predict.set_defaults(handler=cmd_predict)

    recommend = commands.add_parser("recommend", help="per-patient treatment recommendations from a treatment run")
    recommend.add_argument("run_dir")
    recommend.add_argument("input", help="CSV/Parquet table of patients (the run's covariate columns)")
    recommend.add_argument("--out", help="CSV file to write (default: print)")
    recommend.set_defaults(handler=cmd_recommend)

    evaluate = commands.add_parser("evaluate", help="score a trained run on new labelled data")
    evaluate.add_argument("run_dir")
    evaluate.add_argument("--data", required=True, help="a labelled table (survival: with the follow-up columns), "
                                                        "or a YAML config naming the data")
    evaluate.add_argument("--out", help="metrics JSON to write")
    evaluate.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples for the CIs")
    evaluate.set_defaults(handler=cmd_evaluate)

    recalibrate = commands.add_parser(
        "recalibrate", help="update a two-class or survival run on labelled cases from another site (new run)")
    recalibrate.add_argument("run_dir")
    recalibrate.add_argument("--data", required=True, help="the site's labelled cases: a table, or a YAML config")
    recalibrate.add_argument("--out", required=True, help="the new run folder (the original is left as it is)")
    recalibrate.add_argument("--label", help="the label column, when it differs from the run's")
    recalibrate.add_argument("--update", choices=SITE_UPDATES, default="auto",
                             help="auto: the closed test's choice (nothing is written when none is needed); "
                                  "or force intercept / logistic (two-class), baseline / slope (survival)")
    recalibrate.add_argument("--alpha", type=float, default=0.05, help="level of the closed test (default 0.05)")
    recalibrate.set_defaults(handler=cmd_recalibrate)

    export = commands.add_parser("export", help="export a run's model to ONNX (optionally int8-quantised)")
    export.add_argument("run_dir")
    export.add_argument("--format", choices=["onnx"], default="onnx")
    export.add_argument("--quantize", choices=["int8"], default=None)
    export.set_defaults(handler=cmd_export)

    cv = commands.add_parser("cv", help="cross-validate a config: stratified, patient-grouped folds")
    cv.add_argument("config", help="YAML config (task diagnosis or regression)")
    cv.add_argument("--folds", type=int, default=5, help="number of folds (default 5)")
    cv.add_argument("--repeats", type=int, default=1, help="repetitions with different folds (default 1)")
    cv.add_argument("--refit", action="store_true", help="also train a final model on all rows (OUT/refit)")
    cv.add_argument("--out", required=True, help="folder to write")
    cv.add_argument("--verbose", action="store_true", help="show the log")
    cv.add_argument("--mlflow", metavar="URI", help="log the cross-validation to MLflow (e.g. file:./mlruns)")
    cv.set_defaults(handler=cmd_cv)
    add_tune_parser(commands)

    curve = commands.add_parser("learning-curve", help="validation metric against training-set size: would more "
                                "data help?")
    curve.add_argument("config", help="YAML config (task diagnosis or regression)")
    curve.add_argument("--fractions", default="0.1,0.25,0.5,1.0",
                       help="shares of the training split, comma-separated (default 0.1,0.25,0.5,1.0)")
    curve.add_argument("--out", required=True, help="folder to write")
    curve.add_argument("--verbose", action="store_true", help="show the log")
    curve.set_defaults(handler=cmd_learning_curve)

    pre = commands.add_parser("pretrain", help="self-supervised (SimCLR) pretraining of the image encoder")
    pre.add_argument("config", help="YAML config naming image data (labels are not used)")
    pre.add_argument("--out", required=True, help="run folder to write (use it as model.init_from)")
    pre.add_argument("--epochs", type=int, default=None, help="default: training.epochs, else 20")
    pre.add_argument("--batch-size", type=int, default=None, help="default: max(training.batch_size, 128)")
    pre.add_argument("--temperature", type=float, default=0.2, help="NT-Xent temperature (default 0.2)")
    pre.add_argument("--verbose", action="store_true", help="show the log")
    pre.set_defaults(handler=cmd_pretrain)

    explain = commands.add_parser("explain", help="explain a run's predictions (attributions, Grad-CAM) and check them")
    explain.add_argument("run_dir")
    explain.add_argument("input", nargs="?", default=None, help="table or images (default: the run's test split)")
    explain.add_argument("--out", default=None, help="output folder (default RUN_DIR/explanations)")
    explain.add_argument("--method", action="append",
                         help="'auto' (default: images get the most faithful method on validation images) or, "
                              "repeatable: integrated_gradients, gradient_shap, kernel_shap, occlusion, grad_cam, "
                              "grad_cam_plus_plus, smooth_integrated_gradients")
    explain.add_argument("--target", default=None,
                         help="class NAME to explain, or 'predicted' (default: the run's positive class for binary runs)")
    explain.add_argument("--layer", default=None,
                         help="Grad-CAM layer name (default: the deepest layer keeping a quarter of the image side)")
    explain.add_argument("--steps", type=int, default=None, help="Integrated Gradients steps (default 64)")
    explain.add_argument("--seed", type=int, default=0)
    explain.add_argument("--report", action="store_true", help="rebuild report.html with an Explanations section")
    explain.set_defaults(handler=cmd_explain)

    compare = commands.add_parser("compare", help="do two runs differ on the same test set? (paired DeLong / bootstrap)")
    compare.add_argument("run_a")
    compare.add_argument("run_b")
    compare.add_argument("--split", default="test", choices=["test", "val"])
    compare.add_argument("--resamples", type=int, default=1000)
    compare.add_argument("--out", help="JSON file to write")
    compare.set_defaults(handler=cmd_compare)

    report = commands.add_parser("report", help="rebuild RUN_DIR/report.html")
    report.add_argument("run_dir")
    report.set_defaults(handler=cmd_report)

    verify = commands.add_parser("verify", help="check every file of a run folder against its manifest "
                                 "(exit 1 on any difference)")
    verify.add_argument("run_dir")
    verify.set_defaults(handler=cmd_verify)
    add_serving_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    # Training commands without --verbose print one line per epoch on stderr when stdout is not a terminal.
    progress = getattr(args, "verbose", None) is False and not sys.stdout.isatty()
    try:
        with epoch_lines(enabled=progress):
            return args.handler(args)
    except MeddlError as exc:
        print(f"meddl {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        resume = (f"; continue it with: meddl train {args.config} --out {args.out} --resume"
                  if args.command == "train" and getattr(args, "nproc", 1) == 1 else "")
        print(f"interrupted{resume}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
