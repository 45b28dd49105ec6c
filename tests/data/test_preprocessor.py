import json

import numpy as np
import pandas as pd
import pytest

from meddl.data import TabularPreprocessor
from meddl.errors import ConfigError, DataError, ModelFileError, NotFittedError


@pytest.fixture
def train():
    return pd.DataFrame(
        {
            "age": [50.0, 60.0, np.nan, 70.0, 80.0],
            "sex": ["m", "f", "f", None, "f"],
            "grade": [1, 2, 3, 2, 1],  # integer codes: numeric unless listed
            "smoker": [True, False, True, True, False],
            "weight": [70.0, 80.0, 90.0, 100.0, 110.0],
        }
    )


def test_init_only_stores_arguments():
    numeric = ["age"]
    prep = TabularPreprocessor(numeric, None, impute="not checked yet", scale=False)
    assert prep.numeric is numeric and prep.impute == "not checked yet" and prep.scale is False
    assert not hasattr(prep, "feature_names_out_")


def test_auto_detection_feature_names_and_source_columns(train):
    prep = TabularPreprocessor()
    assert prep.fit(train) is prep
    assert prep.numeric_columns_ == ["age", "grade", "weight"]
    assert prep.categorical_columns_ == ["sex", "smoker"]
    assert prep.input_columns_ == ["age", "grade", "weight", "sex", "smoker"]
    assert prep.feature_names_out_ == [
        "age", "grade", "weight", "sex=f", "sex=m", "smoker=False", "smoker=True", "age_missing", "sex_missing",
    ]
    assert prep.source_columns_ == ["age", "grade", "weight", "sex", "sex", "smoker", "smoker", "age", "sex"]
    assert prep.n_features_out_ == 9


def test_listed_categorical_integer_codes_are_one_hot(train):
    prep = TabularPreprocessor(categorical=["grade"]).fit(train)
    assert "grade" not in prep.numeric_columns_
    assert [n for n in prep.feature_names_out_ if n.startswith("grade")] == ["grade=1", "grade=2", "grade=3"]
    # with only `categorical` given, numeric columns are still auto-detected
    assert prep.numeric_columns_ == ["age", "weight"]


def test_both_lists_select_exactly_those_columns(train):
    prep = TabularPreprocessor(numeric=["weight"], categorical=[]).fit(train)
    assert prep.feature_names_out_ == ["weight"]


def test_statistics_come_from_the_training_split_only(train):
    prep = TabularPreprocessor().fit(train)
    assert prep.medians_["age"] == 65.0
    assert prep.most_frequent_["sex"] == "f"
    test = pd.DataFrame({"age": [np.nan, 1000.0], "sex": [None, "m"], "grade": [1, 1],
                         "smoker": [False, True], "weight": [90.0, 90.0]})
    out = prep.transform(test)
    names = prep.feature_names_out_
    filled_age = np.array([50, 60, 65, 70, 80], dtype=float)
    expected_age = (np.array([65.0, 1000.0]) - filled_age.mean()) / filled_age.std()
    np.testing.assert_allclose(out[:, names.index("age")], expected_age, rtol=1e-6)
    np.testing.assert_array_equal(out[:, names.index("age_missing")], [1, 0])
    np.testing.assert_array_equal(out[:, names.index("sex=f")], [1, 0])  # imputed with training mode
    np.testing.assert_array_equal(out[:, names.index("sex_missing")], [1, 0])


