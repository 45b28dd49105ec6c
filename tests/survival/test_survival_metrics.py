"""Survival metrics equal scikit-survival's, bootstrap kernels equal scikit-survival on resampled data."""

import json

import numpy as np
import pytest
from sksurv.metrics import (
    brier_score,
    concordance_index_censored,
    concordance_index_ipcw,
    cumulative_dynamic_auc,
)
from sksurv.metrics import integrated_brier_score as sksurv_ibs
from sksurv.nonparametric import CensoringDistributionEstimator, kaplan_meier_estimator

from meddl.errors import DataError
from meddl.evaluation.bootstrap import bootstrap_weights
from meddl.survival import (
    calibration_table,
    default_horizons,
    evaluate_survival_model,
    harrell_c_index,
    integrated_brier_score,
    survival_metrics,
    time_dependent_auc,
    uno_c_index,
)
from meddl.survival._checks import structured_target
from meddl.survival._weighted import (
    weighted_brier_curves,
    weighted_concordance,
    weighted_dynamic_auc,
    weighted_kaplan_meier_at,
)
from meddl.survival.calibration import calibration_error_resampled, calibration_slope


def make_split(n, seed, follow_up=3.0):
    """Exponential times with risk η, uniform censoring, integer-rounded times (ties) and rounded risks (ties)."""
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=n)
    event_time = rng.exponential(np.exp(-eta))
    censor_time = rng.uniform(0, follow_up, n)
    time = np.round(np.minimum(event_time, censor_time) * 20) / 20 + 0.05
    event = event_time <= censor_time
    risk = np.round(eta + rng.normal(scale=0.7, size=n), 1)
    return time, event, risk


def exponential_survival(risk, times):
    return np.exp(-np.outer(np.exp(risk), times))


TRAIN = make_split(300, seed=0, follow_up=4.0)
TEST = make_split(150, seed=1, follow_up=2.5)
Y_TRAIN = structured_target(TRAIN[0], TRAIN[1])
Y_TEST = structured_target(TEST[0], TEST[1])


def test_harrell_equals_scikit_survival():
    time, event, risk = TEST
    assert harrell_c_index(time, event.astype(int), risk) == concordance_index_censored(event, time, risk)[0]


def test_uno_equals_scikit_survival_with_training_censoring():
    time, event, risk = TEST
    expected = concordance_index_ipcw(Y_TRAIN, Y_TEST, risk, tau=2.0)[0]
    assert uno_c_index(time, event, risk, train=TRAIN[:2], tau=2.0) == pytest.approx(expected, rel=1e-12)


def test_time_dependent_auc_equals_scikit_survival():
    time, event, risk = TEST
    expected = cumulative_dynamic_auc(Y_TRAIN, Y_TEST, risk, [1.0])[0][0]
    assert time_dependent_auc(time, event, risk, 1.0, train=TRAIN[:2]) == pytest.approx(expected, rel=1e-12)


def test_integrated_brier_score_equals_scikit_survival():
    time, event, risk = TEST
    grid = np.linspace(0.2, 2.0, 30)
    curves = exponential_survival(risk * 0.8, grid)
    expected = sksurv_ibs(Y_TRAIN, Y_TEST, curves, grid)
    assert integrated_brier_score(time, event, curves, grid, train=TRAIN[:2]) == pytest.approx(expected, rel=1e-12)


# -- the weighted kernels behind the bootstrap -------------------------------------------------------
WEIGHTS = bootstrap_weights(150, n_resamples=6, seed=3)


def resample(b):
    return np.repeat(np.arange(150), WEIGHTS[b].astype(int))


def test_weighted_harrell_equals_scikit_survival_on_each_resample():
    time, event, risk = TEST
    kernel = weighted_concordance(time, event, risk, np.ones(150), WEIGHTS)
    for b in range(len(WEIGHTS)):
        rows = resample(b)
        assert kernel[b] == pytest.approx(concordance_index_censored(event[rows], time[rows], risk[rows])[0], rel=1e-12)


