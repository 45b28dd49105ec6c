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

import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from meddl.errors import import_optional
from meddl.errors import ModelFileError

__all__ = ["export_model_onnx", "quantize_onnx", "OnnxModel", "OPSET"]

OPSET = 17


class _Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model.forward_logits(x)


def export_model_onnx(model, path: Path) -> None:
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


def quantize_onnx(source: Path, target: Path) -> None:
    quantization = import_optional("onnxruntime.quantization", "int8 quantisation")
    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".onnx", dir=target.parent)
    os.close(fd)
    try:
        # Dynamic quantisation of the matrix products; convolutions stay fp32 (ConvInteger has
        # no fast kernel in ONNX Runtime's CPU provider, so quantising it made CNNs slower).
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

    def __init__(self, path: str | Path, *, threads: int | None = None, data: bytes | None = None):
        """``data``: the file's bytes, already read (and checked) by the caller; ``path`` then only names it."""
        ort = import_optional("onnxruntime", "ONNX Runtime inference")
        self.path = Path(path)
        if data is None and not self.path.is_file():
            raise ModelFileError(f"No ONNX model at '{self.path}'. Export it first: meddl export RUN_DIR --format onnx.")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(self.path) if data is None else data, options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelFileError(f"ONNX Runtime cannot load '{self.path}': {exc}") from None

    def logits(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float32)
        outputs = [self.session.run(None, {"x": x[i:i + batch_size]})[0] for i in range(0, len(x), batch_size)]
        return np.concatenate(outputs) if outputs else np.empty((0,))
