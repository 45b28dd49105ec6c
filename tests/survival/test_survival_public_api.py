"""The public names of meddl.survival: the list is guarded, and every name is exercised by a test."""

import pathlib
import re

import meddl.survival

EXPECTED = [
    "BreslowBaseline", "CoxPHLoss", "DeepSurv", "LinearCox", "LogisticHazard", "LogisticHazardLoss",
    "SurvivalEnsemble", "SurvivalModel", "calibration_table", "cox_ph_loss", "default_horizons", "discretize",
    "evaluate_survival_model", "harrell_c_index", "integrated_brier_score", "load_survival_model",
    "logistic_hazard_loss", "make_cuts", "plot_calibration", "plot_km_by_risk_group", "plot_survival_curves",
    "survival_metrics", "survival_recalibration_test", "survival_report_sections", "SURVIVAL_UPDATES",
    "SiteUpdatedSurvival", "time_dependent_auc", "uno_c_index",
]


def test_all_lists_exactly_the_public_names():
    assert sorted(meddl.survival.__all__) == sorted(EXPECTED)
    for name in EXPECTED:
        assert getattr(meddl.survival, name) is not None


def test_every_public_name_is_used_in_a_test():
    here = pathlib.Path(__file__).parent
    text = "".join(p.read_text() for p in here.glob("test_*.py") if p.name != pathlib.Path(__file__).name)
    unused = [name for name in EXPECTED if not re.search(rf"\b{name}\b", text)]
    assert not unused, f"public names without a test: {unused}"


def test_module_docstring_examples_run():
    import doctest

    from meddl.survival import (baseline, calibration, cox, ensemble, logistic_hazard, losses, metrics,
                                recalibration_test, site_update)

    for module in (baseline, calibration, cox, ensemble, logistic_hazard, losses, metrics, recalibration_test,
                   site_update):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
