"""DeepSurv, LinearCox and LogisticHazard: learning, curves, medians, saving, and their errors."""

import numpy as np
import pandas as pd
import pytest
import torch

from meddl.errors import DataError, MeddlError, ModelFileError, NotFittedError
from meddl.survival import (
    DeepSurv,
    LinearCox,
    LogisticHazard,
    SurvivalEnsemble,
    SurvivalModel,
    cox_ph_loss,
    harrell_c_index,
    load_survival_model,
)

KINDS = ["DeepSurv", "LogisticHazard", "LinearCox"]


def test_deepsurv_learns_a_nonlinear_risk(fitted_models, test_data):
    x, time, event, eta = test_data
    deep = harrell_c_index(time, event, fitted_models["DeepSurv"].predict_risk(x))
    linear = harrell_c_index(time, event, fitted_models["LinearCox"].predict_risk(x))
    assert deep > 0.7
    # the risk is symmetric in x0, so a linear model cannot rank it: the network's advantage is real
    assert deep > linear + 0.15


def test_logistic_hazard_learns_a_nonlinear_risk(fitted_models, test_data):
    x, time, event, _ = test_data
    assert harrell_c_index(time, event, fitted_models["LogisticHazard"].predict_risk(x)) > 0.7


@pytest.mark.parametrize("kind", KINDS)
def test_survival_curves_start_at_one_and_never_increase(fitted_models, test_data, kind):
    model = fitted_models[kind]
    x = test_data[0][:50]
    times = np.r_[0.0, np.sort(np.random.default_rng(0).uniform(0, 5, 200))]
    curves = model.predict_survival(x, times)
    assert curves.shape == (50, times.size)
    np.testing.assert_array_equal(curves[:, 0], 1.0)
    assert np.all(np.diff(curves, axis=1) <= 1e-12)
    assert np.all((curves >= 0) & (curves <= 1))


@pytest.mark.parametrize("kind", KINDS)
def test_predict_at_is_one_minus_survival(fitted_models, test_data, kind):
    model, x = fitted_models[kind], test_data[0][:10]
    np.testing.assert_allclose(model.predict_at(x, [0.2, 1.0]), 1 - model.predict_survival(x, [0.2, 1.0]))


@pytest.mark.parametrize("kind", KINDS)
def test_median_is_where_the_curve_crosses_one_half(fitted_models, test_data, kind):
    model, x = fitted_models[kind], test_data[0][:40]
    median = model.predict_median(x)
    finite = np.isfinite(median)
    assert finite.sum() >= 10
    assert np.all(model.predict_survival(x[finite], median[finite]).diagonal() <= 0.5 + 1e-9)
    just_before = model.predict_survival(x[finite], median[finite] * (1 - 1e-6)).diagonal()
    assert np.all(just_before >= 0.5 - 1e-6)


def test_median_is_inf_when_the_curve_never_reaches_one_half():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 2))
    event = (rng.random(200) < 0.1).astype(int)  # 10% events, everyone else followed to t = 10:
    time = np.where(event == 1, rng.uniform(0, 10, 200), 10.0)  # survival stays near 0.9
    for model in (LinearCox(), LogisticHazard(n_intervals=5, hidden_units=(8,), epochs=5)):
        model.fit(x, time, event)
        assert np.all(np.isinf(model.predict_median(x[:5])))


def test_linear_cox_matches_lifelines_without_penalty():
    from lifelines import CoxPHFitter
    from sksurv.datasets import load_whas500

    x, y = load_whas500()
    frame = x[["age", "bmi", "hr", "sysbp"]].astype(float).iloc[:250].copy()
    time, event = y["lenfol"][:250], y["fstat"][:250].astype(int)
    model = LinearCox(l2=0.0).fit(frame, time, event)
    reference = CoxPHFitter(penalizer=0.0).fit(frame.assign(T=time, E=event), "T", "E").params_.to_numpy()
    # lifelines uses Efron's ties and Newton's method: agreement to 0.2% (Breslow's ties would differ by ~0.6%)
    np.testing.assert_allclose(model.coef_, reference, rtol=2e-3)


