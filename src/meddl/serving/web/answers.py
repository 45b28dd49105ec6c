"""What the answer card shows for one patient, an image, or a CSV of patients, for each task.

The served model answers as ``Run.predict`` (``Run.recommend`` for treatment) does, with
``warnings`` and an ``explanation`` per row; this module turns that row into sentences, a
table of figures with their intervals, the survival curve and the contribution bars.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from meddl.errors import DataError
from meddl.serving.images import decode_image
from meddl.serving.input_checks import InvalidInput
from meddl.serving.web.charts import contribution_bars_svg, survival_curve_svg

__all__ = ["AnswerView", "BatchView", "ImageView", "answer_view", "batch_view", "image_view"]

CURVE_POINTS = 48
PREVIEW_ROWS = 10


@dataclass
class AnswerView:
    """The answer card of one patient."""

    task: str
    headline: str
    sentence: str
    figures: list[tuple[str, str]] = field(default_factory=list)     # (what, value with interval)
    notes: list[str] = field(default_factory=list)
    arms: list[tuple[str, str, bool]] = field(default_factory=list)   # (arm, outcome with interval, recommended)
    curve_svg: str | None = None
    contributions_svg: str | None = None
    contributions_caption: str = ""
    warnings: list[str] = field(default_factory=list)
    audit_output: Any = None
    test_metrics: dict = field(default_factory=dict)  # the served model's verified metrics.json (the threshold's note)


def _pct(p: float) -> str:
    """A probability in percent: whole percents, one decimal near 0% and 100% (never "100%" for 0.996)."""
    if p in (0.0, 1.0) or 0.01 <= p <= 0.99:
        return f"{100 * p:.0f}%"
    return f"{100 * p:.1f}%"


def _interval(low: Any, high: Any, fmt=lambda v: f"{v:.3g}") -> str:
    return f" (95% interval {fmt(low)} to {fmt(high)})" if low is not None and high is not None else ""


def _probability_interval(p: float, low: Any, high: Any) -> tuple[str, str]:
    """The ensemble's 95% interval around ``p``, or why none is shown.

    The members' spread is taken before calibration; when the run recalibrates its
    probabilities the spread can miss the calibrated value, and an interval that does not
    contain its own estimate would mislead, so it is left out and the reason given.
    """
    if low is None or high is None:
        return "", " (single network: no interval)"
    if not low <= p <= high:
        return "", (f" (no interval: the members' spread, {_pct(low)} to {_pct(high)}, is on the uncalibrated "
                    f"scale and does not contain the calibrated probability)")
    return _interval(low, high, _pct), ""


def _metric(metrics: dict, name: str) -> dict | None:
    entry = ((metrics.get("test") or {}).get("metrics") or {}).get(name)
    return entry if isinstance(entry, dict) and entry.get("value") is not None else None


def _diagnosis(card: AnswerView, row: dict, run: Any) -> None:
    classes = [str(c) for c in run.class_names]
    predicted = str(row.get("predicted"))
    if len(classes) == 2:
        positive = str(run.info.get("positive_class") or classes[1])
        p = float(row[f"prob_{positive}"])
        interval, missing = _probability_interval(p, row.get(f"prob_{positive}_low"), row.get(f"prob_{positive}_high"))
        threshold = run.threshold
        card.headline = f"Probability of {positive}: {_pct(p)}{interval}"
        card.figures.append((f"Probability of {positive}", f"{_pct(p)}{interval or missing}"))
        if threshold is not None:
            flagged = p >= threshold
            card.figures.append(("Decision at the threshold", f"{predicted} (threshold {_pct(threshold)})"))
            card.sentence = (f"The model estimates a {_pct(p)} probability of {positive}, "
                             f"{'at or above' if flagged else 'below'} the decision threshold of {_pct(threshold)}: "
                             f"{'flag this patient as ' + positive if flagged else 'not flagged as ' + positive}.")
            sensitivity, specificity = _metric(card.test_metrics, "sensitivity"), _metric(card.test_metrics,
                                                                                          "specificity")
            if sensitivity and specificity:
                card.notes.append(
                    f"What the threshold means: on the test set it flagged {_pct(sensitivity['value'])} of the patients "
                    f"with {positive} (sensitivity) and left unflagged {_pct(specificity['value'])} of those without "
                    f"(specificity).")
        else:
            card.sentence = f"The model estimates a {_pct(p)} probability of {positive}."
    else:
        p = float(row[f"prob_{predicted}"])
        card.headline = f"Most likely: {predicted} ({_pct(p)})"
        card.sentence = f"Of {len(classes)} classes, the model finds {predicted} the most likely, at {_pct(p)}."
        for name in classes:
            card.figures.append((f"Probability of {name}", _pct(float(row[f"prob_{name}"])) + _interval(
                row.get(f"prob_{name}_low"), row.get(f"prob_{name}_high"), _pct)))
    if isinstance(row.get("prediction_set"), list):
        coverage = (run.info.get("conformal") or {}).get("coverage")
        members = ", ".join(row["prediction_set"]) or "none"
        card.figures.append((f"Prediction set{f' ({_pct(coverage)} coverage)' if coverage else ''}", members))
        if len(row["prediction_set"]) > 1:
            card.notes.append(f"The model cannot rule out any of: {members}.")


def _regression(card: AnswerView, row: dict, run: Any) -> None:
    label = run.info.get("label") or "value"
    value = float(row["predicted"])
    interval = _interval(row.get("predicted_low"), row.get("predicted_high"))
    card.headline = f"Predicted {label}: {value:.3g}{interval}"
    card.sentence = f"The model predicts {label} = {value:.3g}{interval}."
    card.figures.append((f"Predicted {label}", f"{value:.3g}{interval or ' (single network: no interval)'}"))


def _survival(card: AnswerView, row: dict, run: Any, record: dict) -> None:
    unit = run.info.get("duration") or "time"
    median = row.get("median_survival")
    interval = _interval(row.get("median_survival_lower"), row.get("median_survival_upper"))
    if median is None:
        card.headline = "Median survival: beyond the follow-up"
        card.sentence = "The predicted survival stays above 50% over the follow-up: the median cannot be estimated."
    else:
        card.headline = f"Median survival: {median:.3g} {unit}{interval}"
        card.sentence = (f"Half of patients like this one are predicted to have the event "
                         f"'{run.info.get('event', 'event')}' by {median:.3g} {unit}{interval}.")
    card.figures.append((f"Median survival ({unit})", "beyond the follow-up" if median is None
                         else f"{median:.3g}{interval}"))
    for horizon in run.info.get("horizons") or []:
        key = f"survival@{horizon:g}"
        if row.get(key) is not None:
            card.figures.append((f"Survival at {horizon:g} {unit}", _pct(row[key]) + _interval(
                row.get(f"{key}_lower"), row.get(f"{key}_upper"), _pct)))
    horizons = [float(h) for h in run.info.get("horizons") or []]
    end = 1.5 * max(horizons) if horizons else float(median or 1) * 2
    times = np.linspace(0.0, end, CURVE_POINTS)
    x = run.features(pd.DataFrame([record]))[0]
    model = run.model
    if hasattr(model, "predict_interval"):
        summary = model.predict_interval(x, times)["survival"]
        curve, low, high = summary["mean"][0], summary["lower"][0], summary["upper"][0]
    else:
        curve, low, high = model.predict_survival(x, times)[0], None, None
    card.curve_svg = survival_curve_svg(times, curve, lower=low, upper=high, horizons=horizons,
                                        time_label=f"time ({unit})")
    if low is None:
        card.notes.append("Single network: the curve has no band (train an ensemble for one).")


def _treatment(card: AnswerView, row: dict, run: Any, record: dict) -> None:
    label = run.info.get("label") or "outcome"
    spread = {}
    if hasattr(run.model, "predict_member_outcomes"):
        members = run.model.predict_member_outcomes(run.features(pd.DataFrame([record]))[0])[:, 0, :]  # (members, 2)
        spread = {arm: (np.percentile(members[:, k], 2.5), np.percentile(members[:, k], 97.5))
                  for k, arm in enumerate(("control", "treated"))}
    recommended = row.get("recommended_arm")
    for arm, key in (("control", "outcome_if_control"), ("treated", "outcome_if_treated")):
        low, high = spread.get(arm, (None, None))
        card.arms.append((arm, f"{row[key]:.3g}{_interval(low, high)}", arm == recommended))
    effect = _interval(row.get("effect_lower"), row.get("effect_upper"))
    card.figures.append(("Effect of treatment (treated − control)", f"{row['effect']:.3g}{effect}"))
    if row.get("in_support") and recommended in ("treated", "control"):
        benefit = row.get("expected_benefit")
        card.headline = f"Recommended: {recommended}"
        card.sentence = (f"The model recommends {recommended}: expected {label} is better by "
                         f"{abs(benefit):.3g} than under the other arm{effect}.")
        card.figures.append(("Expected benefit of the recommended arm", f"{benefit:.3g}"))
    else:
        card.headline = "No recommendation"
        reason = str(row.get("recommendation") or "no recommendation")
        card.sentence = (f"No arm is recommended ({reason}): patients like this one were almost always, or almost "
                         f"never, treated in the training data, so the data cannot compare the arms for them."
                         if "support" in reason else f"No arm is recommended ({reason}).")


def _class_or_value(card: AnswerView, row: dict, run: Any, record: Any = None) -> None:
    (_diagnosis if run.class_names is not None else _regression)(card, row, run)


#: the answer of the tasks whose rows are not class probabilities or a predicted value
_ANSWER_BUILDERS = {"survival": _survival, "treatment": _treatment}


def _contributions(card: AnswerView, row: dict) -> None:
    explanation = row.get("explanation") or {}
    top = explanation.get("top") or []
    if top:
        card.contributions_svg = contribution_bars_svg([(str(t["column"]), float(t["attribution"])) for t in top])
        card.contributions_caption = (f"Largest contributions to the {explanation.get('explained', 'prediction')}, "
                                      f"in the original columns, against {explanation.get('baseline', 'the mean patient')}"
                                      f" (red raises it, green lowers it).")


def answer_view(model: Any, record: dict) -> AnswerView:
    """Predict one patient with the served model and build the answer card."""
    try:
        row = model.predict_records([record], explain=True)[0]
    except InvalidInput as exc:
        raise DataError(str(exc)) from None
    run = model.run
    card = AnswerView(task=run.task, headline="", sentence="", warnings=list(row.get("warnings") or []),
                      audit_output=model.summary([row]) if hasattr(model, "summary") else None,
                      test_metrics=model.metrics)
    _ANSWER_BUILDERS.get(run.task, _class_or_value)(card, row, run, record)
    _contributions(card, row)
    return card


# ------------------------------------------------------------------------------------------- images
@dataclass
class ImageView:
    filename: str
    answer: AnswerView
    original_data_url: str | None
    overlay_data_url: str | None
    panels: str
    upload_sha256: str
    audit_output: Any = None


def _png_data_url(image: np.ndarray) -> str:
    """Pixels scaled to their own minimum and maximum, as a PNG data URL."""
    from PIL import Image

    pixels = np.asarray(image, dtype=np.float64)
    low, high = float(pixels.min()), float(pixels.max())
    scaled = ((pixels - low) / (high - low or 1.0) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(scaled).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_view(model: Any, data: bytes, filename: str) -> ImageView:
    """Predict one uploaded image and build its answer, with the Grad-CAM panels."""
    try:
        row = model.predict_image(data, filename, explain=True)
    except InvalidInput as exc:
        raise DataError(str(exc)) from None
    card = AnswerView(task=model.run.task, headline="", sentence="", warnings=list(row.get("warnings") or []),
                      test_metrics=model.metrics)
    _class_or_value(card, row, model.run)
    explanation = row.get("explanation") or {}
    overlay = explanation.get("overlay_png_base64")
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        original = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    elif data[:3] == b"\xff\xd8\xff":
        original = "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")
    else:  # DICOM: browsers cannot show it, so the server draws its pixels as a PNG
        original = _png_data_url(decode_image(data, filename, max_pixels=getattr(model, "max_image_pixels",
                                                                                 25_000_000)))
    return ImageView(filename=filename, answer=card, original_data_url=original,
                     overlay_data_url=None if overlay is None else f"data:image/png;base64,{overlay}",
                     panels=str(explanation.get("panels") or ""), upload_sha256=hashlib.sha256(data).hexdigest(),
                     audit_output=model.summary([row]) if hasattr(model, "summary") else None)


# ------------------------------------------------------------------------------------------- CSV batches
@dataclass
class BatchView:
    n_rows: int
    n_predicted: int
    columns: list[str]
    preview: list[list[str]]
    row_errors: list[tuple[int, str]]
    ignored_columns: list[str]
    csv_bytes: bytes
    upload_sha256: str
    download_token: str = ""


_RECORD = re.compile(r"^records\[(\d+)\]")


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return " | ".join(map(str, value))
    return "" if value is None else str(value)


_SPREAD = ("_sd", "_low", "_high", "_lower", "_upper")


def _preview_columns(columns: list[str], names: list[str], run: Any) -> list[str]:
    """The preview's columns: the inputs and the main answers (no spread columns, no negative-class probability)."""
    hidden = set()
    classes = run.class_names or []
    if len(classes) == 2:
        positive = run.info.get("positive_class") or classes[1]
        hidden = {f"prob_{c}" for c in classes if c != positive}
    return [c for c in columns[:-1] if c in names or c in ("row", "warnings")
            or (not c.endswith(_SPREAD) and c not in hidden and c not in ("propensity", "in_support"))]


