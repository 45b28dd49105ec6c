"""Breslow's baseline hazard against a hand computation and against lifelines."""

import numpy as np
import pytest

from meddl.errors import DataError, NotFittedError
from meddl.survival import BreslowBaseline

TIME = np.array([1.0, 2.0, 2.0, 2.0, 3.0, 5.0, 5.0, 6.0])
EVENT = np.array([1, 1, 1, 0, 0, 1, 1, 0])
ETA = np.array([0.2, -0.4, 0.9, 0.0, -1.0, 0.5, 0.3, -0.2])


def hand_breslow(eta, time, event, t):
    total = 0.0
    for s in np.unique(time[event == 1]):
        if s <= t:
            deaths = np.sum((time == s) & (event == 1))
            total += deaths / np.exp(eta[time >= s]).sum()
    return total


def test_cumulative_hazard_equals_hand_computation_with_ties():
    base = BreslowBaseline().fit(ETA, TIME, EVENT)
    query = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 4.9, 5.0, 6.0, 10.0])
    expected = [hand_breslow(ETA, TIME, EVENT, t) for t in query]
    np.testing.assert_allclose(base.cumulative_hazard(query), expected, rtol=1e-12)
    np.testing.assert_array_equal(base.times_, [1.0, 2.0, 5.0])


def test_survival_is_exp_of_minus_hazard_times_risk_and_non_increasing():
    base = BreslowBaseline().fit(ETA, TIME, EVENT)
    grid = np.linspace(0, 8, 50)
    curves = base.survival(ETA, grid)
    assert curves.shape == (len(ETA), 50)
    np.testing.assert_allclose(curves, np.exp(-np.outer(np.exp(ETA), base.cumulative_hazard(grid))), rtol=1e-12)
    assert np.all(np.diff(curves, axis=1) <= 0) and np.all(curves[:, 0] == 1.0)


def test_breslow_matches_lifelines_with_the_same_coefficients():
    from lifelines import CoxPHFitter
    from sksurv.datasets import load_whas500

    x, y = load_whas500()
    frame = x[["age", "bmi", "hr"]].astype(float).iloc[:200].copy()
    frame["T"], frame["E"] = y["lenfol"][:200], y["fstat"][:200].astype(int)
    cph = CoxPHFitter().fit(frame, "T", "E")
    covariates = frame[["age", "bmi", "hr"]]
    eta = covariates.to_numpy() @ cph.params_.to_numpy()
    base = BreslowBaseline().fit(eta, frame["T"], frame["E"])
    # lifelines interpolates H0 linearly between event times; at the event times both are step values
    event_times = cph.baseline_cumulative_hazard_.index.to_numpy()
    times = event_times[[0, 10, len(event_times) // 2, -1]]
    expected = cph.predict_survival_function(covariates.iloc[:20], times=times).T.to_numpy()
    np.testing.assert_allclose(base.survival(eta[:20], times), expected, rtol=1e-8)
    # lifelines' baseline is relative to the mean covariate: H0_ll = H0 · exp(mean(x)·β)
    shift = np.exp(covariates.mean().to_numpy() @ cph.params_.to_numpy())
    lifelines_h0 = cph.baseline_cumulative_hazard_.iloc[:, 0]
    np.testing.assert_allclose(base.cumulative_hazard(lifelines_h0.index.to_numpy()) * shift,
                               lifelines_h0.to_numpy(), rtol=1e-8)


def test_from_arrays_round_trip_and_errors():
    base = BreslowBaseline().fit(ETA, TIME, EVENT)
    copy = BreslowBaseline.from_arrays(base.times_, base.cumulative_hazard_)
    np.testing.assert_array_equal(copy.survival(ETA, [0, 3, 7]), base.survival(ETA, [0, 3, 7]))
    with pytest.raises(DataError, match="equal length"):
        BreslowBaseline.from_arrays(np.ones(3), np.ones(2))


def test_baseline_errors():
    with pytest.raises(NotFittedError, match="Call fit"):
        BreslowBaseline().cumulative_hazard([1.0])
    with pytest.raises(DataError, match="all samples are censored"):
        BreslowBaseline().fit(ETA, TIME, np.zeros(8))
    with pytest.raises(DataError, match="'log_risk' contains NaN"):
        BreslowBaseline().fit(np.r_[np.nan, ETA[1:]], TIME, EVENT)
    with pytest.raises(DataError, match="one entry per row of 'x' \\(8\\); got 7"):
        BreslowBaseline().fit(ETA, TIME[:7], EVENT[:7])