def test_linear_cox_ridge_shrinks_coefficients(train_data):
    x, time, event, _ = train_data
    free = np.abs(LinearCox(l2=0.0).fit(x, time, event).coef_).sum()
    assert np.abs(LinearCox(l2=1.0).fit(x, time, event).coef_).sum() < 0.8 * free


def test_early_stopping_restores_the_best_weights(fitted_models, train_data):
    model = fitted_models["DeepSurv"]
    history = model.history_.history
    assert "val_loss" in history and 1 <= model.best_epoch_ <= len(history["loss"])
    assert min(history["val_loss"]) == pytest.approx(history["val_loss"][model.best_epoch_ - 1])


def test_early_stopping_monitors_the_validation_c_index(train_data):
    x, time, event, _ = train_data
    model = DeepSurv(hidden_units=(8,), epochs=30, early_stopping_monitor="c_index", early_stopping_patience=3)
    model.fit(x, time, event, validation=(x[:150], time[:150], event[:150]))
    scores = model.history_.history["val_c_index"]
    assert len(scores) < 30 or max(scores) == scores[model.best_epoch_ - 1]
    assert scores[model.best_epoch_ - 1] == max(scores)
    # the restored weights give the best validation C-index
    assert harrell_c_index(time[:150], event[:150], model.predict_risk(x[:150])) == pytest.approx(max(scores))


def test_same_seed_same_model_and_other_seed_other_model(train_data):
    x, time, event, _ = train_data
    first = DeepSurv(hidden_units=(8,), epochs=3, seed=5).fit(x, time, event).predict_risk(x[:20])
    again = DeepSurv(hidden_units=(8,), epochs=3, seed=5).fit(x, time, event).predict_risk(x[:20])
    other = DeepSurv(hidden_units=(8,), epochs=3, seed=6).fit(x, time, event).predict_risk(x[:20])
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_options_batch_norm_full_batch_breslow_and_pandas_input(train_data):
    x, time, event, _ = train_data
    frame = pd.DataFrame(x, columns=list("abcd"))
    # 301 rows with batch 100 would leave a last batch of 1 (no risk set; batch norm fails): handled
    model = DeepSurv(hidden_units=(8,), batch_norm=True, epochs=2, batch_size=100, ties="breslow",
                     activation="selu", standardize=False).fit(frame.iloc[:301], time[:301], event[:301])
    assert model.predict_risk(frame.iloc[:5]).shape == (5,)
    full = DeepSurv(hidden_units=(8,), epochs=2, batch_size=None).fit(x, time, event)
    assert np.isfinite(full.predict_risk(x[:5])).all()


def test_every_model_is_a_survival_model(fitted_models):
    assert all(isinstance(model, SurvivalModel) for model in fitted_models.values())
    assert isinstance(DeepSurv(), SurvivalModel) and not hasattr(DeepSurv(), "network_")  # __init__ only stores


def test_validation_without_events_cannot_guide_early_stopping():
    with pytest.raises(DataError, match="validation data have no events"):
        DeepSurv(epochs=1).fit(X, T, E, validation=(X, T, np.zeros(20)))


def test_params_repr_and_set_params():
    model = DeepSurv(hidden_units=(16,), dropout=0.2)
    assert model.get_params()["hidden_units"] == (16,) and model.get_params()["seed"] == 0
    assert repr(model) == "DeepSurv(hidden_units=(16,), dropout=0.2)"
    assert model.set_params(epochs=7) is model and model.epochs == 7
    with pytest.raises(MeddlError, match="Invalid parameter 'epoch' for DeepSurv"):
        model.set_params(epoch=3)


# -- saving -------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_save_and_load_give_identical_predictions(fitted_models, test_data, tmp_path, kind):
    model, x = fitted_models[kind], test_data[0]
    model.save(tmp_path / "model")
    loaded = type(model).load(tmp_path / "model")
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    times = [0.0, 0.3, 1.0, 4.0]
    np.testing.assert_array_equal(loaded.predict_risk(x), model.predict_risk(x))
    np.testing.assert_array_equal(loaded.predict_survival(x, times), model.predict_survival(x, times))
    np.testing.assert_array_equal(loaded.predict_median(x), model.predict_median(x))
    assert not list(tmp_path.rglob("*.pkl")) and (tmp_path / "model" / "survival.json").is_file()


