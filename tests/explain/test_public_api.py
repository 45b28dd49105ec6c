"""Guard meddl.explain's public names; every public function is documented with an example that runs."""

import doctest
import importlib

import pytest

import meddl.explain as explain

EXPECTED = {
    "ATTRIBUTION_METHODS", "DEFAULT_METHODS", "Explanation", "IMAGE_METHODS", "TABLE_METHODS", "TableBaseline",
    "attribute", "completeness_error", "conv_layers", "deletion_insertion", "explanation_section",
    "find_target_layer", "grad_cam", "group_attributions", "mean_abs_importance", "model_randomization_test",
    "overlay_data_uri", "overlay_figure", "overlay_panels", "permutation_importance", "randomize_weights", "rank_correlation",
    "save_overlay", "select_cases", "table_baseline",
    "MethodChoice", "blurred_baseline", "border_share", "cascade_layers", "cascading_randomization", "choose_method",
    "completeness_check", "estimator_trust", "faithfulness", "grad_cam_plus_plus", "image_explainer", "image_trust",
    "mean_with_ci", "population_maps", "randomized_estimator", "resolution_layer", "road", "shortcut_warning",
    "structural_similarity", "trust_lines",
}
MODULES = ("core", "methods", "gradcam", "importance", "overlays", "result", "section", "tabular", "trust",
           "similarity", "randomization", "faithfulness", "image_methods", "image_trust", "population",
           "outcome_trust", "trust_summary")
#: Modules whose examples run here (the others' examples need a trained run: +SKIP).
DOCTESTED = ("core", "gradcam", "importance", "overlays", "tabular", "trust", "similarity", "randomization",
             "faithfulness", "image_methods", "image_trust", "population", "outcome_trust", "trust_summary")


def test_all_lists_exactly_the_public_api():
    assert set(explain.__all__) == EXPECTED and len(explain.__all__) == len(EXPECTED)
    for name in explain.__all__:
        assert getattr(explain, name) is not None


@pytest.mark.parametrize("module_name", MODULES)
def test_public_functions_have_docstrings_with_examples(module_name):
    module = importlib.import_module(f"meddl.explain.{module_name}")
    assert module.__doc__
    for name in module.__all__:
        obj = getattr(module, name)
        if callable(obj) and not isinstance(obj, dict):
            assert obj.__doc__ and ">>>" in obj.__doc__, f"{module_name}.{name} needs a docstring with an example"


@pytest.mark.parametrize("module_name", DOCTESTED)
def test_docstring_examples_run(module_name):
    module = importlib.import_module(f"meddl.explain.{module_name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
