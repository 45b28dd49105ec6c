"""TARNet, CFRNet and Dragonnet recover a known effect; save/load; the ensemble's interval."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from conftest import SMALL_NETWORK, make_dataset, no_skill_pehe, one_torch_thread

from meddl.errors import DataError, ModelFileError, NotFittedError
from meddl.treatment import CFRNet, Dragonnet, EffectEnsemble, TARNet, load, sqrt_pehe

ESTIMATORS = {
    "tarnet": lambda: TARNet(**SMALL_NETWORK),
    "cfr_wasserstein": lambda: CFRNet(ipm="wasserstein", alpha=0.3, **SMALL_NETWORK),
    "cfr_mmd": lambda: CFRNet(ipm="mmd", alpha=0.3, **SMALL_NETWORK),
    "cfr_mmd_linear": lambda: CFRNet(ipm="mmd_linear", alpha=0.3, **SMALL_NETWORK),
    "dragonnet": lambda: Dragonnet(**SMALL_NETWORK),
}


@pytest.fixture(scope="session")
def fitted(dataset):
    with one_torch_thread():
        return {name: make().fit(dataset["x"], dataset["t"], dataset["y"]) for name, make in ESTIMATORS.items()}


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_recovers_known_effect(fitted, test_dataset, name):
    model = fitted[name]
    error = sqrt_pehe(test_dataset["tau"], model.predict_effect(test_dataset["x"]))
    # The no-skill baseline (the true ATE for everyone) has √PEHE ≈ 2; a working estimator is far below.
    assert error < 0.35 * no_skill_pehe(test_dataset), (name, error)
    outcomes = model.predict_outcomes(test_dataset["x"])
    assert outcomes.shape == (len(test_dataset["x"]), 2)
    np.testing.assert_allclose(outcomes[:, 1] - outcomes[:, 0], model.predict_effect(test_dataset["x"]))
    # Outcomes are on the original scale (not the internal standardised one).
    assert abs(outcomes[:, 0].mean() - test_dataset["mu0"].mean()) < 0.3


def test_fitted_attributes(fitted, dataset):
    model = fitted["tarnet"]
    assert model.n_features_in_ == dataset["x"].shape[1]
    assert model.outcome_type_ == "continuous"
    assert 1 <= model.best_epoch_ <= len(model.history_.epoch)
    assert "val_factual_loss" in model.history_.history
    # Early stopping restored the epoch with the lowest validation factual loss.
    losses = model.history_.history["val_factual_loss"]
    assert int(np.argmin(losses)) + 1 == model.best_epoch_


def test_binary_outcome_gives_probabilities_and_risk_differences():
    data, new = make_dataset(800, seed=3, binary=True), make_dataset(400, seed=4, binary=True)
    model = TARNet(**SMALL_NETWORK).fit(data["x"], data["t"], data["y"])
    assert model.outcome_type_ == "binary"
    outcomes = model.predict_outcomes(new["x"])
    assert ((outcomes > 0) & (outcomes < 1)).all()
    assert sqrt_pehe(new["tau"], model.predict_effect(new["x"])) < 0.7 * no_skill_pehe(new)


def test_dragonnet_propensity_head_tracks_the_true_propensity(fitted, test_dataset):
    estimate = fitted["dragonnet"].predict_propensity(test_dataset["x"])
    assert np.corrcoef(estimate, test_dataset["propensity"])[0, 1] > 0.9


def test_same_seed_same_predictions(dataset):
    small = {**SMALL_NETWORK, "max_epochs": 5}
    first = TARNet(**small).fit(dataset["x"], dataset["t"], dataset["y"]).predict_effect(dataset["x"][:20])
    second = TARNet(**small).fit(dataset["x"], dataset["t"], dataset["y"]).predict_effect(dataset["x"][:20])
    np.testing.assert_array_equal(first, second)


def test_validation_fraction_zero_trains_all_epochs(dataset):
    model = TARNet(**{**SMALL_NETWORK, "max_epochs": 3, "validation_fraction": 0.0})
    model.fit(dataset["x"], dataset["t"], dataset["y"])
    assert len(model.history_.epoch) == 3 and model.best_epoch_ == 3


@pytest.mark.parametrize("name", ["tarnet", "cfr_wasserstein", "dragonnet"])
def test_save_load_identical_predictions(fitted, test_dataset, tmp_path, name):
    model = fitted[name]
    model.save(tmp_path / name, metadata={"note": "test"})
    loaded = load(tmp_path / name)
    assert type(loaded) is type(model)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_outcomes(test_dataset["x"]), model.predict_outcomes(test_dataset["x"]))
    if name == "dragonnet":
        np.testing.assert_array_equal(loaded.predict_propensity(test_dataset["x"]),
                                      model.predict_propensity(test_dataset["x"]))
    assert loaded.metadata == {"note": "test"}
    assert type(model).load(tmp_path / name).n_features_in_ == model.n_features_in_


def test_load_refuses_tampered_weights_and_wrong_class(fitted, tmp_path):
    fitted["tarnet"].save(tmp_path / "model")
    with pytest.raises(ModelFileError, match="holds a TARNet, not a CFRNet"):
        CFRNet.load(tmp_path / "model")
    weights = tmp_path / "model" / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-8])
    with pytest.raises(ModelFileError, match="does not match the checksum"):
        load(tmp_path / "model")
    with pytest.raises(ModelFileError, match="No saved treatment estimator"):
        load(tmp_path / "missing")


def test_not_fitted_errors():
    with pytest.raises(NotFittedError, match=r"not fitted yet. Call fit\(x, t, y\) first"):
        TARNet().predict_effect(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        TARNet().save("never-written")


def test_ensemble_mean_interval_and_save(dataset, test_dataset, tmp_path):
    base = TARNet(**{**SMALL_NETWORK, "max_epochs": 40})
    ensemble = EffectEnsemble(base, n_members=3, random_state=0).fit(dataset["x"], dataset["t"], dataset["y"])
    members = np.stack([m.predict_effect(test_dataset["x"]) for m in ensemble.estimators_])
    assert len({m.random_state for m in ensemble.estimators_}) == 3
    np.testing.assert_allclose(ensemble.predict_effect(test_dataset["x"]), members.mean(axis=0))
    interval = ensemble.predict_effect_interval(test_dataset["x"])
    np.testing.assert_allclose(interval, np.percentile(members, [2.5, 97.5], axis=0).T)
    assert (interval[:, 0] <= ensemble.predict_effect(test_dataset["x"])).all()
    assert sqrt_pehe(test_dataset["tau"], ensemble.predict_effect(test_dataset["x"])) < 0.35 * no_skill_pehe(test_dataset)
    ensemble.save(tmp_path / "ensemble")
    loaded = EffectEnsemble.load(tmp_path / "ensemble")
    np.testing.assert_array_equal(loaded.predict_effect_interval(test_dataset["x"]), interval)
    with pytest.raises(Exception, match="has no propensity head"):
        ensemble.predict_propensity(test_dataset["x"])


def test_validation_data_early_stops_on_the_given_rows(dataset, test_dataset):
    small = {**SMALL_NETWORK, "max_epochs": 30, "patience": 3, "balance_arms": False}
    validation = (test_dataset["x"], test_dataset["t"], test_dataset["y"])
    model = TARNet(**small).fit(dataset["x"], dataset["t"], dataset["y"], validation_data=validation)
    # The restored weights are those of the lowest factual loss on the given rows (standardised outcome units).
    outcomes = model.predict_outcomes(test_dataset["x"])
    factual = np.where(test_dataset["t"] == 1, outcomes[:, 1], outcomes[:, 0])
    loss = np.mean(((factual - test_dataset["y"]) / model.y_scale_) ** 2)
    np.testing.assert_allclose(loss, min(model.history_.history["val_factual_loss"]), rtol=1e-4)
    # validation_fraction does not apply: all of x trains, whatever the fraction.
    other = TARNet(**{**small, "validation_fraction": 0.9}).fit(dataset["x"], dataset["t"], dataset["y"],
                                                               validation_data=validation)
    np.testing.assert_array_equal(other.predict_effect(test_dataset["x"]), model.predict_effect(test_dataset["x"]))


def test_validation_data_errors_name_the_argument(dataset):
    x, t, y = dataset["x"], dataset["t"], dataset["y"]
    with pytest.raises(DataError, match=r"'validation_data' of TARNet.fit must be a tuple \(x_val, t_val, y_val\); "
                                        r"got tuple of length 2"):
        TARNet(**SMALL_NETWORK).fit(x, t, y, validation_data=(x, t))
    with pytest.raises(DataError, match=r"'validation_data\[0\]' has 1 features; 'x' has"):
        TARNet(**SMALL_NETWORK).fit(x, t, y, validation_data=(x[:, :1], t, y))
    with pytest.raises(DataError, match=r"'validation_data\[2\]' must be 1-D"):
        TARNet(**SMALL_NETWORK).fit(x, t, y, validation_data=(x, t, np.column_stack([y, y])))
    binary = (y > np.median(y)).astype(float)
    with pytest.raises(DataError, match=r"'validation_data\[2\]' must be coded 0/1 like 'y'"):
        TARNet(**SMALL_NETWORK).fit(x, t, binary, validation_data=(x, t, y))


def test_ensemble_passes_validation_data_to_every_member(dataset, test_dataset):
    base = TARNet(**{**SMALL_NETWORK, "max_epochs": 5})
    validation = (test_dataset["x"], test_dataset["t"], test_dataset["y"])
    ensemble = EffectEnsemble(base, n_members=2, random_state=0).fit(dataset["x"], dataset["t"], dataset["y"],
                                                                     validation_data=validation)
    for seed, member in enumerate(ensemble.estimators_):
        alone = clone(base).set_params(random_state=seed).fit(dataset["x"], dataset["t"], dataset["y"],
                                                              validation_data=validation)
        np.testing.assert_array_equal(member.predict_effect(test_dataset["x"]), alone.predict_effect(test_dataset["x"]))


def test_validation_rows_of_one_arm_are_weighted_by_the_training_share(dataset, test_dataset):
    treated = test_dataset["t"] == 1
    validation = (test_dataset["x"][treated], test_dataset["t"][treated], test_dataset["y"][treated])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by a treated share of 1
        model = TARNet(**{**SMALL_NETWORK, "max_epochs": 5}).fit(dataset["x"], dataset["t"], dataset["y"],
                                                                 validation_data=validation)
    assert np.isfinite(model.history_.history["val_factual_loss"]).all()
