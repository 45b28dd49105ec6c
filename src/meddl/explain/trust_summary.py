"""The trust checks in words, for the CLI summary and the report's table: one wording for both.

Every check reads ``passed``, ``FAILED`` or ``undefined (why)``; a figure that
has a 95% CI is shown with it.
"""

from __future__ import annotations

from typing import Any

from meddl.explain.image_methods import method_label
from meddl.explain.image_trust import status_text

__all__ = ["trust_cells", "trust_lines", "TRUST_HEADERS"]

TRUST_HEADERS = ("Method", "Randomisation test (trained vs random weights)", "Deletion gain vs random order",
                 "Insertion gain vs random order", "Faithfulness score", "ROAD (LeRF - MoRF)", "Completeness")


def _number(value: Any, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _with_ci(entry: dict[str, Any] | None) -> str:
    if not entry or entry.get("mean") is None:
        return "undefined"
    if entry.get("ci_low") is None:
        return f"{entry['mean']:+.3f} (no CI: {entry.get('n', 0)} row)"
    return f"{entry['mean']:+.3f} [{entry['ci_low']:+.3f}, {entry['ci_high']:+.3f}]"


def _randomization(check: dict[str, Any]) -> str:
    if not check:
        return "not computed"
    figures = []
    if check.get("spearman") is not None:
        figures.append(f"Spearman |attr.| {_number(check['spearman'], 2)}")
    if check.get("ssim") is not None:
        figures.append(f"SSIM {_number(check['ssim'], 2)}")
    text = status_text(check)
    return f"{text}: {', '.join(figures)}" if figures else text


def trust_cells(method: str, checks: dict[str, Any]) -> list[str]:
    """One table row (see :data:`TRUST_HEADERS`) for a method's checks.

    Example:
        >>> checks = {"randomization": {"status": "undefined", "reason": "constant maps", "spearman": None}}
        >>> trust_cells("grad_cam", checks)[:2]
        ['Grad-CAM', 'undefined (constant maps)']
    """
    curves = checks.get("deletion_insertion") or {}
    faith = checks.get("faithfulness")
    if faith:
        deletion, insertion = _with_ci(faith["deletion_gain"]), _with_ci(faith["insertion_gain"])
        score = f"{_with_ci(faith['score'])} ({status_text(faith)})"
    else:
        deletion = _number((curves.get("deletion") or {}).get("gain"))
        insertion = _number((curves.get("insertion") or {}).get("gain"))
        score = status_text(curves) if curves else "not computed"
    road = checks.get("road")
    completeness = checks.get("completeness")
    return [method_label(method), _randomization(checks.get("randomization") or {}), deletion, insertion, score,
            "—" if not road else f"{_with_ci(road['score'])} ({status_text(road)})",
            "—" if not completeness else
            f"{_number(completeness.get('median_relative_error'))} median error ({status_text(completeness)})"]


def trust_lines(trust: dict[str, dict[str, Any]]) -> list[str]:
    """Indented summary lines for the CLI: each method's checks, with the reasons of failed or undefined ones.

    Example:
        >>> lines = trust_lines({"occlusion": {"randomization": {"status": "passed", "ssim": 0.1, "spearman": 0.2}}})
        >>> lines[0]
        '  Occlusion: randomisation passed: Spearman |attr.| 0.20, SSIM 0.10'
    """
    lines = []
    for method, checks in trust.items():
        cells = trust_cells(method, checks)
        parts = [f"randomisation {cells[1]}"]
        if checks.get("deletion_insertion") or checks.get("faithfulness"):
            parts.append(f"deletion gain {cells[2]}, insertion gain {cells[3]}; faithfulness {cells[4]}")
        if checks.get("road"):
            parts.append(f"ROAD {cells[5]}")
        if checks.get("completeness"):
            parts.append(f"completeness {cells[6]}")
        lines.append(f"  {cells[0]}: " + "; ".join(parts))
        for name in ("randomization", "faithfulness", "deletion_insertion", "completeness"):
            check = checks.get(name) or {}
            if check.get("status") == "failed" and check.get("reason") and name != "deletion_insertion":
                lines.append(f"    {name}: {check['reason']}")
    return lines