def test_loading_refuses_tampered_or_wrong_files(fitted_models, tmp_path):
    model = fitted_models["LinearCox"]
    model.save(tmp_path / "m")
    with pytest.raises(MeddlError, match="holds a LinearCox, not a DeepSurv"):
        DeepSurv.load(tmp_path / "m")
    arrays = tmp_path / "m" / "arrays.safetensors"
    arrays.write_bytes(arrays.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ModelFileError, match="checksum"):
        load_survival_model(tmp_path / "m")
    with pytest.raises(ModelFileError, match="No saved meddl survival model"):
        load_survival_model(tmp_path / "missing")


# -- ensembles ----------------------------------------------------------------------------------
def test_ensemble_of_identical_members_equals_one_member(train_data, test_data):
    x, time, event, _ = train_data
    x_test = test_data[0][:30]
    for base in (DeepSurv(hidden_units=(8,), epochs=3, seed=4),
                 LogisticHazard(n_intervals=6, hidden_units=(8,), epochs=3, seed=4)):
        single = type(base)(**base.get_params()).fit(x, time, event)
        ensemble = SurvivalEnsemble(base, seeds=[4, 4, 4]).fit(x, time, event)
        np.testing.assert_allclose(ensemble.predict_risk(x_test), single.predict_risk(x_test), rtol=1e-12)
        np.testing.assert_allclose(ensemble.predict_survival(x_test, [0.1, 0.5, 2.0]),
                                   single.predict_survival(x_test, [0.1, 0.5, 2.0]), rtol=1e-12)
        np.testing.assert_allclose(ensemble.predict_median(x_test), single.predict_median(x_test), rtol=1e-9)
        interval = ensemble.predict_interval(x_test, horizons=[0.5])
        for part in ("risk", "survival", "median"):
            np.testing.assert_allclose(interval[part]["lower"], interval[part]["upper"], rtol=1e-12)
        np.testing.assert_allclose(interval["survival"]["mean"], single.predict_survival(x_test, [0.5]), rtol=1e-12)


def test_ensemble_interval_brackets_the_mean_and_round_trips(train_data, tmp_path):
    x, time, event, _ = train_data
    ensemble = SurvivalEnsemble(DeepSurv(hidden_units=(8,), epochs=3), n_members=3).fit(x, time, event)
    assert [m.seed for m in ensemble.members_] == [0, 1, 2]
    interval = ensemble.predict_interval(x[:20], horizons=[0.3, 1.0])
    for part in ("risk", "survival"):
        assert np.all(interval[part]["lower"] <= interval[part]["mean"] + 1e-12)
        assert np.all(interval[part]["mean"] <= interval[part]["upper"] + 1e-12)
    assert np.any(interval["risk"]["upper"] > interval["risk"]["lower"])
    ensemble.save(tmp_path / "ens")
    loaded = SurvivalEnsemble.load(tmp_path / "ens")
    np.testing.assert_array_equal(loaded.predict_risk(x[:20]), ensemble.predict_risk(x[:20]))
    assert loaded.n_features_in_ == 4


def test_ensemble_errors():
    with pytest.raises(MeddlError, match="'base' parameter of SurvivalEnsemble must be a meddl survival model"):
        SurvivalEnsemble("deepsurv").fit(np.zeros((4, 1)), np.ones(4), np.ones(4))
    with pytest.raises(MeddlError, match="'n_members'.*Got 0"):
        SurvivalEnsemble(DeepSurv(), n_members=0).fit(np.zeros((4, 1)), np.ones(4), np.ones(4))
    with pytest.raises(MeddlError, match="'seeds'"):
        SurvivalEnsemble(DeepSurv(), seeds=[-1]).fit(np.zeros((4, 1)), np.ones(4), np.ones(4))
    with pytest.raises(NotFittedError, match="Call fit"):
        SurvivalEnsemble(DeepSurv()).predict_risk(np.zeros((2, 1)))


# -- bad inputs -----------------------------------------------------------------------------------
X = np.random.default_rng(0).normal(size=(20, 3))
T = np.linspace(1, 20, 20)
E = np.tile([1, 0], 10)


