"""Clinical-grade evaluation: metrics with confidence intervals, calibration, comparisons.

Arrays in, results out: nothing here reads a run folder. Typical use by a task pipeline::

    from meddl.evaluation import choose_threshold, evaluate_predictions

    threshold = choose_threshold(y_val, p_val, method="youden")
    metrics = {
        "val": evaluate_predictions("binary", y_val, p_val, threshold=threshold, groups=patient_val),
        "test": evaluate_predictions("binary", y_test, p_test, threshold=threshold, groups=patient_test),
    }
"""

from meddl.evaluation import plots
from meddl.evaluation.bootstrap import bootstrap_metrics, bootstrap_weights, iter_bootstrap_weights, resampled_metrics
from meddl.evaluation.calibration import PlattScaler, TemperatureScaler, reliability_curve
from meddl.evaluation.compare import bootstrap_p_value, compare_predictions
from meddl.evaluation.conformal import (ConformalClassifier, coverage_chance_range, mean_set_size, set_coverage,
                                       sets_to_lists)
from meddl.evaluation.decision_curve import decision_curve, net_benefit
from meddl.evaluation.delong import delong_auroc, delong_covariance, delong_test
from meddl.evaluation.evaluate import choose_threshold, evaluate_predictions
from meddl.evaluation.ensemble import ensemble_section, ensemble_summary
from meddl.evaluation.metrics import (MetricDict, binary_metrics, confusion_matrix, multiclass_metrics,
                                     regression_metrics)
from meddl.evaluation.recalibration_test import UPDATE_METHODS, recalibration_test
from meddl.evaluation.subgroups import flag_subgroup, subgroup_metrics

__all__ = [
    "plots",
    "UPDATE_METHODS",
    "ConformalClassifier",
    "MetricDict",
    "PlattScaler",
    "TemperatureScaler",
    "binary_metrics",
    "bootstrap_metrics",
    "bootstrap_p_value",
    "bootstrap_weights",
    "choose_threshold",
    "compare_predictions",
    "confusion_matrix",
    "ensemble_section",
    "ensemble_summary",
    "decision_curve",
    "delong_auroc",
    "delong_covariance",
    "delong_test",
    "evaluate_predictions",
    "flag_subgroup",
    "iter_bootstrap_weights",
    "mean_set_size",
    "multiclass_metrics",
    "net_benefit",
    "regression_metrics",
    "recalibration_test",
    "reliability_curve",
    "resampled_metrics",
    "coverage_chance_range",
    "set_coverage",
    "sets_to_lists",
    "subgroup_metrics",
]
