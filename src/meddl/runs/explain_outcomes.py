"""Explanations for survival and treatment runs: which features raise a patient's risk, or make them benefit.

The explained quantity is the survival model's risk score (log-hazard for Cox
models; higher = worse) or the treatment model's estimated effect
τ(x) = μ1(x) − μ0(x). Both are explained with KernelSHAP, which needs only
predictions: it works the same for single networks, ensembles and any
estimator, at about 0.1 s per patient. Feature groups are the original
columns, so a one-hot encoded column or a missing-value indicator is switched
on and off with its source column and the attribution lands on that column.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from meddl.errors import ConfigError, MeddlError
from meddl.io import json_safe
from meddl.explain.core import attribute
from meddl.explain.outcome_trust import estimator_trust
from meddl.explain.trust_summary import trust_lines
from meddl.explain.tabular import table_baseline
from meddl.io import atomic_directory, replaceable_if_it_holds
from meddl.runs.run import Run
from meddl.sections import Raw, Section, esc, paragraph, table

__all__ = ["explain_outcome_run", "outcome_function", "outcome_section"]

#: Patients (the first ones explained) the trust checks use, with 95% CIs over them.
TRUST_ROWS = 20


def outcome_function(run) -> tuple[Any, str]:
    """The function of the preprocessed features a survival or treatment run is explained by, and its name.

    The run's task plug-in names it (``Task.explained_outcome``): the risk score, the treatment effect, ...
    """
    outcome = run.task_plugin.explained_outcome
    if outcome is None:
        raise MeddlError(f"explain_outcome_run explains one outcome of a run (a risk score, a treatment effect); "
                         f"'{run.task}' runs name none. Use Run.explain.")
    method, description = outcome
    return getattr(run.model, method), description


def explain_outcome_run(run, inputs: Any = None, *, out_dir: str | Path | None = None, max_rows: int = 50,
                        n_samples: int = 256, baseline: Any = "mean", seed: int = 0, methods: Any = None,
                        target: Any = None, layer: Any = None, n_steps: Any = None) -> dict:
    """Per-patient KernelSHAP attributions of a survival risk or a treatment effect, in the original columns.

    Args:
        run: a survival or treatment ``Run`` (or its folder).
        inputs: patients to explain (table or path); default: the first ``max_rows`` of the run's test split.
        out_dir: where to write ``attributions.csv`` and ``attributions.json`` (default ``RUN_DIR/explanations``).
        n_samples: coalitions per patient (more: less noise, slower).
        baseline: ``"mean"`` (the average training patient), ``"median"`` or a dict of original values.

    Returns:
        ``{"quantity", "baseline", "attributions" (DataFrame), "importance" (DataFrame), "out_dir", "trust"}``;
        ``trust`` holds the randomisation test (every network in the model re-initialised), deletion/insertion
        over the columns with 95% CIs, and KernelSHAP's completeness (see :func:`meddl.explain.estimator_trust`),
        on the first :data:`TRUST_ROWS` explained patients.
    """
    run = run if isinstance(run, Run) else Run(run)
    given = [name for name, value in (("methods", methods), ("target", target), ("layer", layer),
                                      ("n_steps", n_steps)) if value is not None]
    if given:
        raise ConfigError(f"'{run.task}' runs are explained by KernelSHAP of one outcome; the option(s) "
                          f"{', '.join(given)} do not apply to them.")
    predict, quantity = outcome_function(run)
    if inputs is None:
        x = _test_features(run)
        ids = np.asarray([f"test-{i}" for i in range(len(x))])
    else:
        x, ids, _ = run.features(inputs)
    x, ids = x[:max_rows], ids[:max_rows]
    reference = table_baseline(run.preprocessor, baseline)
    sources = list(run.preprocessor.source_columns_)
    columns = list(dict.fromkeys(sources))
    groups = np.asarray([columns.index(c) for c in sources])

    def explain(estimator: Any, rows: np.ndarray) -> np.ndarray:
        def g(tensor: torch.Tensor) -> torch.Tensor:
            return torch.as_tensor(np.asarray(getattr(estimator, predict.__name__)(tensor.detach().cpu().numpy()),
                                              dtype=np.float64))
        return attribute(g, rows.astype(np.float64), "kernel_shap", baseline=reference.features.astype(np.float64),
                         n_samples=n_samples, feature_groups=groups, seed=seed)

    values = explain(run.model, x)
    checked = slice(0, TRUST_ROWS)  # the randomisation test reruns KernelSHAP: bound its cost
    trust = estimator_trust(lambda estimator, rows: getattr(estimator, predict.__name__)(rows), run.model, x[checked],
                            values[checked], explain, baseline=reference.features.astype(np.float64), units=groups,
                            n_random=5, seed=seed)
    by_column = pd.DataFrame({c: values[:, groups == k].sum(axis=1) for k, c in enumerate(columns)})
    prediction = np.asarray(predict(x), dtype=np.float64)
    table = pd.concat([pd.DataFrame({"row_id": ids, "explained": prediction}), by_column], axis=1)
    importance = (by_column.abs().mean().sort_values(ascending=False).rename("mean_abs_attribution")
                  .rename_axis("feature").reset_index())
    out_dir = Path(out_dir) if out_dir is not None else run.path / "explanations"
    with atomic_directory(out_dir, replaceable=replaceable_if_it_holds("attributions.json")) as tmp:
        table.to_csv(tmp / "attributions.csv", index=False)
        (tmp / "attributions.json").write_text(json.dumps({
            "method": "kernel_shap", "quantity": quantity, "baseline": reference.to_dict(),
            "n_samples": n_samples, "seed": seed, "columns": columns,
            "values": by_column.to_numpy().tolist(), "row_ids": [str(i) for i in ids],
            "importance": importance.to_dict("records"), "trust_checks": json_safe(trust)}, indent=2,
            allow_nan=False), encoding="utf-8")
    return {"quantity": quantity, "baseline": reference.description, "attributions": table,
            "importance": importance, "out_dir": out_dir, "trust": trust}


def _test_features(run) -> np.ndarray:
    """The run's test patients, re-read from its data source and preprocessed."""
    data = run.task_plugin.load_data(run.config)
    split = run.folder.read_split()["split"].to_numpy()
    return run.preprocessor.transform(data.features.iloc[np.flatnonzero(split == "test")])


def outcome_section(result: dict) -> Section:
    """The report section: global importance of the explained quantity."""
    rows = [[str(r.feature), f"{r.mean_abs_attribution:.4f}"] for r in result["importance"].head(15).itertuples()]
    text = (f"KernelSHAP attributions of the {result['quantity']} against {result['baseline']} "
            f"({len(result['attributions'])} patients); per-patient values are in attributions.csv.")
    lines = trust_lines({"kernel_shap": result["trust"]})
    checks = Raw("<ul>" + "".join(f"<li>{esc(line.strip())}</li>" for line in lines) + "</ul>")
    return Section("Explanations", paragraph(text) + table(["Column", "Mean |attribution|"], rows, numeric=[1])
                   + Raw("<h3>Can the explanations be trusted?</h3>") + checks)
