"""One contract for every estimator class (survival and treatment), as scikit-learn's ``check_estimator`` does.

Each class: ``__init__`` stores its arguments unchanged; ``get_params``/``set_params`` round-trip;
``sklearn.base.clone`` gives an unfitted copy with equal parameters; ``fit`` returns ``self`` and
sets fitted attributes ending in ``_``; and a saved model loads back predicting the same.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.base import clone

from meddl.survival import DeepSurv, LinearCox, LogisticHazard, SurvivalEnsemble
from meddl.treatment import CFRNet, Dragonnet, EffectEnsemble, SurvivalRecommender, TARNet

FAST_NET = {"hidden_units": (8,), "epochs": 3, "batch_size": 64}
FAST_EFFECT = {"representation_units": (8,), "head_units": (8,), "max_epochs": 3, "batch_size": 64, "random_state": 0}

SURVIVAL = [DeepSurv(**FAST_NET), LinearCox(epochs=20), LogisticHazard(n_intervals=5, **FAST_NET),
            SurvivalEnsemble(DeepSurv(**FAST_NET), n_members=2)]
TREATMENT = [TARNet(**FAST_EFFECT), CFRNet(**FAST_EFFECT), Dragonnet(**FAST_EFFECT),
             EffectEnsemble(TARNet(**FAST_EFFECT), n_members=2)]
ALL = SURVIVAL + TREATMENT + [SurvivalRecommender(DeepSurv(**FAST_NET))]


def _name(estimator) -> str:
    return type(estimator).__name__


def _data(seed=0, n=120):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    t = (rng.random(n) < 0.5).astype(int)
    duration = rng.exponential(np.exp(-x[:, 0] + 0.3 * t)) + 0.01
    event = (rng.random(n) < 0.8).astype(int)
    y = x[:, 0] + t * (1 + x[:, 1]) + rng.normal(scale=0.1, size=n)
    return x, t, duration, event, y


def _fit(estimator):
    x, t, duration, event, y = _data()
    if isinstance(estimator, SurvivalRecommender):
        return estimator.fit(x, t, duration, event)
    if estimator in SURVIVAL or isinstance(estimator, (SurvivalEnsemble, DeepSurv, LinearCox, LogisticHazard)):
        return estimator.fit(x, duration, event)
    return estimator.fit(x, t, y)


def _predict(estimator):
    x = _data(seed=1, n=20)[0]
    if hasattr(estimator, "predict_effect"):
        return np.asarray(estimator.predict_effect(x))
    return np.asarray(estimator.predict_risk(x))


@pytest.mark.parametrize("estimator", ALL, ids=_name)
def test_init_stores_every_argument_unchanged(estimator):
    params = estimator.get_params(deep=False)
    signature = inspect.signature(type(estimator).__init__)
    assert set(params) == {name for name in signature.parameters if name != "self"}
    for name, value in params.items():
        assert getattr(estimator, name) is value


@pytest.mark.parametrize("estimator", ALL, ids=_name)
def test_set_params_round_trips_and_clone_is_unfitted(estimator):
    params = estimator.get_params(deep=False)
    copy = clone(estimator)
    assert type(copy) is type(estimator)
    assert {k: repr(v) for k, v in copy.get_params(deep=False).items()} == {k: repr(v) for k, v in params.items()}
    first = next(iter(params))
    copy.set_params(**{first: params[first]})
    assert not any(name.endswith("_") and not name.startswith("_") for name in vars(copy))


@pytest.mark.parametrize("estimator", ALL, ids=_name)
def test_fit_returns_self_sets_fitted_attributes_and_the_saved_model_predicts_the_same(estimator, tmp_path):
    estimator = clone(estimator)
    assert _fit(estimator) is estimator
    assert any(name.endswith("_") and not name.startswith("_") for name in vars(estimator))
    estimator.save(tmp_path / "saved")
    loaded = type(estimator).load(tmp_path / "saved")
    np.testing.assert_allclose(_predict(loaded), _predict(estimator), rtol=1e-6, atol=1e-8)
