"""The attribution methods offered for each input kind, and the defaults."""

from __future__ import annotations

__all__ = ["TABLE_METHODS", "IMAGE_METHODS", "DEFAULT_METHODS"]

TABLE_METHODS = ("integrated_gradients", "gradient_shap", "kernel_shap", "occlusion")
IMAGE_METHODS = ("grad_cam", "integrated_gradients", "occlusion", "gradient_shap")
DEFAULT_METHODS = {"table": ("integrated_gradients", "gradient_shap"), "image": ("grad_cam", "integrated_gradients")}