def test_training_output_is_standardised_and_float32(train):
    out = TabularPreprocessor().fit_transform(train)
    assert out.dtype == np.float32 and out.shape == (5, 9)
    np.testing.assert_allclose(out[:, :3].mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(out[:, :3].std(axis=0), 1, atol=1e-6)


def test_scale_and_indicator_switches(train):
    prep = TabularPreprocessor(scale=False, add_missing_indicators=False).fit(train)
    assert not any(n.endswith("_missing") for n in prep.feature_names_out_)
    np.testing.assert_array_equal(prep.transform(train)[:, 0], [50, 60, 65, 70, 80])


def test_missing_value_in_a_column_that_had_none_in_training_is_imputed_without_indicator(train):
    prep = TabularPreprocessor().fit(train)
    out = prep.transform(train.assign(weight=[np.nan] * 5))
    assert not np.isnan(out).any()
    assert "weight_missing" not in prep.feature_names_out_


def test_constant_column_is_centred_not_divided_by_zero():
    out = TabularPreprocessor().fit_transform(pd.DataFrame({"c": [3.0, 3.0, 3.0]}))
    np.testing.assert_array_equal(out, np.zeros((3, 1), dtype=np.float32))


def test_columns_are_matched_by_name_in_any_order_and_extras_ignored(train):
    prep = TabularPreprocessor().fit(train)
    shuffled = train[["weight", "smoker", "sex", "grade", "age"]].assign(patient_id=range(5))
    np.testing.assert_array_equal(prep.transform(shuffled), prep.transform(train))


def test_category_levels_are_normalised_across_int_float_and_text():
    prep = TabularPreprocessor(categorical=["stage"]).fit(pd.DataFrame({"stage": [1, 2, 2]}))
    out = prep.transform(pd.DataFrame({"stage": [1.0, "2", np.nan]}))
    np.testing.assert_array_equal(out[:, :2], [[1, 0], [0, 1], [0, 1]])


def test_round_trip_through_json_gives_identical_transforms(train):
    prep = TabularPreprocessor(categorical=["grade"]).fit(train)
    data = json.loads(json.dumps(prep.to_dict()))  # must be pure JSON, no numpy types
    restored = TabularPreprocessor.from_dict(data)
    new = train.iloc[[4, 0, 2]].assign(age=[np.nan, 33.3, 99.0])
    np.testing.assert_array_equal(restored.transform(new), prep.transform(new))
    assert restored.feature_names_out_ == prep.feature_names_out_
    assert restored.source_columns_ == prep.source_columns_
    assert restored.get_params() == prep.get_params()


def test_unfitted_round_trip_keeps_parameters():
    restored = TabularPreprocessor.from_dict(TabularPreprocessor(numeric=["a"], scale=False).to_dict())
    assert restored.numeric == ["a"] and restored.scale is False
    with pytest.raises(NotFittedError, match="Call 'fit' with the training data first"):
        restored.transform(pd.DataFrame({"a": [1]}))


@pytest.mark.parametrize(
    "data, message",
    [
        ({"type": "Other"}, "Not a saved TabularPreprocessor"),
        ({"type": "TabularPreprocessor", "format_version": 99}, "format_version 99"),
        ({"type": "TabularPreprocessor", "format_version": 1, "params": {"bogus": 1}}, "invalid 'params'"),
        ({"type": "TabularPreprocessor", "format_version": 1, "params": {}, "fitted": {"medians": {}}}, "incomplete"),
    ],
)
def test_from_dict_refuses_broken_state(data, message):
    with pytest.raises(ModelFileError, match=message):
        TabularPreprocessor.from_dict(data)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda f: f["medians"].pop("age"), "KeyError"),
        (lambda f: f["scales"].update(age="wide"), "could not convert string to float"),
        (lambda f: f["means"].update(age=float("nan")), "means\\['age'\\] is not a finite number"),
        (lambda f: f["categories"].pop("sex"), "no categories saved for \\['sex'\\]"),
        (lambda f: f["source_columns"].pop(), "differ in length"),
    ],
)
def test_from_dict_refuses_inconsistent_fitted_state(train, corrupt, message):
    data = TabularPreprocessor().fit(train).to_dict()
    corrupt(data["fitted"])
    with pytest.raises(ModelFileError, match=f"inconsistent: .*{message}"):
        TabularPreprocessor.from_dict(data)


def test_missing_column_at_transform_is_named(train):
    prep = TabularPreprocessor().fit(train)
    with pytest.raises(DataError, match=r"Columns \['age'\] were used to fit .* not in the table"):
        prep.transform(train.drop(columns="age"))


def test_unseen_category_names_column_input_value_rows_and_counts_known_levels_without_listing_them(train):
    prep = TabularPreprocessor().fit(train)
    with pytest.raises(DataError, match=r"Column 'sex' has categories not seen in training: 'x' \(at row 1\)\. "
                                        r"The model knows 2 categories of this column \(not listed") as error:
        prep.transform(train.assign(sex=["m", "x", "f", "f", "f"]))
    assert "'f'" not in str(error.value)  # a training value, never printed


