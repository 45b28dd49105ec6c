"""DeepSurv-style recommendations for time-to-event outcomes, and their Kaplan–Meier check."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("lifelines")
pytest.importorskip("sksurv")

from conftest import one_torch_thread  # noqa: E402

from meddl.errors import DataError, ModelFileError  # noqa: E402
from meddl.survival import DeepSurv  # noqa: E402
from meddl.treatment import NO_SUPPORT, SurvivalRecommender, recommendation_survival  # noqa: E402


def simulate(n: int, seed: int):
    """Randomised treatment whose log-hazard ratio is x0: it helps (lowers the hazard) when x0 < 0."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = rng.integers(0, 2, n)
    log_hazard = 0.5 * x[:, 1] + t * x[:, 0]
    event_time = rng.exponential(np.exp(-log_hazard))
    censor_time = rng.uniform(0, 3, n)
    return x, t, np.minimum(event_time, censor_time), (event_time <= censor_time).astype(float)


@pytest.fixture(scope="module")
def fitted():
    x, t, duration, event = simulate(1000, 0)
    risk_model = DeepSurv(hidden_units=(16, 16), dropout=0.0, epochs=200, learning_rate=1e-2, early_stopping_patience=10)
    with one_torch_thread():
        return SurvivalRecommender(risk_model).fit(x, t, duration, event)


def test_recommends_the_arm_with_the_lower_true_hazard(fitted):
    x, t, duration, event = simulate(1000, 1)
    recommended = fitted.predict_recommended_arm(x)
    truly_better = (x[:, 0] < 0).astype(int)
    clear = np.abs(x[:, 0]) > 0.5  # where the true log hazard ratio is not tiny
    assert (recommended[clear] == truly_better[clear]).mean() > 0.9
    outcomes = fitted.predict_outcomes(x)
    np.testing.assert_allclose(fitted.predict_effect(x), outcomes[:, 1] - outcomes[:, 0])
    assert np.corrcoef(fitted.predict_effect(x), x[:, 0])[0, 1] > 0.8  # rec_10(x) tracks the true log HR


def test_patients_treated_as_recommended_live_longer(fitted):
    x, t, duration, event = simulate(1000, 2)
    result = recommendation_survival(duration, event, t, fitted.predict_recommended_arm(x))
    assert result["n_as_recommended"] + result["n_against"] == 1000
    assert result["median_as_recommended"] > result["median_against"]
    assert result["logrank_p"] < 0.01
    curve = result["curves"]["as_recommended"]
    assert curve["survival"][0] == 1.0 and np.all(np.diff(curve["survival"]) <= 0)


def test_kaplan_meier_figures_match_lifelines():
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    x, t, duration, event = simulate(300, 3)
    recommended = (x[:, 0] < 0).astype(float)
    recommended[:20] = np.nan  # no recommendation: left out
    result = recommendation_survival(duration, event, t, recommended)
    followed = ~np.isnan(recommended) & (recommended == t)
    against = ~np.isnan(recommended) & (recommended != t)
    assert result["n_as_recommended"] == followed.sum() and result["n_against"] == against.sum()
    expected = KaplanMeierFitter().fit(duration[followed], event[followed]).median_survival_time_
    assert result["median_as_recommended"] == pytest.approx(expected)
    test = logrank_test(duration[followed], duration[against], event[followed], event[against])
    assert result["logrank_p"] == pytest.approx(test.p_value)


def test_recommend_table_uses_lower_hazard_as_better(fitted):
    x, *_ = simulate(50, 4)
    propensity = np.full(50, 0.5)
    propensity[0] = 0.99
    table = fitted.recommend(x, propensity=propensity)
    assert table.loc[0, "recommendation"] == NO_SUPPORT
    arms = table["recommended_arm"].iloc[1:].map({"treated": 1, "control": 0}).to_numpy()
    np.testing.assert_array_equal(arms, fitted.predict_recommended_arm(x[1:]))


def test_save_load_identical(fitted, tmp_path):
    x, *_ = simulate(20, 5)
    fitted.save(tmp_path / "recommender")
    loaded = SurvivalRecommender.load(tmp_path / "recommender")
    np.testing.assert_array_equal(loaded.predict_outcomes(x), fitted.predict_outcomes(x))
    with pytest.raises(ModelFileError, match="No saved SurvivalRecommender"):
        SurvivalRecommender.load(tmp_path / "missing")


def test_errors():
    x, t, duration, event = simulate(40, 6)
    with pytest.raises(DataError, match="must contain both arms"):
        SurvivalRecommender().fit(x, np.zeros(40), duration, event)
    with pytest.raises(DataError, match="Both groups are needed: 40 patients were treated as recommended and 0 against"):
        recommendation_survival(duration, event, t, t)
    with pytest.raises(DataError, match="'event' must be 1 \\(event\\) or 0 \\(censored\\)"):
        recommendation_survival(duration, event * 2, t, 1 - t)
    with pytest.raises(DataError, match="'duration' and 'recommended' must have the same number of samples; got 40 and 3"):
        recommendation_survival(duration, event, t, [0, 1, 0])
    with pytest.raises(DataError, match=r"'recommended' must be 0/1 \(or NaN for no recommendation\)"):
        recommendation_survival(duration, event, t, np.full(40, 2.0))
