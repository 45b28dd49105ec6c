"""Every bad input gives a clear error naming the argument, what was expected and what was received."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SMALL_NETWORK, make_dataset
from sklearn.linear_model import LinearRegression, LogisticRegression

from meddl.errors import ConfigError, DataError
from meddl.treatment import (
    CFRNet,
    Dragonnet,
    EffectEnsemble,
    PropensityModel,
    SLearner,
    TARNet,
    TLearner,
    XLearner,
    aipw_ate,
)

DATA = make_dataset(60, seed=5)

FITTERS = {
    "TARNet": lambda x, t, y: TARNet(**SMALL_NETWORK).fit(x, t, y),
    "CFRNet": lambda x, t, y: CFRNet(**SMALL_NETWORK).fit(x, t, y),
    "Dragonnet": lambda x, t, y: Dragonnet(**SMALL_NETWORK).fit(x, t, y),
    "SLearner": lambda x, t, y: SLearner(LinearRegression()).fit(x, t, y),
    "TLearner": lambda x, t, y: TLearner(LinearRegression()).fit(x, t, y),
    "XLearner": lambda x, t, y: XLearner(LinearRegression()).fit(x, t, y),
    "aipw_ate": lambda x, t, y: aipw_ate(x, t, y, n_folds=2),
}


@pytest.fixture(params=list(FITTERS))
def fit(request):
    return FITTERS[request.param]


def test_non_binary_treatment(fit):
    t = DATA["t"].copy()
    t[:3] = 2
    with pytest.raises(DataError, match=r"'t' \(the treatment\) must be binary, coded 0 = control and 1 = treated; "
                                        r"got the values \[0, 1, 2\]"):
        fit(DATA["x"], t, DATA["y"])


def test_only_one_arm(fit):
    with pytest.raises(DataError, match=r"must contain both arms to estimate an effect; all 60 samples are treated \(1\)"):
        fit(DATA["x"], np.ones(60), DATA["y"])


def test_length_mismatch(fit):
    with pytest.raises(DataError, match="'x' and 'y' must have the same number of samples; got 60 and 59"):
        fit(DATA["x"], DATA["t"], DATA["y"][:-1])
    with pytest.raises(DataError, match="'x' and 't' must have the same number of samples; got 60 and 58"):
        fit(DATA["x"], DATA["t"][:-2], DATA["y"])


def test_nan_values(fit):
    x = DATA["x"].copy()
    x[7, 1] = np.nan
    with pytest.raises(DataError, match=r"'x' contains 1 NaN or infinite values \(first in row 7\)"):
        fit(x, DATA["t"], DATA["y"])
    y = DATA["y"].copy()
    y[4] = np.inf
    with pytest.raises(DataError, match=r"'y' contains 1 NaN or infinite values \(first in row 4\)"):
        fit(DATA["x"], DATA["t"], y)
    t = DATA["t"].astype(float)
    t[0] = np.nan
    with pytest.raises(DataError, match="'t' contains 1 NaN"):
        fit(DATA["x"], t, DATA["y"])


def test_one_dimensional_x(fit):
    with pytest.raises(DataError, match=r"'x' must be a 2-D array of shape \(N, features\); got shape \(60,\). "
                                        r"For a single feature use x.reshape\(-1, 1\)"):
        fit(DATA["x"][:, 0], DATA["t"], DATA["y"])


def test_too_few_patients_per_arm():
    t = np.zeros(60, dtype=int)
    t[:3] = 1
    with pytest.raises(DataError, match="TARNet needs at least 4 samples in each arm; got 57 control and 3 treated"):
        TARNet(**SMALL_NETWORK).fit(DATA["x"], t, DATA["y"])


@pytest.mark.parametrize(("make", "message"), [
    (lambda: TARNet(learning_rate=0), r"The 'learning_rate' parameter of TARNet must be a float in the range \(0, inf\). Got 0 instead"),
    (lambda: TARNet(batch_size=0), r"The 'batch_size' parameter of TARNet must be an int in the range \[1, inf\). Got 0 instead"),
    (lambda: TARNet(validation_fraction=1.0), r"The 'validation_fraction' parameter of TARNet must be a float in the range \[0, 1\). Got 1.0 instead"),
    (lambda: TARNet(representation_units=(32, 0)), r"The 'representation_units' parameter of TARNet must be a tuple of positive integers"),
    (lambda: TARNet(representation_units=()), r"'representation_units' parameter of TARNet needs at least one layer"),
    (lambda: TARNet(activation="rleu"), r"The 'activation' parameter of TARNet must be one of .*Got 'rleu' instead. Did you mean 'relu'\?"),
    (lambda: TARNet(balance_arms="yes"), r"The 'balance_arms' parameter of TARNet must be True or False. Got 'yes' instead"),
    (lambda: TARNet(random_state=-1), r"The 'random_state' parameter of TARNet must be None or a non-negative integer"),
    (lambda: CFRNet(ipm="wasserstien"), r"The 'ipm' parameter of CFRNet must be one of .*Got 'wasserstien' instead. Did you mean 'wasserstein'\?"),
    (lambda: CFRNet(alpha=-1), r"The 'alpha' parameter of CFRNet must be a float in the range \[0, inf\). Got -1 instead"),
    (lambda: Dragonnet(beta=-0.5), r"The 'beta' parameter of Dragonnet must be a float in the range \[0, inf\). Got -0.5 instead"),
    (lambda: TARNet(outcome="binary"), r"TARNet\(outcome='binary'\) needs 'y' coded 0/1"),
])
def test_bad_parameters(make, message):
    with pytest.raises((ConfigError, DataError), match=message):
        make().fit(DATA["x"], DATA["t"], DATA["y"])


def test_validation_split_too_small():
    data = make_dataset(10, seed=1)
    t = np.array([0, 1] * 5)
    with pytest.raises(DataError, match="validation_fraction=0.1 of 10 samples leaves 1 for validation"):
        TARNet(**{**SMALL_NETWORK, "validation_fraction": 0.1}).fit(data["x"], t, data["y"])


def test_predict_with_wrong_number_of_features():
    model = TLearner(LinearRegression()).fit(DATA["x"], DATA["t"], DATA["y"])
    with pytest.raises(DataError, match="'x' has 3 features, but the estimator was fitted with 4 features"):
        model.predict_effect(DATA["x"][:, :3])


def test_meta_learner_estimator_checks():
    with pytest.raises(ConfigError, match="The 'estimator' of SLearner must have fit"):
        SLearner(object()).fit(DATA["x"], DATA["t"], DATA["y"])
    with pytest.raises(ConfigError, match="must be a regressor; got the classifier LogisticRegression"):
        XLearner(LogisticRegression()).fit(DATA["x"], DATA["t"], (DATA["y"] > 0).astype(int))
    with pytest.raises(ConfigError, match="The 'estimator' of PropensityModel must have predict_proba"):
        PropensityModel(LinearRegression()).fit(DATA["x"], DATA["t"])


def test_ensemble_checks():
    with pytest.raises(ConfigError, match="The 'base' of EffectEnsemble must be an estimator with a 'random_state'"):
        EffectEnsemble(TLearner(LinearRegression())).fit(DATA["x"], DATA["t"], DATA["y"])
    with pytest.raises(ConfigError, match=r"The 'n_members' parameter of EffectEnsemble must be an int in the range \[2, inf\)"):
        EffectEnsemble(TARNet(), n_members=1).fit(DATA["x"], DATA["t"], DATA["y"])
