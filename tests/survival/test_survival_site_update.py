"""SiteUpdatedSurvival: a survival model's curves with a new baseline hazard and risk slope."""

import copy

import numpy as np
import pytest

from meddl.errors import MeddlError
from meddl.survival import LinearCox, SiteUpdatedSurvival, SurvivalEnsemble
from meddl.survival.site_update import apply_site_updates


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    time = rng.exponential(np.exp(-(x[:, 0] - 0.5 * x[:, 1])))
    censor = rng.exponential(2.0, 400)
    return x, np.minimum(time, censor), (time <= censor).astype(int)


@pytest.fixture(scope="module")
def cox(data):
    return LinearCox().fit(*data)


def test_a_baseline_update_multiplies_every_cumulative_hazard(cox, data):
    x = data[0][:20]
    updated = SiteUpdatedSurvival(cox, factor=1.7, slope=1.0, reference=0.3, end=1.0)
    times = np.array([0.2, 0.5, 1.0, 2.0])
    np.testing.assert_allclose(updated.predict_survival(x, times), cox.predict_survival(x, times) ** 1.7)
    np.testing.assert_allclose(updated.predict_at(x, times), 1 - cox.predict_survival(x, times) ** 1.7)
    np.testing.assert_array_equal(updated.predict_risk(x), cox.predict_risk(x))
    assert (updated.predict_median(x) <= cox.predict_median(x)).all()  # a higher hazard: earlier medians


def test_a_slope_update_of_a_cox_model_is_again_proportional_hazards(cox, data):
    """log(-log S'(t | x)) = const(t) + slope * eta(x): the log-risk times the slope, the baseline rescaled."""
    x = data[0][:50]
    updated = SiteUpdatedSurvival(cox, factor=0.8, slope=0.6, reference=-0.4, end=1.0)
    eta = cox.predict_risk(x)
    for t in (0.3, 1.0, 2.5):
        log_hazard = np.log(-np.log(updated.predict_survival(x, [t])[:, 0]))
        residual = log_hazard - 0.6 * eta
        np.testing.assert_allclose(residual, residual[0], atol=1e-8)
    np.testing.assert_allclose(updated.multiplier(x),
                               0.8 * np.exp(-0.4 * (np.log(-np.log(cox.predict_survival(x, [1.0])[:, 0])) + 0.4)))


def test_an_ensemble_keeps_its_intervals_and_updates_compose(data):
    x, time, event = data
    ensemble = SurvivalEnsemble(LinearCox(), n_members=3).fit(x, time, event)
    updated = SiteUpdatedSurvival(ensemble, factor=1.5, slope=1.3, reference=0.0, end=1.0)
    summary = updated.predict_interval(x[:10], [0.5, 1.0])
    np.testing.assert_allclose(summary["survival"]["mean"], updated.predict_survival(x[:10], [0.5, 1.0]))
    assert (summary["survival"]["lower"] <= summary["survival"]["upper"] + 1e-12).all()
    np.testing.assert_array_equal(summary["median"]["mean"], updated.predict_median(x[:10]))
    np.testing.assert_array_equal(summary["risk"]["mean"], ensemble.predict_risk(x[:10]))
    assert updated.n_features_in_ == 3 and len(updated.members_) == 3
    twice = apply_site_updates(ensemble, [{"factor": 2.0, "slope": 1.0, "reference": 0.0, "end": 1.0},
                                          {"factor": 3.0, "slope": 1.0, "reference": 5.0, "end": 1.0}])
    once = SiteUpdatedSurvival(ensemble, factor=6.0, slope=1.0, reference=0.0, end=1.0)
    np.testing.assert_allclose(twice.predict_survival(x[:5], [1.0]), once.predict_survival(x[:5], [1.0]))
    np.testing.assert_allclose(twice.predict_interval(x[:5], [1.0])["survival"]["upper"],
                               once.predict_interval(x[:5], [1.0])["survival"]["upper"])
    assert apply_site_updates(ensemble, None) is ensemble
    clone = copy.deepcopy(updated)  # the explanation's randomisation test copies the model
    np.testing.assert_allclose(clone.predict_survival(x[:5], [1.0]), updated.predict_survival(x[:5], [1.0]))


def test_a_single_model_offers_no_interval_and_bad_parameters_are_named(cox):
    updated = SiteUpdatedSurvival(cox, factor=1.0, slope=1.0, reference=0.0, end=1.0)
    assert not hasattr(updated, "predict_interval") and "factor=1" in repr(updated)
    assert updated.to_dict() == {"factor": 1.0, "slope": 1.0, "reference": 0.0, "end": 1.0}
    for bad in ({"factor": 0.0}, {"slope": -1.0}, {"end": float("nan")}, {"reference": float("inf")}):
        with pytest.raises(MeddlError, match=f"'{next(iter(bad))}'"):
            SiteUpdatedSurvival(cox, **{"factor": 1.0, "slope": 1.0, "reference": 0.0, "end": 1.0, **bad})