@pytest.mark.parametrize("args, error, message", [
    ((X[:, 0], T, E), DataError, "'x' must be a 2-D array .* got a 1-D array"),
    ((X, T[:19], E), DataError, "one entry per row of 'x' \\(20\\); got 19"),
    ((X, T, E[:19]), DataError, "same number of samples; got 20 and 19"),
    ((X, -T, E), DataError, "'duration' must be non-negative times; got 20 negative values"),
    ((X, T, np.tile([1, 2], 10)), DataError,
     "'event' must hold 1 for an event and 0 for censoring; got the codes \\[2\\]"),
    ((X, T, np.zeros(20)), DataError, "all samples are censored"),
    ((np.where(X > 1, np.nan, X), T, E), DataError, "'x' contains .* NaN"),
    ((X, np.r_[np.inf, T[1:]], E), DataError, "'duration' contains 1 NaN or infinite"),
    ((X.astype(str), T, E), DataError, "'x' must be numeric"),
])
def test_fit_rejects_bad_inputs(args, error, message):
    with pytest.raises(error, match=message):
        DeepSurv(epochs=1).fit(*args)


@pytest.mark.parametrize("model, message", [
    (DeepSurv(dropout=1.5), "The 'dropout' parameter of DeepSurv must be a float in the range \\[0, 1\\). Got 1.5"),
    (DeepSurv(hidden_units="64"), "'hidden_units' parameter of DeepSurv must be a tuple of positive integers"),
    (DeepSurv(activation="rleu"), "'activation' parameter of DeepSurv must be one of 'relu'"),
    (DeepSurv(epochs=0), "'epochs' parameter of DeepSurv must be an int in the range \\[1, inf\\)"),
    (DeepSurv(batch_size=2.5), "'batch_size' parameter of DeepSurv must be an int .* or None"),
    (LinearCox(l2=-1.0), "'l2' parameter of LinearCox must be a float in the range \\[0, inf\\). Got -1.0"),
    (LogisticHazard(n_intervals=0), "'n_intervals' parameter of LogisticHazard must be an int"),
    (DeepSurv(ties="exact"), "'ties' parameter of DeepSurv must be one of 'efron', 'breslow'"),
])
def test_bad_parameters_are_reported_at_fit(model, message):
    with pytest.raises(MeddlError, match=message):
        model.fit(X, T, E)


def test_validation_argument_errors():
    with pytest.raises(MeddlError, match="'validation' fraction must be in \\(0, 1\\). Got 1.5"):
        DeepSurv(epochs=1).fit(X, T, E, validation=1.5)
    with pytest.raises(MeddlError, match="'validation' argument must be None, a fraction"):
        DeepSurv(epochs=1).fit(X, T, E, validation="20%")
    with pytest.raises(DataError, match="'validation\\[0\\]' has 2 features, but the model is expecting 3"):
        DeepSurv(epochs=1).fit(X, T, E, validation=(X[:, :2], T, E))


def test_prediction_errors(fitted_models):
    with pytest.raises(NotFittedError, match="not fitted yet. Call fit\\(x, duration, event\\) before predict_risk"):
        DeepSurv().predict_risk(X)
    model = fitted_models["DeepSurv"]
    with pytest.raises(DataError, match="'x' has 3 features, but the model is expecting 4 features"):
        model.predict_risk(X)
    with pytest.raises(DataError, match="'times' must be non-negative"):
        model.predict_survival(np.zeros((2, 4)), [-1.0, 2.0])
    with pytest.raises(DataError, match="'horizons' must be a non-empty 1-D array"):
        model.predict_at(np.zeros((2, 4)), [])


def test_trained_network_is_a_meddl_sequential_with_the_cox_loss(fitted_models, train_data):
    from meddl import Sequential

    model = fitted_models["DeepSurv"]
    assert isinstance(model.network_, Sequential) and model.network_.output_shape == (None, 1)
    x, time, event, _ = train_data
    scaled = torch.tensor((x - model.mean_) / model.scale_, dtype=torch.float32)
    log_risk = model.network_.predict_tensor(scaled)[:, 0].double().numpy()
    np.testing.assert_allclose(model.predict_risk(x), log_risk, rtol=1e-12)
    loss = cox_ph_loss(torch.tensor(log_risk), torch.tensor(time), torch.tensor(event, dtype=torch.float64))
    assert float(loss) < float(cox_ph_loss(torch.zeros(len(time)), torch.tensor(time), torch.tensor(event)))
