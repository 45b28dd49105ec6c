"""Light deployment: ONNX export (fp32 or dynamic int8) and prediction with ONNX Runtime."""

from meddl.deployment.onnx_export import OnnxModel, export_onnx

__all__ = ["OnnxModel", "export_onnx"]
