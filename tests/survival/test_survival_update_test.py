"""survival_recalibration_test: which update (none, baseline, baseline and slope) curves need on new patients."""

import numpy as np
import pytest
from scipy.optimize import minimize

from meddl.errors import DataError
from meddl.survival import SURVIVAL_UPDATES, survival_recalibration_test


def patients(n, seed, *, log_hazard_shift=0.0, risk_scale=1.0, end=1.0):
    """Exponential times with hazard exp(risk_scale * eta + shift); the curves predicted say exp(eta)."""
    rng = np.random.default_rng(seed)
    eta = rng.normal(size=n)
    event_time = rng.exponential(1 / np.exp(risk_scale * eta + log_hazard_shift))
    censor = rng.uniform(0.2, 2.0, n)
    time, event = np.minimum(event_time, censor), (event_time <= censor).astype(int)
    at_follow_up = np.exp(-np.minimum(time, end) * np.exp(eta))
    at_end = np.exp(-end * np.exp(eta))
    return time, event, at_follow_up, at_end


def test_calibrated_curves_need_no_update():
    result = survival_recalibration_test(*patients(2000, seed=0), end=1.0)
    assert result["recommended"] == "none" and result["p_values"]["any_update"] >= 0.05
    assert result["observed_expected"]["ci95"][0] < 1 < result["observed_expected"]["ci95"][1]
    assert "no update is needed" in result["reason"]


def test_a_lower_baseline_hazard_is_found_and_sized():
    result = survival_recalibration_test(*patients(3000, seed=1, log_hazard_shift=-0.5), end=1.0)
    assert result["recommended"] == "baseline"
    ratio = result["observed_expected"]
    assert ratio["ci95"][0] < np.exp(-0.5) < ratio["ci95"][1] and ratio["ratio"] < 0.75
    assert "too high" in result["reason"]


def test_risk_factors_that_weigh_more_call_for_a_slope():
    result = survival_recalibration_test(*patients(3000, seed=2, risk_scale=1.5), end=1.0)
    assert result["recommended"] == "slope"
    low, high = result["slope_update"]["ci95"]
    assert low < 1.5 < high and low > 1.2
    assert result["p_values"]["slope"] < 0.05


def test_the_fits_are_the_poisson_maximum_likelihood():
    time, event, at_follow_up, at_end = patients(800, seed=3, log_hazard_shift=0.3, risk_scale=0.7)
    result = survival_recalibration_test(time, event, at_follow_up, at_end, end=1.0)
    d = (event.astype(bool) & (time <= 1.0)).astype(float)
    log_h, r = np.log(-np.log(at_follow_up)), np.log(-np.log(at_end))
    r = r - r.mean()

    def negative_log_likelihood(theta):
        log_mu = theta[0] + log_h + theta[1] * r
        return -np.sum(d * log_mu - np.exp(log_mu))

    fit = minimize(negative_log_likelihood, np.zeros(2), method="BFGS", options={"gtol": 1e-9})
    assert np.log(result["slope_update"]["factor"]) == pytest.approx(fit.x[0], abs=1e-5)
    assert result["slope_update"]["slope"] == pytest.approx(1 + fit.x[1], abs=1e-5)
    assert result["log_likelihood"]["slope"] == pytest.approx(-fit.fun, abs=1e-6)
    assert result["observed_expected"]["ratio"] == pytest.approx(d.sum() / (-np.log(at_follow_up)).sum())
    assert set(SURVIVAL_UPDATES) == {"none", "baseline", "slope"}


def test_bad_inputs_are_named():
    time, event, at_follow_up, at_end = patients(100, seed=4)
    with pytest.raises(DataError, match="no events before the end|none of the 100 patients"):
        survival_recalibration_test(time, np.zeros(100), at_follow_up, at_end, end=1.0)
    with pytest.raises(DataError, match="survival_at_end"):
        survival_recalibration_test(time, event, at_follow_up, at_end[:50], end=1.0)
    with pytest.raises(DataError, match="survival_at_follow_up.*\\[0, 1\\]"):
        survival_recalibration_test(time, event, at_follow_up + 1, at_end, end=1.0)
    with pytest.raises(DataError, match="'end'"):
        survival_recalibration_test(time, event, at_follow_up, at_end, end=0)
    with pytest.raises(ValueError, match="alpha"):
        survival_recalibration_test(time, event, at_follow_up, at_end, end=1.0, alpha=2)
