"""Issue 13, item 10: identifier-like columns are refused as features; errors never print training values."""

import warnings

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.data import TabularPreprocessor, check_no_identifier_features, find_identifier_columns
from meddl.errors import DataError

FIRST = ["Anna", "Ben", "Clara", "David", "Eva", "Felix", "Greta", "Hugo"]
LAST = ["Meier", "Schulz", "Novak", "Rossi", "Dubois"]


def _patients(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({
        "name": [f"{FIRST[i % 8]} {LAST[i // 8 % 5]}" for i in range(n)],
        "mrn": rng.choice(np.arange(1_000_000, 9_999_999), n, replace=False),
        "birth": [f"19{40 + i % 50}-0{1 + i % 9}-1{i % 10}" for i in range(n)],
        "age": rng.integers(30, 80, n),
        "x": x,
        "sex": rng.choice(["f", "m"], n),
        "dx": np.where(x > 0, "disease", "no disease"),
    })


def test_names_mrns_and_dates_of_birth_are_found_with_reasons_in_counts_only():
    frame = _patients().rename(columns={"name": "patient", "mrn": "number"})
    found = find_identifier_columns(frame)
    assert set(found) == {"patient", "number", "birth"}
    assert "person names, 40 different in 40 rows" in found["patient"]
    assert "all 40 different, each with 7 digits" in found["number"]
    assert "dates" in found["birth"]


@pytest.mark.parametrize("column, values", [
    ("row", np.arange(100, 140)),                     # consecutive integers: a row number
    ("note", [f"free text {i}" for i in range(40)]),  # near-unique text
    ("MRN", np.arange(40) % 7),                       # an identifying name, whatever the values
    ("case_id", np.arange(40) % 5),
])
def test_other_identifier_shapes_are_found(column, values):
    assert column in find_identifier_columns(pd.DataFrame({column: values}))


def test_ordinary_features_are_not_identifiers():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"age": rng.integers(20, 90, 200), "crp": rng.lognormal(size=200),
                          "sex": rng.choice(["f", "m"], 200), "income": rng.integers(10_000, 999_999, 200),
                          "smoker": rng.choice([True, False], 200), "site": rng.choice(list("ABC"), 200)})
    assert find_identifier_columns(frame) == {}


def test_a_column_with_infinite_values_is_no_identifier_and_warns_nothing():
    values = np.r_[np.arange(40, dtype=float), np.inf]  # refused later by the preprocessor, naming the rows
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        assert find_identifier_columns(pd.DataFrame({"tumour_size": values})) == {}


def test_training_refuses_identifier_features_naming_columns_and_fix_without_values(tmp_path):
    frame = _patients()
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = {"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "label": "dx"},
              "training": {"epochs": 1}, "evaluation": {"n_resamples": 0, "conformal_coverage": None}}
    with pytest.raises(DataError) as error:
        meddl.train(config, out=tmp_path / "run")
    message = str(error.value)
    assert "3 column(s)" in message and "'name'" in message and "'mrn'" in message and "'birth'" in message
    assert "data.patient_id" in message and "data.exclude" in message and "data.features" in message
    for value in [frame["name"][0], str(frame["mrn"][0]), frame["birth"][0], "Anna", "Meier"]:
        assert value not in message
    config["data"].update(patient_id="mrn", exclude=["name", "birth"])
    run = meddl.train(config, out=tmp_path / "run")
    assert [c["name"] for c in run.info["input"]["columns"]] == ["age", "x", "sex"]
    assert "Anna" not in (run.path / "preprocessing.json").read_text()


def test_columns_listed_in_data_features_are_taken_as_meant(tmp_path):
    frame = pd.DataFrame({"x": np.arange(40) % 3, "dx": ["a", "b"] * 20})
    check_no_identifier_features(frame.assign(record_number=range(40)), ["x"])
    with pytest.raises(DataError, match="'record_number' .*its name is that of an identifier"):
        check_no_identifier_features(frame.assign(record_number=range(40)), ["x", "record_number"])


def test_exclude_names_columns_that_exist(tmp_path):
    _patients().to_csv(tmp_path / "t.csv", index=False)
    config = {"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "label": "dx",
                                            "exclude": ["nmae"]}}
    with pytest.raises(DataError, match=r"data.exclude lists column\(s\) \['nmae'\] that are not in"):
        meddl.train(config, out=tmp_path / "run")


def test_an_unseen_category_error_gives_the_input_value_and_a_count_never_training_values():
    train = pd.DataFrame({"sex": ["Anna Meier", "Ben Novak", "Clara Rossi"] * 3, "x": range(9)})
    prep = TabularPreprocessor(categorical=["sex"], numeric=["x"]).fit(train)
    with pytest.raises(DataError) as error:
        prep.transform(pd.DataFrame({"sex": ["Zoe Quinn"], "x": [1]}))
    message = str(error.value)
    assert "'Zoe Quinn'" in message and "knows 3 categories" in message
    assert not any(name in message for name in ("Anna", "Ben", "Clara"))
