import numpy as np
import pandas as pd
import pytest

from meddl.data import BUILTIN_DATASETS, TabularPreprocessor, builtin_key, load_builtin
from meddl.errors import ConfigError

SURVIVAL = ["gbsg2", "whas500", "veterans-lung-cancer", "aids", "flchain"]


def test_wisconsin_keeps_sklearn_label_coding():
    data = load_builtin("wisconsin-breast-cancer")
    assert data.task == "classification" and data.label_column == "diagnosis"
    assert data.class_names == ["malignant", "benign"]
    frame = data.frame
    assert frame.shape == (569, 31) and frame["diagnosis"].dtype == np.int64
    assert (frame["diagnosis"] == 0).sum() == 212  # 212 malignant, 357 benign
    assert "diagnosis" not in data.feature_columns and len(data.feature_columns) == 30


def test_diabetes_is_unscaled_with_progression_target():
    data = load_builtin("diabetes-progression")
    assert data.task == "regression" and data.label_column == "progression"
    assert data.frame["age"].max() > 1  # original units, not sklearn's scaled version
    assert data.frame.shape == (442, 11)


@pytest.mark.parametrize("name", SURVIVAL)
def test_survival_sets_have_duration_event_and_string_categoricals(name):
    data = load_builtin(name)
    frame = data.frame
    assert data.task == "survival" and (data.duration_column, data.event_column) == ("duration", "event")
    assert frame["duration"].dtype == np.float64 and (frame["duration"] >= 0).all()
    assert set(frame["event"].unique()) <= {0, 1} and frame["event"].sum() > 0
    assert not any(isinstance(dtype, pd.CategoricalDtype) for dtype in frame.dtypes)
    assert set(data.feature_columns) == set(frame.columns) - {"duration", "event"}
    for column in frame.select_dtypes(include="object").columns:
        assert frame[column].dropna().map(type).eq(str).all()


def test_survival_string_codes_are_one_hot_encoded_by_the_preprocessor():
    data = load_builtin("aids")
    prep = TabularPreprocessor().fit(data.frame[data.feature_columns])
    assert "raceth" in prep.categorical_columns_ and "age" in prep.numeric_columns_


def test_flchain_drops_the_leaky_cause_of_death_column():
    frame = load_builtin("flchain").frame
    assert "chapter" not in frame.columns
    assert frame["creatinine"].isna().any()  # genuine missing values are kept as NaN


def test_gbsg2_values():
    frame = load_builtin("GBSG2").frame
    assert len(frame) == 686 and set(frame["horTh"]) == {"no", "yes"}


def test_names_are_forgiving_and_unknown_names_suggest():
    assert load_builtin("veterans_lung_cancer").name == "veterans-lung-cancer"
    with pytest.raises(ConfigError, match="Unknown built-in dataset 'gbsg'.*Did you mean 'gbsg2'"):
        load_builtin("gbsg")
    with pytest.raises(ConfigError, match="must be a string"):
        load_builtin(3)
    assert set(SURVIVAL) < set(BUILTIN_DATASETS)


def test_builtin_key_forgives_case_and_underscores_and_names_the_key_it_was_given():
    assert builtin_key(" WHAS500 ") == "whas500" and builtin_key("Veterans_Lung_Cancer") == "veterans-lung-cancer"
    with pytest.raises(ConfigError, match=r"Unknown built-in dataset \(data.name\) 'gbsg'.*Did you mean 'gbsg2'"):
        builtin_key("gbsg", "built-in dataset (data.name)")
