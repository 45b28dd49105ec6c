"""Reference patients and summing one-hot / missing-indicator attributions back to their column."""

import numpy as np
import pandas as pd
import pytest

from meddl import ConfigError, DataError, NotFittedError
from meddl.data import TabularPreprocessor
from meddl.explain import TableBaseline, attribute, group_attributions, table_baseline

TRAIN = pd.DataFrame({"age": [40.0, 50.0, 60.0, 90.0, np.nan], "sex": ["f", "m", "m", "m", "f"],
                      "site": ["A", "B", "C", "C", None]})


@pytest.fixture(scope="module")
def prep():
    return TabularPreprocessor().fit(TRAIN)


def test_median_baseline_is_a_typical_training_patient(prep):
    ref = table_baseline(prep, "median")
    assert isinstance(ref, TableBaseline) and ref.kind == "median"
    assert ref.values == {"age": 55.0, "sex": "m", "site": "C"}
    expected = prep.transform(pd.DataFrame([{"age": 55.0, "sex": "m", "site": "C"}]))[0]
    np.testing.assert_allclose(ref.features, expected)
    by_name = dict(zip(prep.feature_names_out_, ref.features))
    assert by_name["sex=m"] == 1 and by_name["sex=f"] == 0 and by_name["age_missing"] == 0


def test_mean_baseline_is_zero_in_the_standardised_space(prep):
    ref = table_baseline(prep)  # the default
    assert ref.kind == "mean" and not ref.features.any() and ref.features.shape == (prep.n_features_out_,)
    assert ref.values["age"] == pytest.approx(prep.means_["age"]) and ref.values["sex"] is None


def test_custom_baseline_fills_unnamed_columns_with_the_median_patient(prep):
    ref = table_baseline(prep, {"age": 70})
    assert ref.kind == "custom" and ref.values == {"age": 70, "sex": "m", "site": "C"}
    np.testing.assert_allclose(ref.features, table_baseline(prep, pd.DataFrame([{"age": 70}])).features)
    assert "age=70" in ref.description


def test_baseline_errors(prep):
    with pytest.raises(ConfigError, match="Unknown table baseline 'medain'.*Did you mean 'median'"):
        table_baseline(prep, "medain")
    with pytest.raises(DataError, match=r"columns the model does not use: \['weight'\]"):
        table_baseline(prep, {"weight": 80})
    with pytest.raises(DataError, match="site.*not seen in training"):
        table_baseline(prep, {"site": "Z"})
    with pytest.raises(DataError, match="one patient.*2 rows"):
        table_baseline(prep, TRAIN.head(2))
    with pytest.raises(ConfigError, match="Got list instead"):
        table_baseline(prep, [1, 2])
    with pytest.raises(NotFittedError, match="fitted TabularPreprocessor"):
        table_baseline(TabularPreprocessor())


def test_one_hot_levels_and_missing_indicators_are_summed_into_their_column(prep):
    assert prep.feature_names_out_ == ["age", "sex=f", "sex=m", "site=A", "site=B", "site=C", "age_missing",
                                       "site_missing"]
    values = np.arange(16, dtype=float).reshape(2, 8)
    grouped = group_attributions(values, prep.source_columns_, columns=prep.input_columns_)
    assert list(grouped.columns) == ["age", "sex", "site"]
    np.testing.assert_allclose(grouped["age"], values[:, 0] + values[:, 6])
    np.testing.assert_allclose(grouped["sex"], values[:, 1] + values[:, 2])
    np.testing.assert_allclose(grouped["site"], values[:, 3:6].sum(axis=1) + values[:, 7])
    np.testing.assert_allclose(grouped.sum(axis=1), values.sum(axis=1))  # additivity is kept


def test_grouped_integrated_gradients_keep_completeness(prep):
    import torch

    weights = torch.linspace(-1, 1, prep.n_features_out_)
    x = prep.transform(TRAIN)
    ref = table_baseline(prep, "median")
    values = attribute(lambda z: z @ weights, x, baseline=ref.features)
    grouped = group_attributions(values, prep.source_columns_)
    change = (x - ref.features) @ weights.numpy()
    np.testing.assert_allclose(grouped.sum(axis=1), change, atol=1e-5)


def test_group_attribution_errors():
    with pytest.raises(DataError, match=r"shape \(n, 3\).*Got shape \(1, 2\)"):
        group_attributions([[1.0, 2.0]], ["a", "b", "b"])
    with pytest.raises(DataError, match="must list each source column once"):
        group_attributions([[1.0, 2.0]], ["a", "b"], columns=["a"])
