"""``explanation_section(result)``: the report's "Explanations" section, self-contained HTML.

``meddl explain RUN --report`` keeps it with the run (``RunFolder.save_section``) and rebuilds the report.
Figures are inline ``data:`` PNGs; nothing refers outside the file.
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from meddl.errors import ConfigError
from meddl.sections import Raw, Section, esc, figure, fmt, paragraph, table
from meddl.evaluation.plots import figure_to_data_uri
from meddl.explain.result import Explanation
from meddl.explain.trust_summary import TRUST_HEADERS, trust_cells

__all__ = ["explanation_section", "SECTION_TITLE"]

SECTION_TITLE = "Explanations"
#: Columns shown in the importance table and chart.
TOP_FEATURES = 15
#: Image cases drawn in the report (all are in the output folder).
MAX_CASES_SHOWN = 12
CAUTION = ("Attributions describe how this model uses its inputs, relative to the baseline; they are not causal "
           "effects and do not show what would happen to a patient if a value changed.")


def _label(method: str) -> str:
    return {"integrated_gradients": "Integrated Gradients", "gradient_shap": "GradientSHAP",
            "kernel_shap": "KernelSHAP", "occlusion": "Occlusion", "grad_cam": "Grad-CAM"}.get(method, method)


def _with_ci(value: Any, low: Any, high: Any) -> str:
    if low is None or high is None or (isinstance(low, float) and np.isnan(low)):
        return fmt(value)
    return f"{fmt(value)} [{fmt(low)}, {fmt(high)}]"


def _importance_chart(frame, method: str) -> str:
    shown = frame.head(TOP_FEATURES).iloc[::-1]
    fig = Figure(figsize=(6.4, 0.35 * len(shown) + 1.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axis = fig.subplots()
    values = shown["importance"].to_numpy(dtype=float)
    low = np.nan_to_num(values - shown["ci_low"].to_numpy(dtype=float), nan=0.0)
    high = np.nan_to_num(shown["ci_high"].to_numpy(dtype=float) - values, nan=0.0)
    axis.barh(shown["feature"].astype(str), values, xerr=[np.clip(low, 0, None), np.clip(high, 0, None)],
              color="#4c72b0", capsize=3)
    axis.set(xlabel=f"mean |attribution| ({_label(method)})", title="Global importance (95% CI)")
    return figure_to_data_uri(fig)


def _table_parts(result: Explanation) -> list[str]:
    primary = result.methods[0]
    ranked = result.importance[primary]
    columns = list(ranked["feature"].head(TOP_FEATURES))
    headers = ["Column", *[f"mean |attribution|, {_label(m)}" for m in result.methods]]
    lookups = {m: result.importance[m].set_index("feature") for m in result.methods}
    permutation = None
    if result.permutation is not None:
        permutation = result.permutation.set_index("feature")
        metric = str(result.permutation["metric"].iloc[0])
        headers.append(f"permutation importance ({'AUROC drop' if metric == 'auroc' else 'loss increase'})")
    rows = []
    for column in columns:
        row = [column]
        for method in result.methods:
            entry = lookups[method].loc[column]
            row.append(_with_ci(entry["importance"], entry["ci_low"], entry["ci_high"]))
        if permutation is not None:
            entry = permutation.loc[column]
            row.append(_with_ci(entry["importance"], entry["ci_low"], entry["ci_high"]))
        rows.append(row)
    parts = [Raw("<h3>Global importance</h3>"), table(headers, rows, numeric=range(1, len(headers))),
             figure(_importance_chart(ranked, primary), "global importance")]
    if len(ranked) > TOP_FEATURES:
        parts.append(paragraph(f"{len(ranked) - TOP_FEATURES} more columns not shown (see attributions.csv).", "note"))
    parts += [Raw("<h3>Example patients</h3>"), _example_patients(result, primary)]
    return parts


def _example_patients(result: Explanation, method: str) -> Raw:
    """Highest, median and lowest explained output, each with its three largest contributions."""
    predictions = result.predictions
    score = predictions["probability"] if "probability" in predictions else predictions["prediction"]
    order = np.argsort(score.to_numpy(dtype=float), kind="stable")
    picks = list(dict.fromkeys([int(order[-1]), int(order[len(order) // 2]), int(order[0])]))
    values = result.attributions[method]
    rows = []
    for i in picks:
        contributions = values.iloc[i]
        top = contributions.reindex(contributions.abs().sort_values(ascending=False).index[:3])
        text = ", ".join(f"{name} {value:+.3f}" for name, value in top.items())
        rows.append([predictions["id"].iloc[i], fmt(score.iloc[i]), text])
    if "probability" not in predictions:
        label = "Prediction"
    elif predictions["target_class"].nunique() == 1:
        label = f"Probability of {predictions['target_class'].iloc[0]}"
    else:
        label = "Probability of the explained class"
    return table(["Patient", label, f"Largest contributions ({_label(method)})"], rows, numeric=[1])


def _image_parts(result: Explanation) -> list[str]:
    cases = result.predictions
    rows = [[row["id"], str(row.get("case_kind", "")).replace("_", " "), row["target_class"], fmt(row["probability"]),
             row["predicted"], row.get("y_true", "—")] for row in cases.to_dict(orient="records")]
    parts = [Raw("<h3>Cases</h3>"),
             table(["Image", "Chosen as", "Explained class", "Probability", "Predicted", "True"], rows, numeric=[3])]
    if result.out_dir is None:
        return parts + [paragraph("The overlays were not written (no output folder).", "note")]
    if len(cases) > MAX_CASES_SHOWN:
        parts.append(paragraph(f"Overlays of the first {MAX_CASES_SHOWN} of {len(cases)} cases; all are in "
                               f"{result.out_dir}.", "note"))
    for row in cases.head(MAX_CASES_SHOWN).to_dict(orient="records"):
        for method in result.methods:
            name = row.get(f"png_{method}")
            path = result.out_dir / name if name else None
            if path is None or not path.is_file():
                continue
            uri = "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
            parts.append(figure(uri, f"{_label(method)} for case {row['id']}"))
    return parts


def _trust_table(result: Explanation) -> Raw:
    rows = [trust_cells(method, result.trust.get(method, {})) for method in result.methods]
    return table(list(TRUST_HEADERS), rows)


def _image_evidence_parts(result: Explanation) -> list[str]:
    """Why this method (auto), the CAM layer, and the population view with its shortcut check."""
    parts: list[str] = []
    if result.choice:
        parts.append(paragraph(f"Method chosen by evidence ('auto'): {result.choice['reason']}"))
    if result.grad_cam_layer and result.grad_cam_layer.get("map_size"):
        size = result.grad_cam_layer["map_size"]
        parts.append(paragraph(f"Grad-CAM layer: {result.grad_cam_layer['layer']} ({size[0]} x {size[1]} map, "
                               f"upsampled to the image).", "note"))
    population = result.population or {}
    if population.get("figure") is not None:
        parts += [Raw("<h3>Where the model looks, on average</h3>"),
                  figure(figure_to_data_uri(population["figure"]), "mean heat map per class and outcome group"),
                  paragraph(f"Mean {population['method']} map over {population['n_images']} images, per true class "
                            f"and per outcome group (each map scaled to sum 1).")]
    if population.get("shortcut"):
        shortcut = population["shortcut"]
        parts.append(paragraph(("Warning: " if shortcut["warning"] else "") + shortcut["message"],
                               "warning" if shortcut["warning"] else "note"))
    return parts


def explanation_section(result: Explanation) -> Section:
    """The report's "Explanations" section (a ``Section``: unpacks as ``title, html``).

    Example:
        >>> section = explanation_section(meddl.load_run("runs/sepsis").explain())   # doctest: +SKIP
        >>> section.title                                                           # doctest: +SKIP
        'Explanations'
    """
    if not isinstance(result, Explanation):
        raise ConfigError(f"The 'result' parameter of explanation_section must be the Explanation returned by "
                          f"explain_run. Got {type(result).__name__} instead.")
    methods = ", ".join(_label(m) for m in result.methods)
    parts: list[str] = [
        paragraph(f"{methods} explain {result.target} for {len(result.predictions)} "
                  f"{'patients' if result.kind == 'table' else 'images'} ({result.source}), relative to "
                  f"{result.baseline.get('description', 'the baseline')}. Seed {result.seed}."),
        paragraph(CAUTION, "note"),
    ]
    parts += _table_parts(result) if result.kind == "table" else _image_parts(result) + _image_evidence_parts(result)
    parts += [Raw("<h3>Can the explanations be trusted?</h3>"), _trust_table(result),
              paragraph("Randomisation test (Adebayo et al. 2018, cascading from the output layer for images): "
                        "explanations of the trained model and of a copy with random weights should share little of "
                        "their ranking (Spearman of |attribution|) or structure (SSIM); it is 'undefined', not failed, "
                        "when it cannot be computed, with the reason. Deletion/insertion: removing the "
                        "most-attributed inputs first should lower the output faster, and inserting them first should "
                        "raise it faster, than random orders; gains are areas between the curves (output units), with "
                        "95% bootstrap CIs over images, and the faithfulness score is their mean. ROAD removes pixels "
                        "and imputes them from their neighbours (Rong et al. 2022). Completeness: Integrated Gradients should sum to the "
                        "change of the output from the baseline. Inputs equal to the baseline get no attribution under "
                        "any weights, which raises the randomisation correlation of gradient-times-input methods; "
                        "Grad-CAM has no such term.", "note")]
    if result.notes:
        parts.append(Raw("<ul>" + "".join(f"<li>{esc(n)}</li>" for n in result.notes) + "</ul>"))
    return Section(SECTION_TITLE, "".join(str(p) for p in parts))
