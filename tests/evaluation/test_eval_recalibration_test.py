"""The closed testing procedure: which update new cases need, at the tests' level."""

from collections import Counter

import numpy as np
import pytest
from scipy.special import expit, logit

from meddl.errors import DataError
from meddl.evaluation import UPDATE_METHODS, recalibration_test


def _cases(seed, n, intercept=0.0, slope=1.0):
    rng = np.random.default_rng(seed)
    risk = rng.uniform(0.05, 0.95, n)
    return rng.binomial(1, expit(intercept + slope * logit(risk))), risk


@pytest.mark.parametrize("truth, intercept, slope", [("none", 0.0, 1.0), ("intercept", -1.0, 1.0),
                                                     ("logistic", 0.3, 0.5)])
def test_recommends_the_update_the_cases_were_drawn_with(truth, intercept, slope):
    chosen = Counter(recalibration_test(*_cases(seed, 1500, intercept, slope))["recommended"] for seed in range(60))
    assert chosen[truth] >= 50, chosen  # a wrong choice about alpha = 5% of the time, at most
    assert set(chosen) <= set(UPDATE_METHODS)


def test_updates_are_the_fitted_intercept_and_slope_and_fix_the_likelihood():
    y, risk = _cases(0, 4000, intercept=-1.0, slope=0.6)
    result = recalibration_test(y, risk)
    assert result["recommended"] == "logistic"
    assert result["logistic_update"]["slope"] == pytest.approx(0.6, abs=0.08)
    assert result["logistic_update"]["intercept"] == pytest.approx(-1.0, abs=0.12)
    assert result["intercept_update"] < 0 and result["mean_probability"] > result["observed_rate"]
    likelihood = result["log_likelihood"]
    assert likelihood["none"] < likelihood["intercept"] < likelihood["logistic"]
    assert "slope" in result["reason"] and result["n"] == 4000


def test_bad_input_is_named():
    with pytest.raises(DataError, match="both classes"):
        recalibration_test([1, 1, 1], [0.2, 0.5, 0.9])
    with pytest.raises(DataError, match="separate"):
        recalibration_test([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    with pytest.raises(Exception, match="alpha"):
        recalibration_test([0, 1], [0.3, 0.6], alpha=1.5)
    with pytest.raises(Exception, match="y_prob"):
        recalibration_test([0, 1], [0.3, 1.6])
