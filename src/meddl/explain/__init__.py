"""Explain every prediction, and show whether the explanation can be trusted.

Computes from a model (or any differentiable function), inputs and a
baseline; it never needs a run folder (``Run.explain`` and ``meddl explain``
are the glue, in :mod:`meddl.runs.explain`). Typical use::

    result = meddl.load_run("runs/sepsis").explain()     # writes runs/sepsis/explanations/
    result.importance["integrated_gradients"]           # global importance, 95% CIs
    result.trust["integrated_gradients"]                # randomisation, deletion/insertion, completeness
    # images: Run.explain() picks the method by evidence ('auto'), checks it on up to 200 test images
    # (cascading randomisation, deletion/insertion with CIs, ROAD) and shows the population view
    section = explanation_section(result)               # a report Section

Any differentiable torch function can be explained (a survival risk score, a
treatment effect ``mu1(x) - mu0(x)``)::

    from meddl.explain import attribute
    values = attribute(lambda x: model.mu1(x) - model.mu0(x), x, "integrated_gradients", baseline=x_train.mean(0))

Needs Captum (``pip install 'meddl[explain]'``).
"""

from meddl.explain.core import ATTRIBUTION_METHODS, attribute
from meddl.explain.methods import DEFAULT_METHODS, IMAGE_METHODS, TABLE_METHODS
from meddl.explain.gradcam import conv_layers, find_target_layer, grad_cam, grad_cam_plus_plus, resolution_layer
from meddl.explain.faithfulness import blurred_baseline, faithfulness, mean_with_ci, road
from meddl.explain.image_methods import MethodChoice, choose_method, image_explainer
from meddl.explain.image_trust import image_trust
from meddl.explain.outcome_trust import completeness_check, estimator_trust, randomized_estimator
from meddl.explain.population import border_share, population_maps, shortcut_warning
from meddl.explain.randomization import cascade_layers, cascading_randomization
from meddl.explain.similarity import structural_similarity
from meddl.explain.trust_summary import trust_lines
from meddl.explain.importance import mean_abs_importance, permutation_importance
from meddl.explain.overlays import overlay_data_uri, overlay_figure, overlay_panels, save_overlay, select_cases
from meddl.explain.result import Explanation
from meddl.explain.section import explanation_section
from meddl.explain.tabular import TableBaseline, group_attributions, table_baseline
from meddl.explain.trust import (completeness_error, deletion_insertion, model_randomization_test, randomize_weights,
                                 rank_correlation)

__all__ = [
    "MethodChoice",
    "blurred_baseline",
    "border_share",
    "cascade_layers",
    "cascading_randomization",
    "choose_method",
    "completeness_check",
    "estimator_trust",
    "faithfulness",
    "grad_cam_plus_plus",
    "image_explainer",
    "image_trust",
    "mean_with_ci",
    "population_maps",
    "randomized_estimator",
    "resolution_layer",
    "road",
    "shortcut_warning",
    "structural_similarity",
    "trust_lines",
    "ATTRIBUTION_METHODS",
    "DEFAULT_METHODS",
    "Explanation",
    "IMAGE_METHODS",
    "TABLE_METHODS",
    "TableBaseline",
    "attribute",
    "completeness_error",
    "conv_layers",
    "deletion_insertion",
    "explanation_section",
    "find_target_layer",
    "grad_cam",
    "group_attributions",
    "mean_abs_importance",
    "model_randomization_test",
    "overlay_data_uri",
    "overlay_figure",
    "overlay_panels",
    "permutation_importance",
    "randomize_weights",
    "rank_correlation",
    "save_overlay",
    "select_cases",
    "table_baseline",
]