def test_weighted_uno_equals_scikit_survival_on_each_resample():
    time, event, risk = TEST
    tau = 2.0
    mask = time < tau
    ipcw = np.zeros(150)
    ipcw[mask] = CensoringDistributionEstimator().fit(Y_TRAIN).predict_ipcw(Y_TEST[mask])
    kernel = weighted_concordance(time, event, risk, ipcw ** 2, WEIGHTS)
    for b in range(len(WEIGHTS)):
        rows = resample(b)
        expected = concordance_index_ipcw(Y_TRAIN, Y_TEST[rows], risk[rows], tau=tau)[0]
        assert kernel[b] == pytest.approx(expected, rel=1e-12)


def test_weighted_auc_equals_scikit_survival_on_each_resample():
    time, event, risk = TEST
    ipcw = CensoringDistributionEstimator().fit(Y_TRAIN).predict_ipcw(Y_TEST)
    kernel = weighted_dynamic_auc(time, event, risk, ipcw, 1.0, WEIGHTS)
    for b in range(len(WEIGHTS)):
        rows = resample(b)
        expected = cumulative_dynamic_auc(Y_TRAIN, Y_TEST[rows], risk[rows], [1.0])[0][0]
        assert kernel[b] == pytest.approx(expected, rel=1e-12)


def test_weighted_brier_equals_scikit_survival_on_each_resample():
    time, event, risk = TEST
    grid = np.linspace(0.2, 2.0, 12)
    curves = exponential_survival(risk, grid)
    censoring = CensoringDistributionEstimator().fit(Y_TRAIN)
    kernel = weighted_brier_curves(time, event, curves, grid, censoring.predict_proba(time),
                                   censoring.predict_proba(grid), WEIGHTS)
    for b in range(len(WEIGHTS)):
        rows = resample(b)
        np.testing.assert_allclose(kernel[b], brier_score(Y_TRAIN, Y_TEST[rows], curves[rows], grid)[1], rtol=1e-12)


def test_weighted_kaplan_meier_equals_scikit_survival_on_each_resample():
    time, event, _ = TEST
    kernel = weighted_kaplan_meier_at(time, event, 1.3, WEIGHTS)
    for b in range(len(WEIGHTS)):
        rows = resample(b)
        times, survival = kaplan_meier_estimator(event[rows], time[rows])
        assert kernel[b] == pytest.approx(survival[np.searchsorted(times, 1.3, side="right") - 1], rel=1e-12)


# -- calibration ---------------------------------------------------------------------------------------
def test_calibration_table_against_kaplan_meier_per_group():
    time, event, risk = TEST
    predicted = exponential_survival(risk, [1.0])[:, 0]
    table = calibration_table(time, event, predicted, 1.0, n_bins=5)
    assert [b["n"] for b in table["bins"]] == [30] * 5
    means = [b["predicted"] for b in table["bins"]]
    assert means == sorted(means, reverse=True)  # groups go from low to high predicted risk
    order = np.argsort(-predicted, kind="stable")
    first = order[:30]
    times, survival = kaplan_meier_estimator(event[first], time[first])
    assert table["bins"][0]["observed"] == pytest.approx(survival[np.searchsorted(times, 1.0, side="right") - 1])
    lo, hi = table["bins"][0]["observed_ci95"]
    assert lo <= table["bins"][0]["observed"] <= hi
    expected = sum(b["n"] / 150 * abs(b["predicted"] - b["observed"]) for b in table["bins"])
    assert table["calibration_error"] == pytest.approx(expected)
    resampled = calibration_error_resampled(time, event, predicted, 1.0, 5, np.ones((1, 150)))
    assert resampled[0] == pytest.approx(table["calibration_error"], rel=1e-12)
    json.dumps(table, allow_nan=False)


def test_perfectly_calibrated_predictions_have_small_error():
    rng = np.random.default_rng(0)
    risk = rng.normal(size=4000)
    time = rng.exponential(np.exp(-risk))
    predicted = exponential_survival(risk, [0.7])[:, 0]
    assert calibration_table(time, np.ones(4000), predicted, 0.7)["calibration_error"] < 0.03
    assert calibration_table(time, np.ones(4000), predicted ** 3, 0.7)["calibration_error"] > 0.1


