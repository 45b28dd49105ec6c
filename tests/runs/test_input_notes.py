"""``InputCheck.row_notes``: the per-row notes behind each warning text, for callers that word them (the REST API)."""

import numpy as np
import pandas as pd

from meddl.data import TabularPreprocessor
from meddl.runs.input_profile import InputProfile


def _train(n=200, seed=0):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"age": rng.normal(60, 10, n), "crp": rng.gamma(2, 5, n), "sex": rng.choice(["f", "m"], n)})


def test_row_notes_name_each_imputed_and_out_of_range_column_and_join_into_the_warning_text():
    train = _train()
    preprocessor = TabularPreprocessor().fit(train)
    profile = InputProfile.fit(train, preprocessor)
    new = pd.DataFrame({"age": [60.0, np.nan, 400.0], "crp": [10.0, np.nan, 10.0], "sex": ["f", None, "m"]})
    check = profile.check(new, preprocessor)
    assert check.row_notes[0] == []
    assert check.row_notes[1] == ["imputed: age", "imputed: crp", "imputed: sex"]
    assert check.row_notes[2][0] == "outside training range: age" and "unlike the training data" in check.row_notes[2]
    assert check.row_warnings[1] == "imputed: age, crp, sex"
    both = check.combine(profile.check(new.iloc[:1], preprocessor))
    assert both.row_notes == check.row_notes + [[]] and len(both.row_warnings) == 4


def test_transform_of_numeric_columns_is_the_same_whatever_their_dtype():
    train = _train()
    preprocessor = TabularPreprocessor().fit(train)
    new = train.iloc[:5].copy()
    new.loc[new.index[1], "crp"] = np.nan
    as_objects = new.astype({"age": object, "crp": object})
    as_nullable = new.astype({"age": "Float64", "crp": "Float64"})
    reordered = new[["sex", "crp", "age"]]
    expected = preprocessor.transform(new)
    for variant in (as_objects, as_nullable, reordered):
        np.testing.assert_array_equal(preprocessor.transform(variant), expected)
