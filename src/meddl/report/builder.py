"""``build_report(files)``: one self-contained HTML page a clinician can read offline.

The page is built from a run's contents (:class:`~meddl.report.inputs.RunFiles`:
``run.json``, ``metrics.json``, the history and decoded predictions, read by
:mod:`meddl.runs.report`): inline CSS, figures as base64 PNG, no scripts and no
external resources.

Each section is a function ``(RunFiles) -> html | None`` listed in
:data:`SECTION_BUILDERS`; a section whose inputs are missing returns ``None``
and is left out (the report says which files were missing). Every package adds
its own with :class:`meddl.sections.Section` (``RunFiles.sections`` and
``extra_sections``), placed before the model card.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from meddl.evaluation import confusion_matrix, decision_curve, plots, reliability_curve
from meddl.report.model_card import model_card, recalibration_text
from meddl.report.inputs import Predictions, RunFiles
from meddl.sections import CSS, Raw, Section, esc, figure, fmt, metric_cell, metric_label, paragraph, slug, table

__all__ = ["build_report", "REPORT_SECTIONS", "SECTION_BUILDERS", "NOT_FOR_CLINICAL_USE"]

NOT_FOR_CLINICAL_USE = "Not for clinical use without local validation."


def _test(files: RunFiles) -> Predictions | None:
    return files.predictions.get("test")


def _split_metrics(files: RunFiles, split: str = "test") -> dict:
    value = files.metrics.get(split)
    return value if isinstance(value, dict) else {}


# --------------------------------------------------------------------------- sections


def section_data_summary(files: RunFiles) -> str | None:
    summary = files.run.get("data_summary")
    if not summary:
        return None
    parts = [table(["Item", "Value"], [
        ["Source", summary.get("source", "—")],
        ["Rows", fmt(summary.get("n_rows"))],
        *[[f"{split} split", fmt(size)] for split, size in (summary.get("split_sizes") or {}).items()],
    ])]
    balance = summary.get("class_balance") or {}
    if balance:
        classes = sorted({c for counts in balance.values() for c in counts})
        rows = []
        for split, counts in balance.items():
            total = sum(counts.values()) or 1
            rows.append([split, *[f"{counts.get(c, 0):,} ({counts.get(c, 0) / total:.0%})" for c in classes]])
        parts += [Raw("<h3>Class balance</h3>"), table(["Split", *classes], rows, numeric=range(1, len(classes) + 1))]
    missingness = summary.get("missingness") or {}
    if missingness:
        ranked = sorted(missingness.items(), key=lambda kv: -kv[1])
        shown = [[column, f"{fraction:.1%}"] for column, fraction in ranked[:20]]
        parts += [Raw("<h3>Missing values</h3>"), table(["Column", "Missing"], shown, numeric=[1])]
        if len(ranked) > 20:
            parts.append(paragraph(f"{len(ranked) - 20} more columns not shown.", "note"))
        if all(f == 0 for _, f in ranked):
            parts.append(paragraph("No missing values.", "note"))
    return "".join(parts)


def section_training_curves(files: RunFiles) -> str | None:
    history = files.history
    if history is None or history.empty:
        return None
    epochs = history["epoch"] if "epoch" in history.columns else np.arange(1, len(history) + 1)
    series = {c: history[c].tolist() for c in history.columns if c != "epoch" and np.issubdtype(history[c].dtype,
                                                                                                  np.number)}
    if not series:
        return None
    best = ""
    if "val_loss" in history.columns and history["val_loss"].notna().any():
        i = int(history["val_loss"].idxmin())
        best = f"Lowest validation loss {history['val_loss'][i]:.4f} at epoch {fmt(int(epochs[i]))}."
    return figure(plots.plot_training_curves(list(epochs), series), "training curves") + (
        paragraph(best, "note") if best else "")


def _metrics_table(split_metrics: dict) -> Raw:
    before = split_metrics.get("before_calibration")
    rows = []
    for name, entry in split_metrics.get("metrics", {}).items():
        row = [metric_label(name), metric_cell(entry)]
        if isinstance(before, dict):
            row.append(metric_cell(before.get(name)))  # with its CI, e.g. the calibration slope before/after
        rows.append(row)
    headers = ["Metric", "Value [95% CI]"] + (["Before calibration"] if isinstance(before, dict) else [])
    return table(headers, rows, numeric=[2] if isinstance(before, dict) else [])


def section_metrics(files: RunFiles) -> str | None:
    splits = [s for s in ("test", "val") if _split_metrics(files, s).get("metrics")]
    if not splits:
        return None
    parts = []
    for split in splits:
        m = _split_metrics(files, split)
        boot = m.get("bootstrap", {})
        caption = f"{'Test' if split == 'test' else 'Validation'} split: n = {fmt(m.get('n'))}"
        if m.get("threshold") is not None:
            positive = files.metrics.get("positive_class")
            caption += (f", decision threshold {m['threshold']:.3g} (positive if probability ≥ threshold)"
                        + (f", positive class '{positive}'" if positive is not None else ""))
        parts += [Raw(f"<h3>{esc(caption)}</h3>"), _metrics_table(m)]
        if m.get("auroc_delong", {}).get("ci95"):
            d = m["auroc_delong"]
            parts.append(paragraph(f"AUROC with DeLong's 95% CI: {fmt(d['value'])} [{fmt(d['ci95'][0])}, "
                                   f"{fmt(d['ci95'][1])}].", "note"))
        if boot:
            parts.append(paragraph(
                f"95% CIs: percentile bootstrap, {boot.get('n_resamples')} resamples of "
                f"{boot.get('resampled', 'rows')}, seed {boot.get('seed')}.", "note"))
    return "".join(parts)


def section_roc_pr(files: RunFiles) -> str | None:
    predictions = _test(files)
    if predictions is None or predictions.proba is None:
        return None
    return figure(plots.plot_roc_pr(predictions.y, predictions.proba, predictions.class_names),
                  "ROC and precision-recall curves")


def section_predicted_vs_observed(files: RunFiles) -> str | None:
    predictions = _test(files)
    if predictions is None or predictions.proba is not None:
        return None
    return figure(plots.plot_predicted_vs_observed(predictions.y, predictions.predicted), "predicted versus observed")


def section_confusion_matrix(files: RunFiles) -> str | None:
    predictions = _test(files)
    matrix = _split_metrics(files).get("confusion_matrix")
    if predictions is not None and predictions.proba is not None:
        names = predictions.class_names
        matrix = matrix or confusion_matrix(predictions.y, predictions.predicted, len(names))
    elif matrix:
        names = files.run.get("class_names") or [str(i) for i in range(len(matrix))]
    else:
        return None
    return figure(plots.plot_confusion_matrix(matrix, names), "confusion matrix") + paragraph(
        "Rows are the true class, columns the predicted class; percentages are shares of each true class.", "note")


def section_calibration(files: RunFiles) -> str | None:
    predictions = _test(files)
    if predictions is None or predictions.proba is None:
        return None
    if predictions.proba.shape[1] == 2:
        curve = reliability_curve(predictions.y, predictions.proba[:, 1])
        label, note = f"predicted probability of {predictions.class_names[1]}", ""
    else:
        confidence = predictions.proba.max(axis=1)
        curve = reliability_curve((predictions.proba.argmax(axis=1) == predictions.y).astype(int), confidence)
        label = "confidence (probability of the predicted class)"
        note = "Multi-class: the confidence of the predicted class against how often it was correct."
    text = ("Points on the diagonal mean the predicted probabilities match the observed frequencies; "
            "points below it mean the model over-estimates risk. " + note)
    recalibration = recalibration_text(files.run)
    if recalibration:
        text += (f" {recalibration} The metrics table gives the calibration slope and intercept before and after "
                 "(slope 1 and intercept 0: calibrated).")
    return figure(plots.plot_reliability(curve, xlabel=label), "reliability diagram") + paragraph(text, "note")


def section_decision_curve(files: RunFiles) -> str | None:
    predictions = _test(files)
    if predictions is None or predictions.proba is None or predictions.proba.shape[1] != 2:
        return None
    curve = decision_curve(predictions.y, predictions.proba[:, 1])
    text = ("Net benefit = true positives / n − false positives / n × pt / (1 − pt) (Vickers & Elkin 2006). "
            "The model helps at a threshold probability pt where its curve lies above both 'treat all' and "
            "'treat none'.")
    return figure(plots.plot_decision_curve(curve), "decision curve") + paragraph(text, "note")


def section_subgroups(files: RunFiles) -> str | None:
    subgroups = _split_metrics(files).get("subgroups") or {}
    if not subgroups:
        return None
    key_metrics = ("auroc", "sensitivity", "specificity", "accuracy", "mae", "r2")
    parts = []
    for column, values in subgroups.items():
        present = [k for k in key_metrics if any(k in v.get("metrics", {}) for v in values.values())]
        rows = []
        for value, entry in values.items():
            flag = Raw('<span class="flag">worse than overall</span>') if entry.get("flagged") else ""
            rows.append([value, fmt(entry.get("n")), *[metric_cell(entry["metrics"].get(k)) for k in present], flag])
        parts += [Raw(f"<h3>{esc(column)}</h3>"),
                  table([column, "n", *[metric_label(k) for k in present], "Flag"], rows, numeric=[1])]
    parts.append(paragraph("A subgroup is flagged when the upper end of its AUROC 95% CI lies below the overall "
                           "AUROC.", "note"))
    return "".join(parts)


def section_examples(files: RunFiles, per_kind: int = 3) -> str | None:
    predictions = _test(files)
    if predictions is None:
        return None
    frame = predictions.frame
    ids = frame["row_id"] if "row_id" in frame.columns else frame.index
    if predictions.proba is None:
        error = np.abs(predictions.y - predictions.predicted)
        order = np.argsort(error)
        picks = [("closest", i) for i in order[:per_kind]] + [("largest error", i) for i in order[::-1][:per_kind]]
        rows = [[kind, ids.iloc[i] if hasattr(ids, "iloc") else ids[i], fmt(predictions.y[i]),
                 fmt(predictions.predicted[i])] for kind, i in picks]
        return table(["Example", "Row", "Observed", "Predicted"], rows, numeric=[2, 3])
    names = predictions.class_names
    confidence = predictions.proba.max(axis=1)
    correct = predictions.predicted == predictions.y
    by_confidence = np.argsort(-confidence, kind="mergesort")
    picks = [("confident, correct", i) for i in by_confidence[correct[by_confidence]][:per_kind]]
    picks += [("confident, wrong", i) for i in by_confidence[~correct[by_confidence]][:per_kind]]
    picks += [("least certain", i) for i in by_confidence[::-1][:per_kind]]
    sets = frame["prediction_set"].fillna("").astype(str).str.replace("|", ", ") \
        if "prediction_set" in frame.columns else None
    rows = [[kind, ids.iloc[i], names[predictions.y[i]], names[predictions.predicted[i]], f"{confidence[i]:.3f}"]
            + ([sets.iloc[i] or "(empty)"] if sets is not None else []) for kind, i in picks]
    headers = ["Example", "Row", "True", "Predicted", "Probability of prediction"]
    return table(headers + (["Conformal set"] if sets is not None else []), rows, numeric=[4])


def section_conformal(files: RunFiles) -> str | None:
    conformal = _split_metrics(files).get("conformal")
    if not conformal:
        return None
    rows = [["Target coverage", fmt(conformal.get("target_coverage"))],
            ["Observed coverage (test)", fmt(conformal.get("coverage"))],
            ["Mean set size (classes)", fmt(conformal.get("mean_set_size"), 2)],
            ["Method", conformal.get("method", "—")],
            ["Calibration cases", fmt(conformal.get("n_calibration"))]]
    text = ("Each prediction set lists the classes that cannot be ruled out; with split-conformal calibration on "
            "the validation split, the set contains the true class for about the target share of new cases.")
    return table(["Item", "Value"], rows) + paragraph(text, "note")


def section_model_card(files: RunFiles) -> str:
    card = model_card(files.run, files.metrics)
    rows = [[name, Raw("<ul>" + "".join(f"<li>{esc(item)}</li>" for item in value) + "</ul>")
             if isinstance(value, list) else value] for name, value in card.rows()]
    return table(["", ""], rows) + Raw(f'<p class="banner">{esc(NOT_FOR_CLINICAL_USE)}</p>')


SectionBuilder = Callable[[RunFiles], "str | None"]

#: (title, builder) in report order. Titles are stable: tests and other tools refer to them.
SECTION_BUILDERS: list[tuple[str, SectionBuilder]] = [
    ("Data summary", section_data_summary),
    ("Training curves", section_training_curves),
    ("Metrics", section_metrics),
    ("ROC and precision-recall curves", section_roc_pr),
    ("Predicted versus observed", section_predicted_vs_observed),
    ("Confusion matrix", section_confusion_matrix),
    ("Calibration", section_calibration),
    ("Decision curve", section_decision_curve),
    ("Subgroups", section_subgroups),
    ("Example predictions", section_examples),
    ("Conformal prediction sets", section_conformal),
    ("Model card", section_model_card),
]
REPORT_SECTIONS = tuple(title for title, _ in SECTION_BUILDERS)


def build_report(files: RunFiles, *, extra_sections: Sequence[Section] = ()) -> str:
    """The report page (HTML text) of a run's contents.

    Args:
        files: what the run holds (``meddl.runs.report.read_report_inputs`` reads it from a folder).
        extra_sections: sections appended before the model card (after the sections the run
            keeps with itself), e.g. an explanation section from :mod:`meddl.explain`. The HTML is
            inserted as given; keep it self-contained (``data:`` images only).

    Example:
        >>> html = build_report(read_report_inputs(RunFolder("runs/quickstart")))  # doctest: +SKIP
    """
    sections: list[tuple[str, str]] = []
    for title, builder in SECTION_BUILDERS:
        body = builder(files)
        if body is not None:
            sections.append((title, body))
    card = sections.pop() if sections and sections[-1][0] == "Model card" else None
    sections += [(str(title), str(body)) for title, body in files.sections]
    sections += [(str(title), str(body)) for title, body in extra_sections]
    if card:
        sections.append(card)
    run = files.run
    heading = run.get("label") or run.get("task") or files.run_dir.name
    meta = " · ".join(str(x) for x in (run.get("task"), run.get("problem"), run.get("created"),
                                        f"meddl {run['meddl_version']}" if run.get("meddl_version") else None) if x)
    nav = "".join(f'<li><a href="#{slug(t)}">{esc(t)}</a></li>' for t, _ in sections)
    body = "".join(f'<section id="{slug(t)}"><h2>{esc(t)}</h2>{b}</section>' for t, b in sections)
    missing = ""
    if files.missing:
        missing = paragraph("Sections needing these missing files were left out: " + ", ".join(files.missing) + ".",
                            "warning")
    document = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{esc(heading)} — meddl report</title><style>{CSS}</style></head><body>"
        f"<h1>{esc(heading)}</h1><p class=\"meta\">{esc(meta)}</p>"
        f"<p class=\"banner\">{esc(NOT_FOR_CLINICAL_USE)}</p>{missing}"
        f"<nav><ol>{nav}</ol></nav>{body}</body></html>\n"
    )
    return document
