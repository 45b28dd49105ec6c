"""Cross-fitted AIPW: coverage of the ATE interval, double robustness, policy values by hand."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_dataset
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.linear_model import LinearRegression

from meddl.errors import ConfigError, DataError
from meddl.treatment import Nuisances, aipw_ate, cross_fit_nuisances, policy_values

TRUE_ATE = 1.0  # E[1 + 2·x0] with x0 ~ N(0, 1)


def test_ate_interval_covers_the_truth_at_about_its_nominal_rate():
    covered, estimates = [], []
    for seed in range(40):
        data = make_dataset(400, seed=100 + seed)
        result = aipw_ate(data["x"], data["t"], data["y"], outcome_model=LinearRegression(), random_state=seed)
        low, high = result["ci95"]
        covered.append(low <= TRUE_ATE <= high)
        estimates.append(result["value"])
    assert np.mean(covered) >= 0.85, np.mean(covered)
    assert abs(np.mean(estimates) - TRUE_ATE) < 0.05  # unbiased on average


def test_result_is_json_safe_and_consistent(dataset):
    result = aipw_ate(dataset["x"], dataset["t"], dataset["y"], outcome_model=LinearRegression())
    assert set(result) == {"value", "ci95", "se", "n"} and result["n"] == len(dataset["y"])
    assert all(isinstance(v, float) for v in (result["value"], result["se"], *result["ci95"]))
    assert result["ci95"][1] - result["ci95"][0] == pytest.approx(2 * 1.959964 * result["se"], rel=1e-5)


@pytest.mark.parametrize("wrong", ["outcome", "propensity"])
def test_doubly_robust_when_one_nuisance_is_wrong(wrong):
    data = make_dataset(4000, seed=7)
    options = {"outcome_model": LinearRegression()}
    if wrong == "outcome":
        options["outcome_model"] = DummyRegressor()  # ignores x: only the propensity is right
    else:
        options["propensity_model"] = DummyClassifier(strategy="prior")  # ignores x: only μ is right
    result = aipw_ate(data["x"], data["t"], data["y"], **options)
    assert abs(result["value"] - TRUE_ATE) < 3 * result["se"] + 0.02
    naive = data["y"][data["t"] == 1].mean() - data["y"][data["t"] == 0].mean()
    assert abs(naive - TRUE_ATE) > 0.3 > 3 * abs(result["value"] - TRUE_ATE)  # confounded: a difference of means is off


def test_cross_fitting_uses_other_folds_only(dataset):
    nuisances = cross_fit_nuisances(dataset["x"], dataset["t"], dataset["y"], outcome_model=LinearRegression(),
                                    n_folds=4, random_state=3)
    assert isinstance(nuisances, Nuisances) and all(len(part) == len(dataset["y"]) for part in nuisances)
    in_sample = LinearRegression().fit(dataset["x"][dataset["t"] == 1], dataset["y"][dataset["t"] == 1])
    # Out-of-fold predictions differ from in-sample ones (but only slightly for a linear model).
    difference = np.abs(nuisances.mu1 - in_sample.predict(dataset["x"]))
    assert difference.max() > 1e-6 and difference.mean() < 0.1


def test_policy_values_by_hand():
    rng = np.random.default_rng(0)
    n = 50
    x = rng.normal(size=(n, 2))
    t = np.r_[np.zeros(25, dtype=int), np.ones(25, dtype=int)]
    y = rng.normal(size=n)
    nuisances = Nuisances(mu0=rng.normal(size=n), mu1=rng.normal(size=n), propensity=rng.uniform(0.2, 0.8, n))
    policy = rng.integers(0, 2, n).astype(float)
    policy[:5] = np.nan
    result = policy_values(x, t, y, policy, nuisances=nuisances)
    mu0, mu1, e = nuisances
    treated = mu1 + t * (y - mu1) / e
    control = mu0 + (1 - t) * (y - mu0) / (1 - e)
    recommended = np.where(np.isnan(policy), y, np.where(policy == 1, treated, control))
    assert result["treat_all"]["value"] == pytest.approx(treated.mean())
    assert result["treat_none"]["value"] == pytest.approx(control.mean())
    assert result["as_recommended"]["value"] == pytest.approx(recommended.mean())
    assert result["as_recommended"]["se"] == pytest.approx(recommended.std(ddof=1) / np.sqrt(n))
    assert result["as_recommended_minus_treat_all"]["value"] == pytest.approx((recommended - treated).mean())
    assert result["n_without_recommendation"] == 5 and result["n"] == n
    ate = aipw_ate(x, t, y, nuisances=nuisances)
    assert ate["value"] == pytest.approx(treated.mean() - control.mean())


def test_the_best_policy_beats_treating_all_and_none():
    data = make_dataset(3000, seed=11)
    best = (data["tau"] > 0).astype(int)  # τ < 0 for x0 < −0.5: treating everyone harms those patients
    as_strings = np.where(best == 1, "treated", "control").astype(object)
    as_strings[:10] = None
    result = policy_values(data["x"], data["t"], data["y"], as_strings, outcome_model=LinearRegression())
    assert result["as_recommended_minus_treat_all"]["ci95"][0] > 0
    assert result["as_recommended_minus_treat_none"]["ci95"][0] > 0
    # Treat-all's value estimates E[μ1] (the true mean is E[μ0] + 1 in this population).
    low, high = result["treat_all"]["ci95"]
    assert low - 0.05 <= data["mu1"].mean() <= high + 0.05


def test_no_recommendation_means_usual_care(dataset):
    result = policy_values(dataset["x"], dataset["t"], dataset["y"], np.full(len(dataset["y"]), np.nan),
                           outcome_model=LinearRegression())
    assert result["as_recommended"]["value"] == pytest.approx(dataset["y"].mean())


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda d: policy_values(d["x"], d["t"], d["y"], np.full(len(d["y"]), 2)), DataError,
     "'policy' values must be 0/1, 'treated'/'control' or None/NaN \\(no recommendation\\); got 2 at index 0"),
    (lambda d: policy_values(d["x"], d["t"], d["y"], ["maybe"] * len(d["y"])), DataError, "got 'maybe' at index 0"),
    (lambda d: policy_values(d["x"], d["t"], d["y"], [1, 0]), DataError,
     "'x' and 'policy' must have the same number of samples; got 800 and 2"),
    (lambda d: aipw_ate(d["x"], d["t"], d["y"], n_folds=1), ConfigError,
     r"The 'n_folds' parameter of cross_fit_nuisances must be an int in the range \[2, inf\). Got 1 instead"),
    (lambda d: aipw_ate(d["x"], d["t"], d["y"], clip=0.6), ConfigError,
     r"The 'clip' parameter of aipw_ate must be a float in the range \[0, 0.5\). Got 0.6 instead"),
    (lambda d: aipw_ate(d["x"], d["t"], d["y"], nuisances=Nuisances(*(np.zeros(3),) * 3)), DataError,
     "'nuisances' must be the Nuisances returned by cross_fit_nuisances for the same patients"),
])
def test_errors(dataset, call, error, message):
    with pytest.raises(error, match=message):
        call(dataset)


def test_too_few_per_arm_for_the_folds():
    data = make_dataset(60, seed=2)
    t = np.zeros(60, dtype=int)
    t[:6] = 1
    with pytest.raises(DataError, match="cross_fit_nuisances needs at least 10 samples in each arm; got 54 control and 6 treated"):
        aipw_ate(data["x"], t, data["y"])
