"""``Explanation``: what :func:`meddl.explain.explain_run` found, and how it is written to a folder.

Files written (atomically: the folder appears complete or not at all):

* ``attributions.csv`` (tables) -- one row per patient: ``id``, ``target_class``,
  ``probability`` of that class (or ``prediction`` for regression), ``predicted``,
  then one signed attribution per original column, for the first method;
  ``attributions_<method>.csv`` for each further method.
* ``attributions.json`` -- methods, baseline, target rule, per-patient values
  (tables) or per-case heatmap files (images), global importance, trust checks.
* ``case<k>_<kind>_<method>.png`` and ``heatmaps.npz`` (images) -- overlays and
  the raw heatmaps ``(n_cases, H, W)`` per method.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from meddl.errors import ConfigError
from meddl.io import json_safe
from meddl.io import atomic_directory, replaceable_if_it_holds
from meddl.explain.overlays import save_overlay

__all__ = ["Explanation"]


@dataclass
class Explanation:
    """The explanations of a run's predictions, with the checks of whether to trust them.

    Attributes:
        kind: ``"table"`` or ``"image"``.
        task, problem: the run's task and problem (``binary``, ``multiclass``, ``regression``).
        methods: the attribution methods, first = primary (``attributions.csv``).
        target: how the explained class was chosen, in words.
        baseline: the reference input: ``kind``, ``description`` (and ``values`` for tables).
        predictions: one row per explained case: ``id``, ``target_class``,
            ``probability`` (or ``prediction``), ``predicted`` (and ``y_true``, ``case_kind`` for image cases).
        attributions: tables: method -> DataFrame (one row per patient, one column per original column).
        heatmaps: images: method -> array ``(n_cases, H, W)``.
        importance: tables: method -> mean |attribution| per column with 95% CI.
        permutation: tables: permutation importance on the test split (or ``None``).
        trust: method -> trust checks (randomisation, deletion/insertion, completeness; images also
            the faithfulness score with its CI and ROAD); each check has ``status`` (``passed``,
            ``failed`` or ``undefined``) and ``reason``.
        population: images: mean heat map per class and outcome group, and the border/corner
            shortcut check (``population.png`` and ``population_<group>`` in ``heatmaps.npz``).
        choice: images, method ``auto``: the chosen method, why, and every candidate's scores.
        grad_cam_layer: images: the CAM layer and its map size.
        notes: anything the reader should know (skipped checks, capped rows).
        out_dir, files: where it was written, and the file names.

    Example:
        >>> result = meddl.load_run("runs/sepsis").explain(out_dir="runs/sepsis/explanations")   # doctest: +SKIP
        >>> result.attributions["integrated_gradients"].head()                         # doctest: +SKIP
    """

    kind: str
    task: str
    problem: str
    methods: tuple[str, ...]
    target: str
    baseline: dict[str, Any]
    predictions: pd.DataFrame
    attributions: dict[str, pd.DataFrame] = field(default_factory=dict)
    heatmaps: dict[str, np.ndarray] = field(default_factory=dict)
    importance: dict[str, pd.DataFrame] = field(default_factory=dict)
    permutation: pd.DataFrame | None = None
    trust: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seed: int = 0
    source: str = ""
    out_dir: Path | None = None
    files: list[str] = field(default_factory=list)
    population: dict[str, Any] | None = None
    choice: dict[str, Any] | None = None
    grad_cam_layer: dict[str, Any] | None = None

    def attribution_frame(self, method: str | None = None) -> pd.DataFrame:
        """The ``attributions.csv`` table for ``method`` (default: the first): predictions, then one column per feature."""
        method = self.methods[0] if method is None else method
        if method not in self.attributions:
            available = ", ".join(repr(m) for m in self.attributions) or "none (image explanations are heatmaps)"
            raise ConfigError(f"The 'method' parameter of attribution_frame must be one of the table methods "
                              f"explained: {available}. Got {method!r} instead.")
        return pd.concat([self.predictions.reset_index(drop=True), self.attributions[method].reset_index(drop=True)],
                         axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Everything in ``attributions.json``, as plain JSON-ready data."""
        data: dict[str, Any] = {
            "kind": self.kind, "task": self.task, "problem": self.problem, "methods": list(self.methods),
            "target": self.target, "baseline": self.baseline, "seed": self.seed, "source": self.source,
            "n_explained": int(len(self.predictions)), "notes": list(self.notes),
            "predictions": self.predictions.to_dict(orient="records"),
        }
        if self.kind == "table":
            data["attributions"] = {method: {"columns": [str(c) for c in frame.columns],
                                             "values": frame.to_numpy().tolist()}
                                    for method, frame in self.attributions.items()}
            data["global_importance"] = {method: frame.to_dict(orient="records")
                                         for method, frame in self.importance.items()}
            data["permutation_importance"] = (None if self.permutation is None
                                              else self.permutation.to_dict(orient="records"))
        else:
            data["heatmaps"] = {"file": "heatmaps.npz", "methods": list(self.heatmaps),
                                "shape": list(next(iter(self.heatmaps.values())).shape) if self.heatmaps else None}
            data["overlays"] = [name for name in self.files if name.endswith(".png") and name != "population.png"]
            data["method_choice"] = self.choice
            data["grad_cam_layer"] = self.grad_cam_layer
            if self.population is not None:
                data["population"] = {key: value for key, value in self.population.items()
                                      if key not in ("figure", "groups")}
                data["population"]["groups"] = {name: {"n": group["n"], "map": f"heatmaps.npz: population_{_key(name)}"}
                                                for name, group in self.population.get("groups", {}).items()}
        data["trust_checks"] = self.trust
        return json_safe(data)

    def write(self, out_dir: str | Path, images: np.ndarray | None = None) -> Path:
        """Write the files listed in the module docstring to ``out_dir`` (replaced atomically)."""
        out_dir = Path(out_dir)
        files: list[str] = []
        with atomic_directory(out_dir, replaceable=replaceable_if_it_holds("attributions.json")) as tmp:
            if self.kind == "table":
                for k, method in enumerate(self.attributions):
                    name = "attributions.csv" if k == 0 else f"attributions_{method}.csv"
                    self.attribution_frame(method).to_csv(tmp / name, index=False)
                    files.append(name)
            else:
                files += self._write_images(tmp, images)
            self.files = files + ["attributions.json"]
            (tmp / "attributions.json").write_text(json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n",
                                                   encoding="utf-8")
        self.out_dir = out_dir
        return out_dir

    def _write_images(self, folder: Path, images: np.ndarray | None) -> list[str]:
        files = []
        groups = (self.population or {}).get("groups", {})
        np.savez_compressed(folder / "heatmaps.npz", ids=self.predictions["id"].to_numpy(dtype=str),
                            **{method: maps.astype(np.float32) for method, maps in self.heatmaps.items()},
                            **{f"population_{_key(name)}": np.asarray(group["map"], dtype=np.float32)
                               for name, group in groups.items()})
        files.append("heatmaps.npz")
        if (self.population or {}).get("figure") is not None:
            self.population["figure"].savefig(folder / "population.png", format="png", metadata={"Software": None})
            files.append("population.png")
        if images is None:
            return files
        pngs: dict[str, list[str]] = {method: [] for method in self.heatmaps}
        for k, row in enumerate(self.predictions.itertuples(index=False)):
            kind = getattr(row, "case_kind", "case")
            for method, maps in self.heatmaps.items():
                name = f"case{k + 1:02d}_{kind}_{method}.png"
                title = (f"{Path(str(row.id)).name or row.id} | {kind.replace('_', ' ')} | evidence for class "
                         f"'{row.target_class}' (p = {row.probability:.2f}) | predicted '{row.predicted}'")
                save_overlay(images[k], np.clip(maps[k], 0, None), folder / name, title=title,
                             heatmap_label=method.replace("_", " "))
                pngs[method].append(name)
                files.append(name)
        self.predictions = self.predictions.assign(**{f"png_{method}": names for method, names in pngs.items()})
        return files


def _key(group: str) -> str:
    """A group name as an npz key: ``"class normal"`` -> ``"class_normal"``."""
    return "".join(c if c.isalnum() else "_" for c in group)
