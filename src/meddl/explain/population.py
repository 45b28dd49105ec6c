"""The population view of image explanations: where does the model look, on average, and is it the border?

A single heat map convinces nobody; the average map over many images shows a
habit. :func:`population_maps` averages maps (each scaled to sum 1, so every
image counts once) per true class and per outcome group (true/false
positives/negatives for binary models). :func:`border_share` measures the part
of each map's mass in the image's outer band and in its corners: a model that
reads text markers, rulers or calipers -- the classic shortcut in medical
images (Zech et al. 2018; DeGrave et al. 2021) -- puts far more mass there than
the band's share of the area. :func:`shortcut_warning` turns that into a
sentence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from meddl.errors import DataError

__all__ = ["population_maps", "border_share", "shortcut_warning", "population_figure", "BORDER_FRACTION",
           "SHORTCUT_RATIO"]

#: Width of the outer band (and side of each corner square) as a fraction of the image side.
BORDER_FRACTION = 0.15
#: A warning when the maps' mean share in the band (or the corners) is at least this many times its share of the area.
SHORTCUT_RATIO = 2.0
OUTCOME_GROUPS = ("true positive", "false negative", "false positive", "true negative")


def _mass(maps: Any) -> np.ndarray:
    """Positive evidence scaled so each map sums to 1 (an all-zero map stays zero)."""
    values = np.clip(np.asarray(maps, dtype=np.float64), 0, None)
    if values.ndim != 3:
        raise DataError(f"The 'maps' parameter must be heat maps (n, H, W); got shape {values.shape}.")
    totals = values.reshape(len(values), -1).sum(axis=1)
    return values / np.where(totals > 0, totals, 1.0)[:, None, None]


def population_maps(maps: Any, y_true: Any, y_pred: Any, *, class_names: list[str],
                    positive: int | None = None) -> dict[str, dict[str, Any]]:
    """Mean heat map per true class and, for a binary model, per outcome group (TP, FN, FP, TN).

    Args:
        maps: heat maps ``(n, H, W)`` (negative values count as 0).
        y_true, y_pred: class indices of each image.
        class_names: the classes in index order.
        positive: index of the positive class (binary; default the last class).

    Returns:
        ``{group: {"map": (H, W) array, "n": count}}`` for ``"class <name>"`` and the outcome groups present.

    Example:
        >>> import numpy as np
        >>> groups = population_maps(np.ones((4, 2, 2)), [0, 1, 1, 0], [0, 1, 0, 1], class_names=["normal", "pneumonia"])
        >>> {k: v["n"] for k, v in groups.items()}
        {'class normal': 2, 'class pneumonia': 2, 'true positive': 1, 'false negative': 1, 'false positive': 1, 'true negative': 1}
    """
    mass = _mass(maps)
    truth, predicted = np.asarray(y_true).reshape(-1), np.asarray(y_pred).reshape(-1)
    if len(truth) != len(mass) or len(predicted) != len(mass):
        raise DataError(f"population_maps needs one true and one predicted class per map ({len(mass)}); got "
                        f"{len(truth)} and {len(predicted)}.")
    groups: dict[str, np.ndarray] = {f"class {name}": truth == k for k, name in enumerate(class_names)}
    if len(class_names) == 2:
        positive = len(class_names) - 1 if positive is None else int(positive)
        is_true, is_pred = truth == positive, predicted == positive
        groups.update({"true positive": is_true & is_pred, "false negative": is_true & ~is_pred,
                       "false positive": ~is_true & is_pred, "true negative": ~is_true & ~is_pred})
    return {name: {"map": mass[chosen].mean(axis=0), "n": int(chosen.sum())}
            for name, chosen in groups.items() if chosen.any()}


def _regions(height: int, width: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    band_h, band_w = max(1, int(round(fraction * height))), max(1, int(round(fraction * width)))
    rows, cols = np.arange(height)[:, None], np.arange(width)[None, :]
    near_row = (rows < band_h) | (rows >= height - band_h)
    near_col = (cols < band_w) | (cols >= width - band_w)
    return near_row | near_col, near_row & near_col


def border_share(maps: Any, *, fraction: float = BORDER_FRACTION) -> dict[str, Any]:
    """Share of each map's positive mass in the outer band and in the four corner squares, against their area.

    Returns:
        ``{"border": per-map shares (n,), "corners": (n,), "border_area": share of the
        image, "corners_area": ..., "fraction": fraction}``; maps with no positive mass get NaN.

    Example:
        >>> import numpy as np
        >>> maps = np.zeros((1, 10, 10)); maps[0, 0, 0] = 1.0
        >>> out = border_share(maps)
        >>> float(out["corners"][0]), out["corners_area"]
        (1.0, 0.16)
    """
    mass = _mass(maps)
    band, corners = _regions(mass.shape[1], mass.shape[2], fraction)
    empty = mass.reshape(len(mass), -1).sum(axis=1) == 0
    border = np.where(empty, np.nan, (mass * band).sum(axis=(1, 2)))
    corner = np.where(empty, np.nan, (mass * corners).sum(axis=(1, 2)))
    return {"border": border, "corners": corner, "border_area": float(band.mean()),
            "corners_area": float(corners.mean()), "fraction": fraction}


def shortcut_warning(maps: Any, *, fraction: float = BORDER_FRACTION, ratio: float = SHORTCUT_RATIO) -> dict[str, Any]:
    """Whether the maps put suspiciously much mass in the border band or the corners, in words.

    Returns:
        ``{"warning": bool, "message", "border_share", "corners_share", "border_area", "corners_area"}``
        (shares are means over maps with positive mass).

    Example:
        >>> import numpy as np
        >>> maps = np.zeros((3, 10, 10)); maps[:, :2, :2] = 1.0
        >>> out = shortcut_warning(maps)
        >>> out["warning"], out["message"][:42]
        (True, "100% of the heat maps' mass lies in the fo")
    """
    shares = border_share(maps, fraction=fraction)
    border = float(np.nanmean(shares["border"])) if np.isfinite(shares["border"]).any() else None
    corners = float(np.nanmean(shares["corners"])) if np.isfinite(shares["corners"]).any() else None
    out = {"border_share": border, "corners_share": corners, "border_area": shares["border_area"],
           "corners_area": shares["corners_area"], "fraction": fraction, "warning": False}
    if border is None:
        out["message"] = "The heat maps have no positive mass; where the model looks cannot be said."
        return out
    if corners >= ratio * shares["corners_area"]:
        out["warning"] = True
        out["message"] = (f"{corners:.0%} of the heat maps' mass lies in the four corner squares ({fraction:.0%} of "
                          f"the side each), which cover {shares['corners_area']:.0%} of the image: the model may read "
                          f"a marker, label or text there (a shortcut) rather than the anatomy. Check the images' corners.")
    elif border >= ratio * shares["border_area"] or border > 0.5 and border >= 1.5 * shares["border_area"]:
        out["warning"] = True
        out["message"] = (f"{border:.0%} of the heat maps' mass lies in the outer band ({fraction:.0%} of the side), "
                          f"which covers {shares['border_area']:.0%} of the image: the model may use borders, rulers "
                          f"or calipers (a shortcut). Check the images' edges.")
    else:
        out["message"] = (f"{border:.0%} of the heat maps' mass lies in the outer band (its area: "
                          f"{shares['border_area']:.0%}) and {corners:.0%} in the corners (area "
                          f"{shares['corners_area']:.0%}): no sign of a border or corner shortcut.")
    return out


def population_figure(groups: dict[str, dict[str, Any]], *, title: str = "") -> Figure:
    """One panel per group: the mean heat map (each scaled to its maximum), with the group's size.

    Example:
        >>> import numpy as np
        >>> fig = population_figure({"class a": {"map": np.eye(4), "n": 3}})
        >>> fig.axes[0].get_title()
        'class a (n = 3)'
    """
    fig = Figure(figsize=(1.9 * max(1, len(groups)), 2.3), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, max(1, len(groups))))
    for axis, (name, group) in zip(axes, groups.items()):
        heat = np.asarray(group["map"])
        axis.imshow(heat / heat.max() if heat.max() > 0 else heat, cmap="inferno", vmin=0, vmax=1)
        axis.set_title(f"{name} (n = {group['n']})", fontsize=8)
        axis.set_axis_off()
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
