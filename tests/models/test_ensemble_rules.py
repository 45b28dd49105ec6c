"""The one ensemble rule of every model family: member seeds and the members' spread."""

import numpy as np
import pytest

from meddl.errors import MeddlError
from meddl.models.ensemble import member_seeds, member_spread
from meddl.survival import DeepSurv, SurvivalEnsemble
from meddl.treatment import EffectEnsemble, TARNet


def test_member_k_trains_with_seed_plus_k():
    assert member_seeds(7, 3) == [7, 8, 9]
    assert member_seeds(0, 1) == [0]


def test_the_spread_is_the_central_share_of_the_members():
    values = np.arange(101, dtype=float)[:, None] * np.array([1.0, 2.0])      # 101 members, 2 rows
    spread = member_spread(values)
    np.testing.assert_allclose(spread["mean"], [50.0, 100.0])
    np.testing.assert_allclose(spread["lower"], [2.5, 5.0])
    np.testing.assert_allclose(spread["upper"], [97.5, 195.0])
    np.testing.assert_allclose(spread["sd"], values.std(axis=0, ddof=1))
    narrow = member_spread(values, coverage=0.5)
    np.testing.assert_allclose(narrow["lower"], [25.0, 50.0])
    with_inf = member_spread(np.array([[1.0], [2.0], [np.inf]]), method="nearest")
    assert with_inf["lower"][0] == 1.0 and with_inf["upper"][0] == np.inf
    assert member_spread(np.array([[3.0]]))["sd"][0] == 0.0                    # one member: no spread, no NaN


def test_survival_and_treatment_ensembles_follow_the_rule():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3)).astype(np.float32)
    duration, event = rng.exponential(5, 60) + 0.1, rng.random(60) < 0.7
    survival = SurvivalEnsemble(DeepSurv(hidden_units=(4,), epochs=1, seed=11), n_members=3).fit(x, duration, event)
    assert [m.seed for m in survival.members_] == [11, 12, 13]
    t, y = rng.random(60) < 0.5, rng.normal(size=60)
    effects = EffectEnsemble(TARNet(representation_units=(4,), head_units=(4,), max_epochs=1), n_members=2, random_state=5).fit(x, t, y)
    assert [m.random_state for m in effects.estimators_] == [5, 6]
    members = effects.predict_member_outcomes(x)
    interval = effects.predict_effect_interval(x)
    spread = member_spread(members[..., 1] - members[..., 0])
    np.testing.assert_allclose(interval, np.stack([spread["lower"], spread["upper"]], axis=1))
    with pytest.raises(MeddlError, match="n_members"):
        EffectEnsemble(TARNet(), n_members=1).fit(x, t, y)
