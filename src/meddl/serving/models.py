"""``ServedModel``: one loaded run, answering JSON records and images the way ``Run.predict`` does.

Loaded once per worker process (``meddl.load_run`` verifies every file against the run's
manifest, so a tampered or truncated run refuses to load); each request then costs the
preprocessing, one forward pass and the library's input check (about 0.7 ms of CPU for a
one-patient table). Calls into one model are serialised by a lock: the model's
preprocessing keeps per-call notes, and Grad-CAM runs backward passes.
"""

from __future__ import annotations

import hashlib
import math
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd
import torch

from meddl.errors import ConfigError, DataError, ModelFileError
from meddl.explain import attribute, grad_cam, table_baseline
from meddl.io import sha256_file
from meddl.report import NOT_FOR_CLINICAL_USE
from meddl.report.model_card import model_card
from meddl.runs import RunFolder, load_run
from meddl.runs.image_inputs import image_reading
from meddl.serving.images import IMAGE_FORMATS, decode_image, overlay_png_base64
from meddl.serving.input_checks import (ColumnSpec, FieldProblem, InvalidInput, check_records, column_specs,
                                        row_warnings)
from meddl.serving.security import Refusal
from meddl.version import __version__

__all__ = ["ServedModel", "TOP_ATTRIBUTIONS"]

TOP_ATTRIBUTIONS = 5
# Models that predict an outcome other than class probabilities, and what their explanations explain.
_OUTCOMES = (("predict_effect", "estimated treatment effect (treated − control)"),
             ("predict_risk", "risk score (higher = earlier event)"))
_KERNEL_SHAP_SAMPLES = 200


