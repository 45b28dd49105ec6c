"""Export a run's network to ONNX and run it with ONNX Runtime.

The exported graph computes the network's *logits* (the output before the final
softmax/sigmoid), exactly what ``Run`` turns into probabilities with its saved
calibration, threshold and target scaling — so ``Run.predict(..., runtime="onnx")``
goes through the same post-processing as the PyTorch path. The preprocessing
and everything else needed to use the model stay in the run folder beside it
(``run.json``, ``preprocessing.json``); ``model.onnx.json`` records what was
exported and how closely it matches PyTorch.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from meddl.data._optional import import_optional
from meddl.errors import MeddlError, ModelFileError
from meddl.io import atomic_write_json

__all__ = ["export_onnx", "OnnxModel", "ONNX_FILE", "INT8_FILE"]

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
OPSET = 17


class _Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.forward_logits(x)


def _export(model, path: Path) -> None:
    model.eval()
    example = torch.zeros((2, *model.input_shape_), dtype=torch.float32)
    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings():  # shapes are fixed per model, so traced paddings are constants
            warnings.simplefilter("ignore")
            torch.onnx.export(_Logits(model), (example,), tmp, input_names=["x"], output_names=["logits"],
                              dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}}, opset_version=OPSET,
                              dynamo=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _quantize(source: Path, target: Path) -> None:
    quantization = import_optional("onnxruntime.quantization", "int8 quantisation")
    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".onnx", dir=target.parent)
    os.close(fd)
    try:
        # Dynamic quantisation of the matrix products; convolutions stay fp32 (ConvInteger has
        # no fast kernel in ONNX Runtime's CPU provider, so quantising it made CNNs slower).
        import logging

        quiet = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # it logs a pre-processing tip to the root logger
        try:
            quantization.quantize_dynamic(str(source), tmp, weight_type=quantization.QuantType.QInt8,
                                          op_types_to_quantize=["MatMul", "Gemm"])
        finally:
            logging.getLogger().setLevel(quiet)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class OnnxModel:
    """An exported network under ONNX Runtime: ``logits(x)`` for a float32 batch ``(N, ...)``."""

    def __init__(self, path: str | Path, *, threads: int | None = None):
        ort = import_optional("onnxruntime", "ONNX Runtime inference")
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelFileError(f"No ONNX model at '{self.path}'. Export it first: meddl export RUN_DIR --format onnx.")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelFileError(f"ONNX Runtime cannot load '{self.path}': {exc}") from None

    def logits(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        outputs = [self.session.run(None, {"x": x[i:i + batch_size]})[0] for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.empty((0,))


def export_onnx(run, *, quantize: str | None = None, check: bool = True) -> dict:
    """Write ``model.onnx`` (and ``model.int8.onnx`` with ``quantize="int8"``) into a run folder.

    Args:
        run: a ``Run`` or a run folder path.
        quantize: ``None`` or ``"int8"`` (dynamic quantisation of the dense layers).
        check: compare ONNX Runtime with PyTorch on the run's test split (fp32 must agree within 1e-5)
            and report the int8 model's change in test metrics.

    Returns:
        What was written and measured (also saved as ``model.onnx.json``).
    """
    from meddl.tasks.run import Run

    if quantize not in (None, "int8"):
        raise MeddlError(f"The 'quantize' option must be None or 'int8'. Got {quantize!r} instead.")
    run = run if isinstance(run, Run) else Run(run)
    path = run.path / ONNX_FILE
    _export(run.model, path)
    report: dict = {"file": ONNX_FILE, "opset": OPSET, "output": "logits", "input_shape": list(run.model.input_shape_)}
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
        _quantize(path, run.path / INT8_FILE)
        report["int8"] = {"file": INT8_FILE}
        if check:
            report["int8"]["metrics_change"] = _metric_change(run, x_test, y_test)
    atomic_write_json(run.path / (ONNX_FILE + ".json"), report)
    return report


def _metric_change(run, x_test: np.ndarray, y_test: np.ndarray) -> dict:
    """Test metrics of the int8 model minus those of the fp32 model (same cases, same threshold)."""
    from meddl.evaluation import evaluate_predictions

    fp32 = evaluate_predictions(run.info["problem"], y_test, run.scores_from_logits(OnnxModel(run.path / ONNX_FILE).logits(x_test)),
                                threshold=run.threshold, class_names=run.class_names, n_resamples=0)["metrics"]
    int8 = evaluate_predictions(run.info["problem"], y_test, run.scores_from_logits(OnnxModel(run.path / INT8_FILE).logits(x_test)),
                                threshold=run.threshold, class_names=run.class_names, n_resamples=0)["metrics"]
    change = {}
    for name, entry in fp32.items():
        before, after = entry.get("value"), int8.get(name, {}).get("value")
        if isinstance(before, (int, float)) and isinstance(after, (int, float)):
            change[name] = {"fp32": before, "int8": after, "change": after - before}
    return change


def read_export_report(run_path: Path) -> dict | None:
    path = Path(run_path) / (ONNX_FILE + ".json")
    return json.loads(path.read_text()) if path.is_file() else None
