"""Tuning survival and treatment configs: one short trial each, scored on validation rows."""

import numpy as np
import pandas as pd
import pytest

from meddl.studies.tuning import run_search


def test_survival_search_scores_validation_c_index():
    config = {"task": "survival", "data": {"source": "builtin", "name": "gbsg2"},
              "training": {"epochs": 4},
              "tune": {"cv_folds": 0,  # the validation split: one fit of at most 4 epochs
                       "space": {"model.preset": "deepsurv", "training.ensemble": 1, "model.depth": 1}}}
    study = run_search(config, trials=1)
    [trial] = study.trials
    assert study.direction.name == "MAXIMIZE" and 0.4 < trial.value < 0.9
    assert 1 <= trial.user_attrs["epochs_trained"] <= 4


@pytest.fixture
def treatment_table(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    t = (rng.random(300) < 0.5).astype(int)
    y = x[:, 0] + t * (1.0 + x[:, 1]) + rng.normal(scale=0.5, size=300)
    path = tmp_path / "treatment.csv"
    pd.DataFrame(x, columns=["a", "b", "c"]).assign(treated=t, outcome=y).to_csv(path, index=False)
    return path


def test_treatment_search_minimises_matched_effect_error(treatment_table):
    """The default objective is PEHE_nn (effects against nearest-neighbour matches); factual RMSE is an option."""
    config = {"task": "treatment",
              "data": {"source": "csv", "path": str(treatment_table), "treatment": "treated", "outcome": "outcome"},
              "training": {"epochs": 5},
              "tune": {"space": {"model.preset": "tarnet", "training.ensemble": 1, "model.depth": 1}}}
    study = run_search(config, trials=1)
    [trial] = study.trials
    assert study.direction.name == "MINIMIZE" and study.user_attrs["metric"] == "pehe_nn"
    assert 0 < trial.value < 5
    factual = run_search({**config, "tune": {**config["tune"], "metric": "factual_rmse"}}, trials=1)
    assert factual.user_attrs["metric"] == "factual_rmse" and factual.trials[0].value != trial.value


def test_effect_and_survival_metrics_accept_no_resamples():
    """Tuning trials ask for point values only (n_resamples=0); the CI is then None, not a crash."""
    from meddl.treatment import effect_metrics

    rng = np.random.default_rng(0)
    truth = rng.normal(size=50)
    result = effect_metrics(truth, truth + rng.normal(scale=0.1, size=50), n_resamples=0)
    assert result["sqrt_pehe"]["ci95"] is None and 0 < result["sqrt_pehe"]["value"] < 0.3