def _json_value(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def _rows(frame: pd.DataFrame) -> list[dict]:
    """The frame's rows as JSON-ready dicts (NaN → None; a conformal set "a|b" → ["a", "b"])."""
    columns = {str(name): [_json_value(v) for v in frame[name].tolist()] for name in frame.columns}
    rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
    for row in rows:
        if isinstance(row.get("prediction_set"), str):
            row["prediction_set"] = [c for c in row["prediction_set"].split("|") if c]
    return rows


def weights_digest(run_dir: Path, recorded: dict[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """SHA-256 of every file in the run's model folders, and one SHA-256 over them all (path and hash per line).

    ``recorded``: the run's manifest as it was checked when the run was loaded; the model files' hashes are
    taken from it, so they describe the weights held in memory even if the files changed on disk since.
    """
    if recorded is not None:
        per_file = {name: digest for name, digest in sorted(recorded.items())
                    if name.split("/")[0].startswith(RunFolder.MODEL) and "/" in name}
    else:  # a folder of meddl 0.1.0 (no manifest): hashed from disk, right after loading
        files = sorted(p for folder in sorted(run_dir.glob("model*")) if folder.is_dir()
                       for p in folder.rglob("*") if p.is_file())
        per_file = {p.relative_to(run_dir).as_posix(): sha256_file(p) for p in files}
    combined = hashlib.sha256("".join(f"{k} {v}\n" for k, v in per_file.items()).encode()).hexdigest()
    return combined, per_file


class ServedModel:
    """A run served under ``name``: ``describe()``, ``predict_records``, ``predict_image``, ``recommend_records``.

    The model answers one call at a time. ``lock_wait_s`` (the server's ``request_timeout_s``) bounds how
    long a call waits for the one before it: a call still waiting then belongs to a request that has
    already been answered 503, so it gives up (:class:`Refusal` 503) instead of running the model for
    nobody, and a burst of slow requests cannot pile up model work behind a stuck one.

    Raises (at construction):
        ModelFileError: a missing, truncated or tampered run folder (from ``meddl.load_run``),
            or ``runtime="onnx"`` without an exported ``model.onnx``.
    """

    def __init__(self, name: str, path: str | Path, *, runtime: str = "torch", max_rows: int = 10_000,
                 max_image_pixels: int = 25_000_000, explain_max_rows: int = 20, lock_wait_s: float | None = None):
        if runtime not in ("torch", "onnx"):
            raise ConfigError(f"The 'runtime' must be 'torch' or 'onnx'. Got {runtime!r} instead.")
        self.name, self.path, self.runtime = name, Path(path), runtime
        self.max_rows, self.max_image_pixels, self.explain_max_rows = max_rows, max_image_pixels, explain_max_rows
        self.lock_wait_s = lock_wait_s
        self.run = load_run(self.path)
        # Read once, right after load_run verified every file: Run.metrics reads metrics.json from disk on each
        # call, so a file edited or deleted while the server runs would otherwise be served unverified.
        self.metrics = self.run.metrics
        self.task, self.kind = self.run.task, self.run.info["input"]["kind"]
        onnx_file = self.run.folder.file(RunFolder.ONNX)
        if runtime == "onnx" and not onnx_file.is_file():
            raise ModelFileError(f"runtime 'onnx' needs '{onnx_file}' (a diagnosis or regression run "
                                 f"exported with `meddl export {self.path}`); or serve with --runtime torch.")
        if runtime == "onnx":  # checked against its export record and held in memory now, as the weights are
            self.run.onnx_model()
        # What the run can do is read from what it holds, not from its task's name: a run with a
        # propensity support recommends arms; a model with an outcome function explains that outcome.
        self.recommends = self.run.info.get("support") is not None
        # From the manifest as load_run checked it, not from the files now: a file changed on disk after loading
        # must not change what describe() and the audit trail say is being served (the copy in memory).
        checked = self.run.folder.checked
        has_manifest = checked is not None and checked.has_manifest
        self.weights_sha256, self.weights_files = weights_digest(self.path, checked.digests if has_manifest else None)
        # the weights alone do not fix an answer: calibration, threshold and preprocessing live beside them,
        # and the manifest hashes every file (a site-recalibrated run shares its weights with the original)
        self.run_sha256 = checked.manifest_sha256 if has_manifest else None
        self.specs: list[ColumnSpec] = column_specs(self.run.info, self.run.preprocessor,
                                                    self.run.input_profile) if self.kind == "table" else []
        self._lock = threading.Lock()

    def changed_on_disk(self) -> list[str]:
        """Files of the run folder replaced, written or removed since the server checked it (no file is read):
        the server goes on answering with the checked copy, but a restart would load (or refuse) the new files."""
        return self.run.folder.changed_since_check()

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """Hold the model for one call; refuse (503) after waiting ``lock_wait_s`` for the call before."""
        if not self._lock.acquire(timeout=-1 if self.lock_wait_s is None else self.lock_wait_s):
            raise Refusal(503, f"Model {self.name!r} is still busy with earlier requests after "
                               f"{self.lock_wait_s} s.", {"Retry-After": "5"})
        try:
            yield
        finally:
            self._lock.release()

    # ------------------------------------------------------------------ description
    def describe(self) -> dict:
        """What a client needs to call the model and judge its answers (``GET /v1/models/{name}``)."""
        info = self.run.info
        schema: dict[str, Any] = {"kind": self.kind}
        if self.kind == "table":
            schema["columns"] = [spec.describe() for spec in self.specs]
        else:
            schema.update(input_shape=info["input"].get("input_shape"), formats=list(IMAGE_FORMATS),
                          max_pixels=self.max_image_pixels,
                          note="Images of another size are resized to the input shape (bilinear).")
        return {"name": self.name, "task": self.task, "problem": info.get("problem"),
                "class_names": info.get("class_names"), "positive_class": info.get("positive_class"),
                "threshold": info.get("threshold"), "horizons": info.get("horizons"),
                "support": info.get("support"), "higher_is_better": info.get("higher_is_better"),
                "input": schema, "metrics": self.metrics, "model_card": self._model_card(),
                "weights_sha256": self.weights_sha256, "weights_files": self.weights_files,
                "run_sha256": self.run_sha256,
                "runtime": self.runtime, "created": info.get("created"),
                "meddl_version": info.get("meddl_version"), "served_by_meddl_version": __version__}

    def _model_card(self) -> dict:
        """The run's model card, the same one its report and the web page show (:func:`meddl.report.model_card`)."""
        card = model_card(self.run.info, self.metrics)
        return {"intended_use": card.intended_use, "model": card.model, "data": card.data,
                "evaluation": card.evaluation, "limitations": list(card.limitations), "created": card.created,
                "notice": NOT_FOR_CLINICAL_USE}

    # ------------------------------------------------------------------ predictions
    def _table(self, records: Any) -> pd.DataFrame:
        if self.kind != "table":
            raise InvalidInput([FieldProblem("body", f"Model {self.name!r} takes images: upload one as multipart "
                                                     f"form data (field 'file'), not JSON records.")], 415)
        return check_records(records, self.specs, max_rows=self.max_rows)

    def _predict_frame(self, features: Any) -> tuple[pd.DataFrame, Any]:
        """``Run.predict`` (``Run.recommend`` for treatment runs) and, for tables, the library's input check."""
        try:
            if self.kind != "table":
                return self.run.predict(features, runtime=self.runtime), None
            if self.recommends:
                profile = self.run.input_profile
                check = profile.check(features, self.run.preprocessor) if profile is not None else None
                return self.run.recommend(features), check
            return self.run.predict_with_input_check(features, runtime=self.runtime)
        except DataError as exc:  # anything the schema check let through, in the library's words
            raise InvalidInput([FieldProblem("records" if self.kind == "table" else "file", str(exc))]) from None

    def predict_records(self, records: Any, explain: bool = False) -> list[dict]:
        """One answer per record: what ``Run.predict`` gives (``Run.recommend`` for treatment runs) plus ``warnings``."""
        frame = self._table(records)
        with self._turn():
            predictions, check = self._predict_frame(frame)
            attributions = self._table_attributions(frame) if explain else None
        rows = _rows(predictions)
        quantile = getattr(self.run.input_profile, "quantile", 0.99)
        for i, (row, warnings) in enumerate(zip(rows, row_warnings(check, frame, self.specs,
                                                                   unlike_quantile=quantile))):
            row["warnings"] = warnings
            if attributions is not None:
                row["explanation"] = attributions[i]
        return rows

    def recommend_records(self, records: Any) -> list[dict]:
        """Treatment runs: outcome under each arm, effect with interval, recommended arm (or why none) and ``warnings``."""
        if not self.recommends:
            raise InvalidInput([FieldProblem("model", f"Model {self.name!r} is a {self.task} model; recommendations "
                                                      f"come from treatment models. Use /predict.")], 404)
        return self.predict_records(records)

    def predict_image(self, data: bytes, filename: str = "upload", explain: bool = False) -> dict:
        """One uploaded image (PNG, JPEG or DICOM): the prediction, ``warnings`` and, with ``explain``, a Grad-CAM overlay."""
        if self.kind != "image":
            raise InvalidInput([FieldProblem("file", f"Model {self.name!r} takes a table: send JSON records, not an "
                                                     f"image.")], 415)
        image = decode_image(data, filename, max_pixels=self.max_image_pixels,
                             **image_reading(self.run.config.data, self.run.info["input"]["input_shape"]))
        return self.predict_pixels(image, filename, explain)

    def predict_pixels(self, image: np.ndarray, row_id: str = "0", explain: bool = False) -> dict:
        """One image already decoded, ``(H, W)`` or ``(H, W, C)``: as :meth:`predict_image`."""
        if self.kind != "image":
            raise InvalidInput([FieldProblem("file", f"Model {self.name!r} takes a table, not an image.")], 415)
        with self._turn():
            row = _rows(self._predict_frame(image[None] if image.ndim == 3 else image[None, ..., None])[0])[0]
            row["row_id"] = row_id
            row["warnings"] = list(getattr(self.run.preprocessor, "notes_", []))
            if explain:
                row["explanation"] = self._grad_cam(image)
        return row

    # ------------------------------------------------------------------ explanations
    def _explained_quantity(self, x: np.ndarray) -> tuple[Any, str, Any]:
        """A function of preprocessed features → one number per row, what it is, and the target for multiclass."""
        model = self.run.model
        for method, quantity in _OUTCOMES:  # survival: the risk score; treatment: the effect
            if callable(getattr(model, method, None)):
                return getattr(model, method), quantity, None

        def outputs(rows: np.ndarray) -> np.ndarray:
            logits = model.predict_tensor(torch.as_tensor(rows, dtype=torch.float32), logits=True).cpu().numpy()
            return np.asarray(self.run.scores_from_logits(logits))

        if self.run.class_names is None:
            return outputs, f"predicted {self.run.info.get('label', 'value')}", None
        if len(self.run.class_names) == 2:
            positive = self.run.info.get("positive_class") or self.run.class_names[1]
            return (lambda rows: outputs(rows).reshape(len(rows), -1)[:, -1]), f"probability of {positive}", None
        predicted = outputs(x).argmax(axis=1)
        return outputs, "probability of the predicted class", torch.as_tensor(predicted)

    def _table_attributions(self, frame: pd.DataFrame) -> list[dict]:
        """KernelSHAP per original column against the mean training patient; the largest ``TOP_ATTRIBUTIONS`` per row."""
        x, _, _ = self.run.features(frame)
        predict, quantity, target = self._explained_quantity(x)
        sources = list(self.run.preprocessor.source_columns_)
        columns = list(dict.fromkeys(sources))
        groups = np.asarray([columns.index(c) for c in sources])
        reference = table_baseline(self.run.preprocessor, "mean")

        def f(tensor: torch.Tensor) -> torch.Tensor:
            return torch.as_tensor(np.asarray(predict(tensor.detach().cpu().numpy()), dtype=np.float64))

        values = attribute(f, x.astype(np.float64), "kernel_shap", baseline=reference.features.astype(np.float64),
                           n_samples=_KERNEL_SHAP_SAMPLES, feature_groups=groups, target=target, seed=0)
        by_column = np.column_stack([values[:, groups == k].sum(axis=1) for k in range(len(columns))])
        explained = []
        for i in range(len(frame)):
            order = np.argsort(-np.abs(by_column[i]))[:TOP_ATTRIBUTIONS]
            explained.append({"method": "kernel_shap", "explained": quantity, "baseline": reference.description,
                              "top": [{"column": columns[k], "value": _json_value(frame.iloc[i][columns[k]]),
                                       "attribution": float(by_column[i, k])} for k in order]})
        return explained

    def _grad_cam(self, image: np.ndarray) -> dict:
        x, _, _ = self.run.features(image[None] if image.ndim == 3 else image[None, ..., None])
        class_names = self.run.class_names or []
        target = None
        if len(class_names) == 2:
            target = class_names.index(self.run.info.get("positive_class") or class_names[1])
        heatmap = grad_cam(self.run.model, x, target=target)[0]
        return {"method": "grad_cam", "explained": f"class {class_names[target]!r}" if target is not None
                else "the predicted class", "overlay_png_base64": overlay_png_base64(x[0], heatmap),
                "panels": "image | heatmap (0 to max) | overlay"}

    # ------------------------------------------------------------------ audit summaries
    def summary(self, rows: list[dict]) -> list[dict]:
        """The per-row output summary the audit trail keeps: decision and probability (or the task's main numbers)."""
        keep = ("predicted", "prediction_set", "risk", "median_survival", "recommendation", "effect")
        summaries = []
        for row in rows:
            entry = {k: row[k] for k in keep if k in row}
            if self.run.class_names is not None and isinstance(row.get("predicted"), str):
                entry["probability"] = row.get(f"prob_{row['predicted']}")
            summaries.append(entry)
        return summaries
