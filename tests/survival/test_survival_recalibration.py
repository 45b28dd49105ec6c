"""The calibration slope over follow-up, and rescaling a Cox model's log-risk by it."""

import numpy as np
import pytest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

from meddl.errors import DataError, MeddlError
from meddl.survival import DeepSurv, LinearCox, LogisticHazard, SurvivalEnsemble, harrell_c_index, load_survival_model
from meddl.survival.calibration import calibration_slope, calibration_slope_over_follow_up, follow_up_event_times


def exponential_data(n, seed, log_hazard_scale=1.0):
    """True log hazard η; curves predicted with ``log_hazard_scale`` × η (2 = too extreme, 0.5 = too moderate)."""
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=n)
    event_time = rng.exponential(np.exp(-eta))
    censor = rng.exponential(2.0, n)
    time = np.round(np.minimum(event_time, censor), 2) + 0.01  # ties
    event = event_time <= censor
    return time, event, eta


def test_slope_over_follow_up_is_the_cox_coefficient_for_proportional_curves():
    time, event, eta = exponential_data(500, seed=0)
    end = 1.5
    times = follow_up_event_times(time, event, end)
    curves = np.exp(-np.outer(np.exp(1.6 * eta), times))  # too extreme: slope about 1 / 1.6
    fit = calibration_slope_over_follow_up(time, event, curves, times)
    target = Surv.from_arrays(event & (time <= end), np.minimum(time, end))
    expected = CoxPHSurvivalAnalysis(ties="breslow").fit(1.6 * eta[:, None], target).coef_[0]
    assert fit["slope"] == pytest.approx(expected, rel=1e-7)
    assert fit["slope"] == pytest.approx(calibration_slope(time, event, curves[:, -1], times[-1])[0], rel=1e-7)
    assert 0.5 < fit["slope"] < 0.75 and fit["ci95"][0] < fit["slope"] < fit["ci95"][1]
    assert fit["p_value"] < 1e-6 and fit["n"] == 500 and fit["n_events"] == int((event & (time <= end)).sum())


def test_slope_over_follow_up_judges_each_time_by_that_times_prediction():
    """Curves whose spread changes over time (not proportional): the slope is read at every event time."""
    time, event, eta = exponential_data(3000, seed=1)
    times = follow_up_event_times(time, event, 2.0)
    spread = np.where(times < 0.5, 2.0, 0.5)  # too extreme early, too moderate later
    curves = np.exp(-times[None, :] * np.exp(spread[None, :] * eta[:, None]))
    early = calibration_slope_over_follow_up(time, np.where(time < 0.5, event, False), curves, times)
    assert early["slope"] == pytest.approx(0.5, abs=0.06)
    late_only = event & (time >= 0.5)
    late = calibration_slope_over_follow_up(time, late_only, curves, times)
    assert late["slope"] == pytest.approx(2.0, abs=0.3)


def test_strata_keep_risk_sets_apart():
    """Two fold models whose baselines differ by e²: pooled risk sets see spread that is no patient's risk."""
    time, event, eta = exponential_data(2000, seed=2)
    times = follow_up_event_times(time, event, 2.0)
    fold = np.arange(2000) % 2
    offset = np.where(fold == 0, -1.0, 1.0)  # log H shifted by ±1 per fold
    curves = np.exp(-np.exp(np.log(times)[None, :] + eta[:, None] + offset[:, None]))
    pooled = calibration_slope_over_follow_up(time, event, curves, times)
    stratified = calibration_slope_over_follow_up(time, event, curves, times, strata=fold)
    assert stratified["slope"] == pytest.approx(1.0, abs=0.1) and stratified["p_value"] > 0.01
    assert pooled["slope"] < 0.8


def test_slope_over_follow_up_errors_name_the_argument():
    time, event, eta = exponential_data(100, seed=3)
    times = follow_up_event_times(time, event, 1.0)
    curves = np.exp(-np.outer(np.exp(eta), times))
    with pytest.raises(DataError, match="'times' must hold every event time up to"):
        calibration_slope_over_follow_up(time, event, curves[:, 1:], times[1:])
    with pytest.raises(DataError, match=r"'predicted_survival' must have shape \(n, len\(times\)\)"):
        calibration_slope_over_follow_up(time, event, curves[:10], times)
    with pytest.raises(DataError, match="'strata' must have one label per row"):
        calibration_slope_over_follow_up(time, event, curves, times, strata=np.zeros(3))
    with pytest.raises(DataError, match="ascending"):
        calibration_slope_over_follow_up(time, event, curves, times[::-1])
    censored = calibration_slope_over_follow_up(time, np.zeros(100), curves[:, :1], times[:1])
    assert np.isnan(censored["slope"]) and censored["n_events"] == 0


@pytest.mark.parametrize("make", [lambda: LinearCox(l2=1e-3),
                                  lambda: DeepSurv(hidden_units=(16,), epochs=15, learning_rate=3e-3)])