def test_calibration_slope_is_the_breslow_cox_coefficient_for_every_resample():
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    rng = np.random.default_rng(1)
    risk = rng.normal(size=400)
    time = np.round(rng.exponential(1 / np.exp(risk)), 1) + 0.1  # ties
    censor = rng.exponential(2, 400)
    event, time = time <= censor, np.minimum(time, censor)
    predicted = np.exp(-0.8 * np.exp(1.5 * risk))  # S(1 | x), too extreme: slope about 1 / 1.5
    covariate = np.log(-np.log(predicted))

    def sksurv_slope(rows):
        target = Surv.from_arrays(event[rows] & (time[rows] <= 1.0), np.minimum(time[rows], 1.0))
        return CoxPHSurvivalAnalysis(ties="breslow").fit(covariate[rows, None], target).coef_[0]

    assert calibration_slope(time, event, predicted, 1.0)[0] == pytest.approx(sksurv_slope(np.arange(400)), rel=1e-9)
    weights = rng.multinomial(400, np.ones(400) / 400, size=3).astype(float)
    expected = [sksurv_slope(np.repeat(np.arange(400), w.astype(int))) for w in weights]
    np.testing.assert_allclose(calibration_slope(time, event, predicted, 1.0, weights), expected, rtol=1e-9)
    assert 0.55 < expected[0] < 0.8
    # calibrated predictions give a slope near 1; a resample without events before the horizon gives NaN
    calibrated = np.exp(-np.exp(risk))
    assert calibration_slope(time, event, calibrated, 1.0)[0] == pytest.approx(1.0, abs=0.2)
    assert np.isnan(calibration_slope(time, np.zeros(400), calibrated, 1.0)[0])
    with pytest.raises(DataError, match="predicted_survival"):
        calibration_slope(time, event, calibrated[:10], 1.0)


# -- survival_metrics --------------------------------------------------------------------------------
def test_survival_metrics_values_intervals_and_json():
    time, event, risk = TEST
    out = survival_metrics(time, event, risk, survival=lambda t: exponential_survival(risk, t), horizons=[0.5, 1.0],
                           train=TRAIN[:2], n_resamples=300, seed=1)
    assert set(out) == {"c_index", "uno_c_index", "auroc@0.5", "auroc@1", "calibration_error@0.5",
                        "calibration_error@1", "calibration_slope@0.5", "calibration_slope@1",
                        "integrated_brier_score"}
    lo, hi = out["calibration_slope@1"]["ci95"]
    assert lo < out["calibration_slope@1"]["value"] < hi
    assert out["c_index"]["value"] == concordance_index_censored(event, time, risk)[0]
    event_probability = 1 - exponential_survival(risk, [1.0])[:, 0]
    expected_auc = time_dependent_auc(time, event, event_probability, 1.0, train=TRAIN[:2])
    assert out["auroc@1"]["value"] == pytest.approx(expected_auc)
    for name in ("c_index", "uno_c_index", "auroc@0.5", "integrated_brier_score"):
        lo, hi = out[name]["ci95"]
        assert lo <= out[name]["value"] <= hi and hi - lo > 0.01
    json.dumps(out, allow_nan=False)
    again = survival_metrics(time, event, risk, horizons=[0.5], train=TRAIN[:2], n_resamples=300, seed=1)
    assert again["c_index"] == out["c_index"]
    other = survival_metrics(time, event, risk, horizons=[0.5], train=TRAIN[:2], n_resamples=300, seed=2)
    assert other["c_index"]["ci95"] != out["c_index"]["ci95"]


def test_survival_metrics_without_curves_explains_missing_brier_score():
    time, event, risk = TEST
    out = survival_metrics(time, event, risk, horizons=[1.0], n_resamples=50)
    brier = out["integrated_brier_score"]
    assert brier["value"] is None and "no survival curves" in brier["reason"]
    assert "censoring distribution estimated on the test data" in out["uno_c_index"]["note"]
    assert "calibration_error@1" not in out


def test_all_censored_split_gives_none_with_a_reason():
    time, _, risk = TEST
    out = survival_metrics(time, np.zeros(150), risk, horizons=[1.0], n_resamples=50)
    assert all(entry["value"] is None and entry["ci95"] is None for entry in out.values())
    assert "all samples are censored" in out["c_index"]["reason"]
    assert {"auroc@1", "calibration_error@1", "calibration_slope@1"} <= set(out)


