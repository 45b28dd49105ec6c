"""``meddl export``: a run's network as ONNX (fp32, optionally int8), checked against PyTorch on its test split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from meddl.errors import MeddlError
from meddl.evaluation import evaluate_predictions
from meddl.io import write_json
from meddl.models.onnx import OPSET, OnnxModel, export_model_onnx, quantize_onnx
from meddl.runs.folder import RunFolder
from meddl.runs.run import Run

__all__ = ["export_onnx", "read_export_report"]


def export_onnx(run, *, quantize: str | None = None, check: bool = True) -> dict:
    """Write ``model.onnx`` (and ``model.int8.onnx`` with ``quantize="int8"``) into a run folder.

    Args:
        run: a ``Run`` or a run folder path.
        quantize: ``None`` or ``"int8"`` (dynamic quantisation of the dense layers).
        check: compare ONNX Runtime with PyTorch on the run's test split (fp32 must agree within 1e-5)
            and report the int8 model's change in test metrics.

    Returns:
        What was written and measured (also saved as ``model.onnx.json``, outside the run's manifest), with
        the sha256 of each file written and of the run's manifest: :meth:`RunFolder.read_export` checks them
        whenever the export is loaded.
    """
    if quantize not in (None, "int8"):
        raise MeddlError(f"The 'quantize' option must be None or 'int8'. Got {quantize!r} instead.")
    run = run if isinstance(run, Run) else Run(run)
    if run.tta != "none":  # an ONNX file without the averaging would give other predictions than the run's
        raise MeddlError(f"Run '{run.path}' averages each prediction over mirrored copies of the image "
                         f"(evaluation.tta {run.tta!r}), which model.onnx (one network, one image) would not "
                         "do, so its predictions would differ from the run's. Export a run trained without "
                         "evaluation.tta, or serve this one with PyTorch (runtime='torch').")
    path = run.folder.file(RunFolder.ONNX)
    export_model_onnx(run.model, path)
    report: dict = {"file": RunFolder.ONNX, "opset": OPSET, "output": "logits", "input_shape": list(run.model.input_shape_)}
    x_test = y_test = None
    if check:
        x_test, y_test = run.split_data("test")
        torch_logits = run.model.predict_tensor(torch.as_tensor(x_test), logits=True).numpy()
        onnx_logits = OnnxModel(path).logits(x_test)
        difference = float(np.abs(onnx_logits - torch_logits).max()) if len(x_test) else 0.0
        report["max_abs_difference_vs_torch"] = difference
        if difference > 1e-5:
            raise MeddlError(f"The ONNX model differs from PyTorch by {difference:.2e} (> 1e-5) on the test split; "
                             "it was not accepted.")
    if quantize == "int8":
        quantize_onnx(path, run.folder.file(RunFolder.ONNX_INT8))
        report["int8"] = {"file": RunFolder.ONNX_INT8}
        if check:
            report["int8"]["metrics_change"] = _metric_change(run, x_test, y_test)
    report.update(run.folder.export_record())  # the files' sha256 and the run's: checked on every load
    write_json(run.folder.file(RunFolder.EXPORT_REPORT), report)
    return report


def _metric_change(run, x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Test metrics of the int8 model minus those of the fp32 model (same cases, same threshold)."""
    fp32 = evaluate_predictions(run.info["problem"], y_test, run.scores_from_logits(OnnxModel(run.folder.file(RunFolder.ONNX)).logits(x_test)),
                                threshold=run.threshold, class_names=run.class_names, n_resamples=0)["metrics"]
    int8 = evaluate_predictions(run.info["problem"], y_test, run.scores_from_logits(OnnxModel(run.folder.file(RunFolder.ONNX_INT8)).logits(x_test)),
                                threshold=run.threshold, class_names=run.class_names, n_resamples=0)["metrics"]
    change = {}
    for name, entry in fp32.items():
        before, after = entry.get("value"), int8.get(name, {}).get("value")
        if isinstance(before, (int, float)) and isinstance(after, (int, float)):
            change[name] = {"fp32": before, "int8": after, "change": after - before}
    return change


def read_export_report(run_path: str | Path) -> dict | None:
    """What ``meddl export`` wrote and measured, or ``None`` if the run was not exported."""
    folder = RunFolder(run_path)
    return folder.read_json(RunFolder.EXPORT_REPORT) if folder.file(RunFolder.EXPORT_REPORT).is_file() else None