def test_rescale_risk_divides_every_horizons_slope_and_keeps_the_order(make, train_data, test_data, tmp_path):
    x, time, event, _ = train_data
    x_test, time_test, event_test, _ = test_data
    model = make().fit(x, time, event)
    horizons = [0.3, 1.0]
    before = [calibration_slope(time_test, event_test, s, h)[0]
              for s, h in zip(model.predict_survival(x_test, horizons).T, horizons)]
    c_before = harrell_c_index(time_test, event_test, model.predict_risk(x_test))
    coef_before = model.coef_ if isinstance(model, LinearCox) else None
    model.rescale_risk(1.4, x, time, event)
    after = [calibration_slope(time_test, event_test, s, h)[0]
             for s, h in zip(model.predict_survival(x_test, horizons).T, horizons)]
    np.testing.assert_allclose(after, np.array(before) / 1.4, rtol=1e-6)
    assert harrell_c_index(time_test, event_test, model.predict_risk(x_test)) == pytest.approx(c_before)
    if coef_before is not None:
        np.testing.assert_allclose(model.coef_, 1.4 * coef_before, rtol=1e-6)
    # the refitted baseline keeps the curves right on average: the mean predicted count of events up to each
    # training time equals the events seen (Breslow's estimator is that moment condition)
    hazard = -np.log(np.clip(model.predict_survival(x, np.sort(time)), 1e-300, 1))
    assert hazard[np.arange(len(time)), np.argsort(np.argsort(time))].sum() == pytest.approx(event.sum(), rel=1e-6)
    model.save(tmp_path / "m")
    loaded = load_survival_model(tmp_path / "m")
    assert loaded.risk_scale_ == 1.4
    np.testing.assert_allclose(loaded.predict_survival(x_test, horizons), model.predict_survival(x_test, horizons))
    np.testing.assert_allclose(loaded.predict_median(x_test), model.predict_median(x_test))
    assert model.fit(x, time, event).risk_scale_ == 1.0  # a new fit starts unscaled


def test_rescale_risk_checks_its_arguments(train_data):
    x, time, event, _ = train_data
    model = LinearCox().fit(x, time, event)
    for bad in (0, -1.0, float("nan"), True, "2"):
        with pytest.raises(MeddlError, match="'factor' parameter of rescale_risk must be a positive number"):
            model.rescale_risk(bad, x, time, event)
    with pytest.raises(DataError):
        model.rescale_risk(1.2, x, time[:10], event[:10])
    with pytest.raises(MeddlError, match="not fitted"):
        LinearCox().rescale_risk(1.2, x, time, event)


def test_logistic_hazard_rescaling_spreads_its_interval_hazards(train_data, test_data, tmp_path):
    x, time, event, _ = train_data
    x_test, time_test, event_test, _ = test_data
    model = LogisticHazard(n_intervals=10, hidden_units=(16,), epochs=15).fit(x, time, event)
    times = follow_up_event_times(time_test, event_test, 1.0)
    before = calibration_slope_over_follow_up(time_test, event_test, model.predict_survival(x_test, times), times)
    risk = model.predict_risk(x_test)
    model.rescale_risk(1.5, x)
    curves = model.predict_survival(x_test, times)
    after = calibration_slope_over_follow_up(time_test, event_test, curves, times)
    assert after["slope"] == pytest.approx(before["slope"] / 1.5, rel=0.1)
    assert (np.diff(curves, axis=1) <= 1e-12).all() and (curves >= 0).all() and (curves <= 1).all()
    assert np.corrcoef(np.argsort(np.argsort(risk)), np.argsort(np.argsort(model.predict_risk(x_test))))[0, 1] > 0.98
    # the pivot: each interval's mean log hazard increment over the training rows stays where it was
    np.testing.assert_allclose(np.log(np.logaddexp(0, model._predict_outputs(x))).mean(axis=0),
                               model.reference_log_hazard_, atol=1e-6)
    model.save(tmp_path / "m")
    loaded = load_survival_model(tmp_path / "m")
    np.testing.assert_allclose(loaded.predict_survival(x_test, times), curves)
    model.rescale_risk(1.0, x)
    np.testing.assert_allclose(model.predict_risk(x_test), risk)  # rescaling starts from the trained model
    assert model.fit(x, time, event).reference_log_hazard_ is None


def test_ensemble_rescales_every_member_and_refuses_members_without_it(train_data, test_data):
    x, time, event, _ = train_data
    x_test = test_data[0]
    ensemble = SurvivalEnsemble(LinearCox(l2=1e-3), n_members=2).fit(x, time, event)
    risks = [m.predict_risk(x_test) for m in ensemble.members_]
    ensemble.rescale_risk(0.7, x, time, event)
    for member, risk in zip(ensemble.members_, risks):
        assert member.risk_scale_ == 0.7
        np.testing.assert_allclose(member.predict_risk(x_test), 0.7 * risk)
    ensemble.members_ = [object()]
    with pytest.raises(MeddlError, match="rescale_risk needs members that have it"):
        ensemble.rescale_risk(0.7, x, time, event)
