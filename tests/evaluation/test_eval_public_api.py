"""Guard the public names of meddl.evaluation."""

import importlib

import meddl.evaluation as evaluation

EXPECTED = {
    "ConformalClassifier", "MetricDict", "PlattScaler", "UPDATE_METHODS", "recalibration_test",
    "TemperatureScaler", "binary_metrics", "bootstrap_metrics", "bootstrap_p_value", "bootstrap_weights",
    "choose_threshold", "compare_predictions", "coverage_chance_range", "confusion_matrix", "decision_curve", "delong_auroc",
    "ensemble_section", "ensemble_summary", "plots",
    "delong_covariance", "delong_test", "evaluate_predictions", "flag_subgroup", "iter_bootstrap_weights",
    "mean_set_size", "multiclass_metrics", "net_benefit", "regression_metrics", "reliability_curve",
    "resampled_metrics", "set_coverage", "sets_to_lists", "subgroup_metrics",
}
MODULES = ("bootstrap", "calibration", "compare", "conformal", "decision_curve", "delong", "evaluate", "metrics", "recalibration_test",
           "ensemble", "plots", "subgroups")


def test_all_lists_exactly_the_public_api():
    assert set(evaluation.__all__) == EXPECTED
    assert len(evaluation.__all__) == len(EXPECTED)
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None


def test_every_module_declares_all_and_documents_its_public_functions():
    for module_name in MODULES:
        module = importlib.import_module(f"meddl.evaluation.{module_name}")
        assert module.__doc__, module_name
        for name in module.__all__:
            obj = getattr(module, name)
            if callable(obj):
                assert obj.__doc__ and obj.__doc__.strip(), f"{module_name}.{name} has no docstring"
