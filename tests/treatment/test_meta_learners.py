"""S-, T- and X-learners: hand-computed checks with linear models, recovery with flexible ones."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import no_skill_pehe
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression

from meddl.treatment import SLearner, TLearner, XLearner, sqrt_pehe
from meddl.treatment.outcome_models import fit_clone, predict_response


def _least_squares(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(x)), x])
    return np.linalg.lstsq(design, y, rcond=None)[0]


def _apply(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    return coef[0] + x @ coef[1:]


def test_s_learner_with_a_linear_model_gives_the_treatment_coefficient(dataset):
    x, t, y = dataset["x"], dataset["t"], dataset["y"]
    coef = _least_squares(np.column_stack([x, t]), y)
    effect = SLearner(LinearRegression()).fit(x, t, y).predict_effect(x[:50])
    np.testing.assert_allclose(effect, np.full(50, coef[-1]), rtol=1e-8)


def test_t_learner_matches_per_arm_least_squares(dataset):
    x, t, y = dataset["x"], dataset["t"], dataset["y"]
    coef0, coef1 = _least_squares(x[t == 0], y[t == 0]), _least_squares(x[t == 1], y[t == 1])
    model = TLearner(LinearRegression()).fit(x, t, y)
    np.testing.assert_allclose(model.predict_outcomes(x[:50]), np.column_stack([_apply(coef0, x[:50]),
                                                                             _apply(coef1, x[:50])]), rtol=1e-8)
    # The effect is linear in x0 here, so the T-learner recovers τ(x) = 1 + 2·x0 closely.
    np.testing.assert_allclose(model.predict_effect(x[:50]), dataset["tau"][:50], atol=0.25)


def test_x_learner_matches_the_hand_computation(dataset):
    x, t, y = dataset["x"], dataset["t"], dataset["y"]
    coef0, coef1 = _least_squares(x[t == 0], y[t == 0]), _least_squares(x[t == 1], y[t == 1])
    imputed_treated = y[t == 1] - _apply(coef0, x[t == 1])
    imputed_control = _apply(coef1, x[t == 0]) - y[t == 0]
    tau0, tau1 = _least_squares(x[t == 0], imputed_control), _least_squares(x[t == 1], imputed_treated)
    g = t.mean()  # the "prior" dummy classifier predicts the share treated for everyone
    expected = g * _apply(tau0, x[:50]) + (1 - g) * _apply(tau1, x[:50])
    model = XLearner(LinearRegression(), propensity_model=DummyClassifier(strategy="prior")).fit(x, t, y)
    np.testing.assert_allclose(model.predict_effect(x[:50]), expected, rtol=1e-8)
    np.testing.assert_allclose(model.predict_propensity(x[:3]), np.full(3, g))
    np.testing.assert_allclose(model.predict_outcomes(x[:5])[:, 0], _apply(coef0, x[:5]), rtol=1e-8)


@pytest.mark.parametrize("make", [lambda: SLearner(HistGradientBoostingRegressor(max_iter=100, random_state=0)),
                                  lambda: TLearner(HistGradientBoostingRegressor(max_iter=100, random_state=0)),
                                  lambda: XLearner(HistGradientBoostingRegressor(max_iter=100, random_state=0))],
                         ids=["S", "T", "X"])
def test_flexible_learners_recover_the_effect(dataset, test_dataset, make):
    model = make().fit(dataset["x"], dataset["t"], dataset["y"])
    error = sqrt_pehe(test_dataset["tau"], model.predict_effect(test_dataset["x"]))
    assert error < 0.4 * no_skill_pehe(test_dataset), error


def test_classifiers_give_probabilities():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    t = rng.integers(0, 2, 400)
    y = rng.binomial(1, 1 / (1 + np.exp(-(x[:, 0] + t))))
    model = TLearner(LogisticRegression()).fit(x, t, y)
    treated_model = LogisticRegression().fit(x[t == 1], y[t == 1])
    np.testing.assert_allclose(model.predict_outcomes(x[:10])[:, 1], treated_model.predict_proba(x[:10])[:, 1])
    assert (model.predict_effect(x) > 0).mean() > 0.95


class _ArmMean:
    """Not a scikit-learn estimator: just fit/predict (copied with deepcopy)."""

    def fit(self, x, y):
        self.mean = float(np.mean(y))
        return self

    def predict(self, x):
        return np.full(len(x), self.mean)


class _SequentialRegressor:
    """A meddl model behind fit/predict, as a user would wrap one."""

    def fit(self, x, y):
        from meddl import Sequential
        from meddl.layers import Dense

        self.model = Sequential([Dense(1, input_shape=(x.shape[1],))])
        self.model.compile(optimizer="adam", loss="mse", learning_rate=0.05)
        self.model.fit(x, y, epochs=60, batch_size=None, verbose=0, seed=0)
        return self

    def predict(self, x):
        return self.model.predict(x)  # shape (N, 1): the learners flatten it


def test_any_object_with_fit_and_predict_works(dataset):
    x, t, y = dataset["x"], dataset["t"], dataset["y"]
    arm_means = TLearner(_ArmMean()).fit(x, t, y).predict_effect(x[:5])
    np.testing.assert_allclose(arm_means, np.full(5, y[t == 1].mean() - y[t == 0].mean()))
    meddl_learner = TLearner(_SequentialRegressor()).fit(x, t, y)
    assert sqrt_pehe(dataset["tau"], meddl_learner.predict_effect(x)) < 0.3


def test_fit_clone_leaves_the_template_unfitted(dataset):
    template = LinearRegression()
    model = fit_clone(template, dataset["x"], dataset["y"])
    assert hasattr(model, "coef_") and not hasattr(template, "coef_")
    assert predict_response(model, dataset["x"][:4]).shape == (4,)


def test_control_estimator_is_used_for_the_control_arm(dataset):
    model = TLearner(LinearRegression(), control_estimator=_ArmMean()).fit(dataset["x"], dataset["t"], dataset["y"])
    control = dataset["y"][dataset["t"] == 0].mean()
    np.testing.assert_allclose(model.predict_outcomes(dataset["x"][:3])[:, 0], np.full(3, control))