def test_text_in_a_numeric_column_names_column_values_and_rows(train):
    prep = TabularPreprocessor().fit(train)
    bad = train.assign(age=["50", "abc", "61", "n/a?", "70"])
    with pytest.raises(DataError, match=r"Column 'age' must be numeric but has non-numeric values 'abc', 'n/a\?' "
                                        r"at rows 1, 3"):
        prep.transform(bad)


def test_infinite_values_are_refused(train):
    with pytest.raises(DataError, match=r"Column 'weight' has infinite values at row 2"):
        TabularPreprocessor().fit(train.assign(weight=[1.0, 2.0, np.inf, 3.0, 4.0]))


def test_impute_false_refuses_missing_values(train):
    with pytest.raises(DataError, match=r"Column 'age' has 1 missing values \(row 2\) and impute=False"):
        TabularPreprocessor(impute=False).fit(train)


def test_all_missing_training_column_is_refused():
    with pytest.raises(DataError, match="Column 'x' has no values in the training data"):
        TabularPreprocessor().fit(pd.DataFrame({"x": [np.nan, np.nan]}))


def test_not_fitted_error():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        TabularPreprocessor().transform(pd.DataFrame({"a": [1]}))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"numeric": "age"}, r"must be a list of column names or None. Got the string 'age'; did you mean \['age'\]"),
        ({"numeric": [1, 2]}, "must be a list of column names"),
        ({"numeric": ["age"], "categorical": ["age"]}, r"listed in both 'numeric' and 'categorical'"),
        ({"scale": "yes"}, r"The 'scale' parameter of TabularPreprocessor must be True or False. Got 'yes'"),
        ({"categorical": ["sex", "sex"]}, "lists a column twice"),
    ],
)
def test_invalid_parameters_raise_config_error_at_fit(train, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TabularPreprocessor(**kwargs).fit(train)


def test_listed_column_absent_from_table_gets_a_suggestion(train):
    with pytest.raises(DataError, match=r"Columns \['wieght'\] are listed .* Did you mean 'weight'\?"):
        TabularPreprocessor(numeric=["wieght"]).fit(train)


def test_non_dataframe_and_empty_inputs_are_refused():
    with pytest.raises(DataError, match="expects a pandas DataFrame .* Got ndarray"):
        TabularPreprocessor().fit(np.zeros((3, 2)))
    with pytest.raises(DataError, match="0 rows"):
        TabularPreprocessor().fit(pd.DataFrame({"a": []}))


def test_duplicated_column_names_are_refused():
    frame = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(DataError, match=r"duplicated column names: \['a'\]"):
        TabularPreprocessor().fit(frame)


def test_codes_stored_as_text_are_categorical_but_a_typo_in_numbers_is_reported():
    prep = TabularPreprocessor().fit(pd.DataFrame({"race": ["1", "2", "6", "2"]}))
    assert prep.categorical_columns_ == ["race"] and prep.feature_names_out_ == ["race=1", "race=2", "race=6"]
    typo = pd.DataFrame({"dose": [str(v) for v in range(19)] + ["1O"]})
    with pytest.raises(DataError, match=r"Column 'dose' must be numeric .* '1O' at row 19"):
        TabularPreprocessor().fit(typo)


def test_identifier_like_text_columns_are_refused_unless_listed():
    frame = pd.DataFrame({"patient": [f"P{i:03d}" for i in range(60)], "age": range(60)})
    message = "Column 'patient' has 60 distinct text values in 60 rows; it looks like an identifier"
    with pytest.raises(DataError, match=message):
        TabularPreprocessor().fit(frame)
    assert TabularPreprocessor(categorical=["patient"]).fit(frame).n_features_out_ == 61


def test_datetime_columns_are_refused_with_advice():
    frame = pd.DataFrame({"visit": pd.to_datetime(["2020-01-01", "2021-01-01"])})
    with pytest.raises(DataError, match="Column 'visit' has dtype datetime64.*convert dates to numbers"):
        TabularPreprocessor().fit(frame)
