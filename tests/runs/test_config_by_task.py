"""Config by task: each task checks its own sections; model options are typed per model; one ensemble setting."""

from __future__ import annotations

import pytest

import meddl
from meddl.errors import ConfigError
from meddl.runs.diagnosis import DiagnosisConfig, RegressionConfig
from meddl.runs.survival import SurvivalConfig
from meddl.runs.treatment import TreatmentConfig

SURVIVAL = {"task": "survival", "data": {"source": "builtin", "name": "gbsg2"}}
TREATMENT = {"task": "treatment", "data": {"source": "csv", "path": "trial.csv", "treatment": "t", "outcome": "y"}}
DIAGNOSIS = {"task": "diagnosis", "data": {"source": "csv", "path": "p.csv", "label": "dx"}}


def test_each_task_gets_its_own_config_class():
    assert isinstance(meddl.load_config(DIAGNOSIS), DiagnosisConfig)
    assert isinstance(meddl.load_config({**DIAGNOSIS, "task": "regression"}), RegressionConfig)
    assert isinstance(meddl.load_config(SURVIVAL), SurvivalConfig)
    assert isinstance(meddl.load_config(TREATMENT), TreatmentConfig)


def test_a_key_of_another_task_is_refused_with_the_dotted_key():
    with pytest.raises(ConfigError, match="data.treatment: unknown key"):
        meddl.load_config({**DIAGNOSIS, "data": {**DIAGNOSIS["data"], "treatment": "t"}})
    with pytest.raises(ConfigError, match="evaluation.horizons: unknown key"):
        meddl.load_config({**DIAGNOSIS, "evaluation": {"horizons": [365]}})
    with pytest.raises(ConfigError, match="evaluation.threshold: unknown key"):
        meddl.load_config({**SURVIVAL, "evaluation": {"threshold": {"method": "youden"}}})


def test_unknown_or_wrong_model_options_fail_at_load_naming_the_valid_keys():
    with pytest.raises(ConfigError, match=r"model.options: unknown key 'hidden' for model 'deepsurv'.*"
                                          r"Valid keys: hidden_units, dropout"):
        meddl.load_config({**SURVIVAL, "model": {"preset": "deepsurv", "options": {"hidden": -3}}})
    with pytest.raises(ConfigError, match="model.options: unknown key 'bogus' for model 'cfrnet'"):
        meddl.load_config({**TREATMENT, "model": {"preset": "cfrnet", "options": {"bogus": 1}}})
    with pytest.raises(ConfigError, match=r"model.options.units: .*positive layer widths"):
        meddl.load_config({**DIAGNOSIS, "model": {"options": {"units": [64, -3]}}})
    with pytest.raises(ConfigError, match="model.options.bogus: unknown key.*Valid keys: units, width, dropout"):
        meddl.load_config({**DIAGNOSIS, "model": {"options": {"bogus": 1}}})
    with pytest.raises(ConfigError, match=r"'learning_rate': .*(got 'fast')"):
        meddl.load_config({**SURVIVAL, "model": {"preset": "logistic_hazard", "options": {"learning_rate": "fast"}}})


def test_valid_model_options_are_kept():
    config = meddl.load_config({**SURVIVAL, "model": {"preset": "deepsurv", "options": {"hidden_units": [32],
                                                                                    "dropout": 0.2}}})
    assert config.model.options == {"hidden_units": [32], "dropout": 0.2}


def test_one_ensemble_setting_with_each_tasks_default():
    assert meddl.load_config(DIAGNOSIS).ensemble_members == 1
    assert meddl.load_config(SURVIVAL).ensemble_members == 5
    assert meddl.load_config(TREATMENT).ensemble_members == 5
    assert meddl.load_config({**SURVIVAL, "training": {"ensemble": 2}}).ensemble_members == 2
    assert meddl.load_config(SURVIVAL).to_dict()["training"]["ensemble"] == 5  # spelled out in config.yaml


def test_the_old_place_of_the_ensemble_setting_still_works_with_a_message():
    with pytest.warns(FutureWarning, match="model.options.ensemble is deprecated; it is now training.ensemble"):
        config = meddl.load_config({**SURVIVAL, "model": {"preset": "deepsurv", "options": {"ensemble": 3}}})
    assert config.ensemble_members == 3 and "ensemble" not in config.model.options


def test_images_are_for_diagnosis_only():
    with pytest.raises(ConfigError, match="holds images, which meddl supports for task 'diagnosis' only"):
        meddl.load_config({"task": "regression", "data": {"source": "medmnist", "path": "x.npz"}})
    with pytest.raises(ConfigError, match="data.source: Input should be 'csv', 'parquet', 'builtin' or 'deepsurv_h5'"):
        meddl.load_config({**SURVIVAL, "data": {"source": "medmnist", "path": "x.npz"}})
