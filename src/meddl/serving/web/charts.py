"""Figures drawn by the server as inline SVG (no JavaScript, no images to fetch): survival curve, contributions.

Every text in a figure goes through :func:`html.escape`; the figures carry a ``<title>``
and ``role="img"`` with an ``aria-label``, so a screen reader announces what they show.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["contribution_bars_svg", "survival_curve_svg"]

INK, GRID, BAND, LINE, UP, DOWN = "#1d2330", "#c9d1de", "#b9d3f0", "#1f5fa8", "#b3261e", "#1f6f43"


def _polyline(points: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in points)


def survival_curve_svg(times: Sequence[float], survival: Sequence[float], *, lower: Sequence[float] | None = None,
                       upper: Sequence[float] | None = None, horizons: Sequence[float] = (),
                       time_label: str = "time", width: int = 560, height: int = 300) -> str:
    """A step-free survival curve S(t) with its 95% band and the horizons marked; returns ``<svg>`` markup."""
    left, right, top, bottom = 56, 16, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    t_max = max(float(max(times)), 1e-9)

    def x(t: float) -> float:
        return left + plot_w * float(t) / t_max

    def y(s: float) -> float:
        return top + plot_h * (1.0 - min(max(float(s), 0.0), 1.0))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Predicted survival curve with its 95% band"><title>Predicted survival curve</title>']
    for level in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(level):.1f}" y2="{y(level):.1f}" '
                     f'stroke="{GRID}" stroke-width="1"/>'
                     f'<text x="{left - 6}" y="{y(level) + 4:.1f}" text-anchor="end" font-size="12" fill="{INK}">'
                     f'{level:.0%}</text>')
    for i in range(5):
        t = t_max * i / 4
        parts.append(f'<text x="{x(t):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="12" '
                     f'fill="{INK}">{t:.3g}</text>')
    if lower is not None and upper is not None:
        band = list(zip(times, upper)) + list(zip(times, lower))[::-1]
        parts.append(f'<polygon class="band" points="{_polyline([(x(t), y(s)) for t, s in band])}" fill="{BAND}" '
                     f'fill-opacity="0.8" stroke="none"/>')
    parts.append(f'<polyline class="curve" points="{_polyline([(x(t), y(s)) for t, s in zip(times, survival)])}" '
                 f'fill="none" stroke="{LINE}" stroke-width="2.5"/>')
    for h in horizons:
        if 0 <= h <= t_max:
            parts.append(f'<line x1="{x(h):.1f}" x2="{x(h):.1f}" y1="{top}" y2="{top + plot_h}" stroke="{INK}" '
                         f'stroke-dasharray="4 3" stroke-width="1"/>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" font-size="13" '
                 f'fill="{INK}">{escape(time_label)}</text>'
                 f'<text x="14" y="{top + plot_h / 2:.1f}" text-anchor="middle" font-size="13" fill="{INK}" '
                 f'transform="rotate(-90 14 {top + plot_h / 2:.1f})">probability of survival</text></svg>')
    return "".join(parts)


def contribution_bars_svg(contributions: Sequence[tuple[str, float]], *, width: int = 560,
                          positive_label: str = "raises", negative_label: str = "lowers") -> str:
    """Horizontal bars of the largest contributions (column, value), positive to the right; returns ``<svg>``."""
    rows = list(contributions)
    label_w, value_w, bar_h, gap, top = 170, 64, 20, 8, 8
    height = top * 2 + len(rows) * (bar_h + gap)
    middle = label_w + (width - label_w - value_w) / 2
    half = (width - label_w - value_w) / 2 - 4
    scale = max((abs(v) for _, v in rows), default=1.0) or 1.0
    names = ", ".join(f"{name} {'+' if value >= 0 else '−'}{abs(value):.3g}" for name, value in rows)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape("Largest contributions: " + names)}"><title>Largest contributions</title>',
             f'<line x1="{middle:.1f}" x2="{middle:.1f}" y1="0" y2="{height}" stroke="{INK}" stroke-width="1"/>']
    for i, (name, value) in enumerate(rows):
        y = top + i * (bar_h + gap)
        length = half * abs(value) / scale
        x0 = middle if value >= 0 else middle - length
        colour, word = (UP, positive_label) if value >= 0 else (DOWN, negative_label)
        short = name if len(name) <= 24 else name[:23] + "…"
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.72:.1f}" text-anchor="end" font-size="13" '
                     f'fill="{INK}">{escape(short)}</text>'
                     f'<rect x="{x0:.1f}" y="{y}" width="{max(length, 1):.1f}" height="{bar_h}" fill="{colour}">'
                     f'<title>{escape(f"{name} {word} it by {abs(value):.3g}")}</title></rect>'
                     f'<text x="{width - 4}" y="{y + bar_h * 0.72:.1f}" text-anchor="end" font-size="12" '
                     f'fill="{INK}">{"+" if value >= 0 else "−"}{abs(value):.3g}</text>')
    parts.append("</svg>")
    return "".join(parts)
