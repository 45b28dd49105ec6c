"""Report sections: the one API every package uses to add to a run's report.

A section is a :class:`Section` (a title and self-contained HTML: inline CSS,
``data:`` images, no scripts). Packages that compute something worth showing
(survival curves, propensity overlap, explanations, ensembles) return sections
built with the helpers here (escaped tables, figures, paragraphs, number
formats); :mod:`meddl.report` puts them in order and writes the page.

It sits at the bottom of the import graph (standard library only), so every
package can use it without knowing about run folders.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import NamedTuple

__all__ = ["Section", "Raw", "CSS", "esc", "fmt", "metric_cell", "table", "figure", "paragraph", "slug",
           "metric_label", "METRIC_LABELS"]


class Section(NamedTuple):
    """One part of the report: a title and its HTML (already escaped where needed)."""

    title: str
    html: str

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0 auto; max-width: 1000px;
       padding: 1.5em; color: #1d2330; line-height: 1.45; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.25em; border-bottom: 2px solid #d8dee9; padding-bottom: 0.2em; margin-top: 2em; }
h3 { font-size: 1.05em; margin-bottom: 0.3em; }
.meta { color: #5b6475; font-size: 0.92em; }
table { border-collapse: collapse; margin: 0.6em 0 1em; font-size: 0.92em; }
th, td { border: 1px solid #d8dee9; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f0f3f8; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; }
.note { color: #5b6475; font-size: 0.88em; }
.warning { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.5em 0.8em; }
.flag { color: #b3261e; font-weight: 600; }
.banner { background: #fdecea; border: 1px solid #f5c2c0; padding: 0.6em 0.9em; font-weight: 600; }
nav ol { columns: 2; font-size: 0.92em; }
@media print { nav { display: none; } h2 { page-break-after: avoid; } }
"""


class Raw(str):
    """A string that is already HTML and must not be escaped again."""


def esc(value: object) -> str:
    """Escape text for HTML (``Raw`` strings pass through)."""
    return value if isinstance(value, Raw) else html.escape(str(value))


def fmt(value: object, digits: int = 3) -> str:
    """A number for display; ``—`` for None."""
    if value is None:
        return "—"
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return f"{value:,}"
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError):
        return str(value)


def metric_cell(entry: dict | None) -> Raw:
    """``value [lo, hi]`` of a metrics.json entry, with the reason when something is missing."""
    if not entry:
        return Raw("—")
    text = esc(fmt(entry.get("value")))
    if entry.get("ci95"):
        lo, hi = entry["ci95"]
        text += f" [{esc(fmt(lo))}, {esc(fmt(hi))}]"
    if entry.get("reason"):
        text += f'<br><span class="note">{esc(entry["reason"])}</span>'
    return Raw(text)


def table(headers: Sequence[object], rows: Iterable[Sequence[object]], *, numeric: Sequence[int] = ()) -> Raw:
    """An HTML table; columns listed in ``numeric`` are right-aligned."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{esc(c)}</td>' if i in numeric else f"<td>{esc(c)}</td>" for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return Raw(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")


def figure(data_uri: str, alt: str) -> Raw:
    """An inline image; only ``data:`` URIs are accepted so the report stays self-contained."""
    if not data_uri.startswith("data:"):
        raise ValueError("report figures must be data: URIs")
    return Raw(f'<figure><img src="{data_uri}" alt="{esc(alt)}"></figure>')


def paragraph(text: str, css_class: str | None = None) -> Raw:
    attribute = f' class="{css_class}"' if css_class else ""
    return Raw(f"<p{attribute}>{esc(text)}</p>")


def slug(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")


METRIC_LABELS = {
    "auroc": "AUROC",
    "auprc": "AUPRC (average precision)",
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "sensitivity": "Sensitivity (recall)",
    "specificity": "Specificity",
    "ppv": "PPV (precision)",
    "npv": "NPV",
    "f1": "F1 score",
    "brier": "Brier score (lower is better)",
    "ece": "Expected calibration error (lower is better)",
    "calibration_slope": "Calibration slope (ideal 1)",
    "calibration_intercept": "Calibration-in-the-large (ideal 0)",
    "mse": "Mean squared error",
    "mae": "Mean absolute error",
    "r2": "R²",
}


def metric_label(name: str) -> str:
    """Readable name of a metric key (``sensitivity[benign]`` -> ``Sensitivity — benign``)."""
    if "[" in name and name.endswith("]"):
        base, cls = name[:-1].split("[", 1)
        return f"{METRIC_LABELS.get(base, base)} — {cls}"
    return METRIC_LABELS.get(name, name)
