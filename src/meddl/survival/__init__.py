"""Time-to-event (survival) models for prognosis: DeepSurv, a linear Cox model, a logistic-hazard network.

Every model shares one API (scikit-learn's contract)::

    model = DeepSurv(hidden_units=(64, 64)).fit(x, duration, event, validation=0.2)
    model.predict_risk(x)                 # higher = worse
    model.predict_survival(x, times)      # S(t | x), shape (n, len(times))
    model.predict_median(x)               # inf where S never reaches 0.5
    model.predict_at(x, [365, 1825])      # probability of the event by each horizon
    model.save("model_dir"); DeepSurv.load("model_dir")

and is evaluated with :func:`survival_metrics` / :func:`evaluate_survival_model`
(C-indices, time-dependent AUROC, integrated Brier score, calibration, bootstrap CIs)
and drawn with :func:`survival_report_sections`.

Needs the ``survival`` extra (``pip install meddl[survival]``: scikit-survival, lifelines, h5py).
"""

from meddl.survival._base import SurvivalModel
from meddl.survival.baseline import BreslowBaseline
from meddl.survival.calibration import calibration_table
from meddl.survival.cox import DeepSurv, LinearCox
from meddl.survival.ensemble import SurvivalEnsemble
from meddl.survival.logistic_hazard import LogisticHazard
from meddl.survival.losses import (
    CoxPHLoss,
    LogisticHazardLoss,
    cox_ph_loss,
    discretize,
    logistic_hazard_loss,
    make_cuts,
)
from meddl.survival.metrics import (
    default_horizons,
    evaluate_survival_model,
    harrell_c_index,
    integrated_brier_score,
    survival_metrics,
    time_dependent_auc,
    uno_c_index,
)
from meddl.survival.plots import (
    plot_calibration,
    plot_km_by_risk_group,
    plot_survival_curves,
    survival_report_sections,
)
from meddl.survival.recalibration_test import SURVIVAL_UPDATES, survival_recalibration_test
from meddl.survival.saving import load_survival_model
from meddl.survival.site_update import SiteUpdatedSurvival

__all__ = [
    "SURVIVAL_UPDATES",
    "BreslowBaseline",
    "CoxPHLoss",
    "DeepSurv",
    "LinearCox",
    "LogisticHazard",
    "LogisticHazardLoss",
    "SiteUpdatedSurvival",
    "SurvivalEnsemble",
    "SurvivalModel",
    "calibration_table",
    "cox_ph_loss",
    "default_horizons",
    "discretize",
    "evaluate_survival_model",
    "harrell_c_index",
    "integrated_brier_score",
    "load_survival_model",
    "logistic_hazard_loss",
    "make_cuts",
    "plot_calibration",
    "plot_km_by_risk_group",
    "plot_survival_curves",
    "survival_metrics",
    "survival_recalibration_test",
    "survival_report_sections",
    "time_dependent_auc",
    "uno_c_index",
]
