"""The attribution methods offered for each input kind, and the defaults."""

from __future__ import annotations

__all__ = ["TABLE_METHODS", "IMAGE_METHODS", "DEFAULT_METHODS"]

TABLE_METHODS = ("integrated_gradients", "gradient_shap", "kernel_shap", "occlusion")
IMAGE_METHODS = ("auto", "grad_cam", "grad_cam_plus_plus", "integrated_gradients", "smooth_integrated_gradients",
                 "occlusion", "gradient_shap")
#: ``auto`` on images: the most faithful candidate on validation images (meddl.explain.choose_method); on tables
#: the two defaults below, which are complete (they add up to the prediction) and cheap for a few columns.
DEFAULT_METHODS = {"table": ("integrated_gradients", "gradient_shap"), "image": ("auto",)}