def test_tiny_split_has_values_but_no_interval():
    time, event, risk = (a[:8] for a in TEST)
    out = survival_metrics(time, event, risk, horizons=[0.5], n_resamples=50)
    assert out["c_index"]["value"] is not None and out["c_index"]["ci95"] is None
    assert "fewer than 10 samples" in out["c_index"]["reason"]


def test_horizons_and_tau_are_clipped_to_the_follow_up_with_a_note():
    time, event, risk = TEST
    short_train = (np.minimum(TRAIN[0], 1.5), TRAIN[1] & (TRAIN[0] <= 1.5))  # training follow-up ends at 1.5
    out = survival_metrics(time, event, risk, survival=lambda t: exponential_survival(risk, t), horizons=[50.0],
                           train=short_train, n_resamples=50)
    assert "truncated at tau=1.5" in out["uno_c_index"]["note"]
    assert out["uno_c_index"]["value"] == pytest.approx(concordance_index_ipcw(
        structured_target(*short_train), Y_TEST, risk, tau=1.5)[0])
    assert "horizon 50 clipped to" in out["auroc@50"]["note"] and out["auroc@50"]["value"] is not None
    assert out["integrated_brier_score"]["value"] is not None
    assert "integrated over" in out["integrated_brier_score"]["note"]


def test_default_horizons_are_event_time_quartiles():
    time, event, _ = TEST
    np.testing.assert_allclose(default_horizons(time, event), np.quantile(time[event], [0.25, 0.5, 0.75]))
    with pytest.raises(DataError, match="all samples are censored"):
        default_horizons(time, np.zeros(150))


def test_metric_input_errors():
    time, event, risk = TEST
    with pytest.raises(DataError, match="'risk' must have one value per sample \\(150\\); got 149"):
        harrell_c_index(time, event, risk[:149])
    with pytest.raises(DataError, match="'risk' contains NaN"):
        harrell_c_index(time, event, np.r_[np.nan, risk[1:]])
    with pytest.raises(DataError, match="all samples are censored"):
        harrell_c_index(time, np.zeros(150), risk)
    with pytest.raises(DataError, match="'train' must be a tuple"):
        uno_c_index(time, event, risk, train=TRAIN[0])
    with pytest.raises(DataError, match="'survival' must have shape \\(n_samples, len\\(times\\)\\) = \\(150, 3\\)"):
        integrated_brier_score(time, event, np.ones((150, 2)), [0.5, 1.0, 1.5])
    with pytest.raises(DataError, match="'event' must hold 1 for an event and 0 for censoring"):
        survival_metrics(time, np.full(150, 2), risk)


def test_evaluate_survival_model_uses_the_model_curves(fitted_models, test_data, train_data):
    x, time, event, _ = test_data
    model = fitted_models["LogisticHazard"]
    out = evaluate_survival_model(model, x, time, event, train=train_data[1:3], horizons=[0.3], n_resamples=100)
    assert out["c_index"]["value"] == pytest.approx(harrell_c_index(time, event, model.predict_risk(x)))
    assert out["auroc@0.3"]["value"] == pytest.approx(time_dependent_auc(
        time, event, model.predict_at(x, [0.3])[:, 0], 0.3, train=train_data[1:3]))
    assert 0 < out["integrated_brier_score"]["value"] < 0.25


def test_single_metrics_raise_a_clear_error_when_undefined():
    time, _, risk = TEST
    with pytest.raises(DataError, match="Uno's C-index is undefined"):
        uno_c_index(time, np.zeros(150), risk, train=TRAIN[:2])
    with pytest.raises(DataError, match="AUROC at 1 is undefined: no event by that time"):
        time_dependent_auc(time, np.zeros(150), risk, 1.0)


def test_calibration_slope_is_nan_when_the_predictions_order_the_events_perfectly():
    time = np.arange(1.0, 41.0)
    predicted = np.linspace(0.05, 0.95, 40)  # the earliest event has the lowest predicted survival
    assert np.isnan(calibration_slope(time, np.ones(40), predicted, 50.0)[0])