def batch_view(model: Any, data: bytes) -> BatchView:
    """Predict every row of an uploaded CSV; rows the model cannot take are listed by row number, the rest predicted."""
    try:
        frame = pd.read_csv(io.BytesIO(data), dtype=object, keep_default_na=True)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"The file is not a readable CSV table ({exc}).") from None
    names = [spec["name"] for spec in model.describe()["input"]["columns"]]
    absent = [name for name in names if name not in frame.columns]
    if absent:
        raise DataError(f"The CSV has no column {', '.join(map(repr, absent))}; the model needs the columns "
                        f"{', '.join(map(repr, names))}.")
    # the run's patient identifier (data.patient_id), when the upload has it, is echoed beside each row's answer
    id_column = model.run.config.data.patient_id
    ids = [id_column] if id_column and id_column in frame.columns and id_column not in names else []
    ignored = [str(c) for c in frame.columns if c not in names and c not in ids]
    records = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame[names].to_dict("records")]
    errors: dict[int, list[str]] = {}
    good = list(range(len(records)))
    rows: list[dict] = []
    while good:
        try:
            rows = model.predict_records([records[i] for i in good])
            break
        except InvalidInput as exc:
            bad = {}
            for problem in exc.problems:
                match = _RECORD.match(problem.field)
                if match is None:
                    raise DataError(str(exc)) from None
                bad.setdefault(good[int(match.group(1))], []).append(problem.message)
            for index, messages in bad.items():
                errors.setdefault(index, []).extend(messages)
            good = [i for i in good if i not in bad]
    by_index = dict(zip(good, rows))
    keys = list(dict.fromkeys(k for row in rows for k in row if k not in ("row_id", "warnings", "explanation")))
    columns = ["row", *ids, *names, *keys, "warnings", "error"]
    id_values = frame[ids].to_numpy(dtype=object)
    table = []
    for i, record in enumerate(records):
        row = by_index.get(i, {})
        table.append([str(i + 1), *[_cell(None if pd.isna(v) else v) for v in id_values[i]],
                      *[_cell(record[n]) for n in names], *[_cell(row.get(k)) for k in keys],
                      "; ".join(row.get("warnings") or []), " ".join(errors.get(i, []))])
    buffer = io.StringIO()
    pd.DataFrame(table, columns=columns).to_csv(buffer, index=False)
    shown = _preview_columns(columns, names, model.run)
    preview = [[r[columns.index(c)] for c in shown] for r in table if r[-1] == ""][:PREVIEW_ROWS]
    for line in preview:  # the preview counts the warnings; the download has their text
        line[-1] = f"{len(line[-1].split('; '))} warning(s)" if line[-1] else ""
    return BatchView(n_rows=len(records), n_predicted=len(rows), columns=shown, preview=preview,
                     row_errors=[(i + 1, " ".join(m)) for i, m in sorted(errors.items())], ignored_columns=ignored,
                     csv_bytes=buffer.getvalue().encode("utf-8"), upload_sha256=hashlib.sha256(data).hexdigest())

