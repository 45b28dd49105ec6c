"""``explain_run`` for table runs: per-patient attributions in the original columns, global importance, checks."""

from __future__ import annotations

from typing import Any

import numpy as np

from meddl.explain.common import check_method_trust, completeness_summary
from meddl.runs.explain_data import (RunData, RunRows, model_output, prediction_table, predict_rows, resolve_targets,
                                     sample_rows)
from meddl.explain.core import attribute
from meddl.explain.importance import mean_abs_importance, permutation_importance
from meddl.explain.result import Explanation
from meddl.explain.tabular import group_attributions, table_baseline

#: Training rows drawn as GradientSHAP's background set.
BACKGROUND_ROWS = 64
#: Random orders averaged for the deletion/insertion reference on tables (cheap: a few columns).
TABLE_RANDOM_ORDERS = 10


def explain_table(run: Any, rows: RunRows, data: RunData, methods: tuple[str, ...], target: Any, baseline: Any,
                  permutation_metric: str, options: dict[str, Any], notes: list[str]) -> Explanation:
    prep = run.preprocessor
    reference = table_baseline(prep, "mean" if baseline is None else baseline)
    predicted = predict_rows(run, rows)
    targets, rule = resolve_targets(run, predicted, target)
    f = model_output(run)
    if len(f.members) > 1:
        notes.append(f"Ensemble of {len(f.members)} members: the attributions explain the members' mean "
                     f"{'probability' if run.class_names is not None else 'prediction'}.")
    sources, columns = list(prep.source_columns_), list(prep.input_columns_)
    seed, batch_size = options["seed"], options["batch_size"]
    background = None
    if "gradient_shap" in methods:
        background = sample_rows(data.split("train"), BACKGROUND_ROWS, seed)
        if background is None:
            notes.append(f"GradientSHAP used the reference patient as its only baseline: the training rows could not "
                         f"be reloaded ({data.error}).")

    def method_kwargs(method: str) -> dict[str, Any]:
        references = background if method == "gradient_shap" and background is not None else reference.features
        return {"baseline": references, "n_steps": options["n_steps"], "n_samples": options["n_samples"],
                "feature_groups": np.asarray(sources) if method == "kernel_shap" else None,
                "batch_size": batch_size, "seed": seed}

    trust_count = min(options["trust_rows"], len(rows.x))
    trust_x, trust_targets = rows.x[:trust_count], targets[:trust_count]
    attributions, importance, trust = {}, {}, {}
    for method in methods:
        raw = attribute(f, rows.x, method, target=targets, **method_kwargs(method))
        grouped = group_attributions(raw, sources, columns=columns)
        attributions[method] = grouped
        importance[method] = mean_abs_importance(grouped, n_resamples=options["n_resamples"], seed=seed)

        def explain(module, x, method=method):
            values = attribute(module, x, method, target=trust_targets, **method_kwargs(method))
            return group_attributions(values, sources, columns=columns).to_numpy()

        trust[method] = check_method_trust(f, explain, trust_x, raw[:trust_count], trust_targets,
                                           baseline=reference.features, units=np.asarray(sources),
                                           n_random=TABLE_RANDOM_ORDERS, seed=seed, batch_size=batch_size)
        if method == "integrated_gradients":
            trust[method]["completeness"] = completeness_summary(f, rows.x, raw, targets, baseline=reference.features,
                                                                 n_steps=options["n_steps"], batch_size=batch_size)
    permutation = _permutation(run, rows, data, permutation_metric, options, notes)
    baseline_info = reference.to_dict()
    baseline_info.pop("features")
    baseline_info["gradient_shap"] = (f"{len(background)} training rows drawn at random (seed {seed})"
                                      if background is not None else None)
    return Explanation(kind="table", task=run.task, problem=run.info["problem"], methods=methods, target=rule,
                       baseline=baseline_info, predictions=prediction_table(run, predicted, targets),
                       attributions=attributions, importance=importance, permutation=permutation, trust=trust,
                       notes=notes, seed=seed, source=rows.source)


def _permutation(run: Any, rows: RunRows, data: RunData, metric: str, options: dict[str, Any], notes: list[str]):
    test = rows if rows.y is not None else data.split("test")
    if test is None or test.y is None:
        notes.append(f"Permutation importance skipped: it needs the run's labelled test split, which could not be "
                     f"reloaded ({data.error}).")
        return None
    problem = run.info["problem"]
    table = permutation_importance(model_output(run), test.x, test.y, problem=problem,
                                   groups=run.preprocessor.source_columns_, metric=metric,
                                   n_repeats=options["n_repeats"], n_resamples=options["n_resamples"],
                                   seed=options["seed"], batch_size=options["batch_size"])
    label = "AUROC drop" if metric == "auroc" else ("squared-error" if problem == "regression" else "log-loss") + " increase"
    notes.append(f"Permutation importance: {label} on the run's test split ({len(test.x)} rows), "
                 f"{options['n_repeats']} shuffles per column, {options['n_resamples']} bootstrap resamples.")
    return table
