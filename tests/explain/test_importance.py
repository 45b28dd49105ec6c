"""Global importance: mean |attribution| and permutation importance with bootstrap CIs."""

import numpy as np
import pandas as pd
import pytest
import torch

from meddl import ConfigError, DataError
from meddl.explain import mean_abs_importance, permutation_importance


def data(n=300, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long().numpy()
    return x, y


def classifier(x):
    """Uses features 0 and 1 only; returns two class probabilities."""
    p = torch.sigmoid(4 * (x[:, 0] + 0.5 * x[:, 1]))
    return torch.stack([1 - p, p], dim=1)


def test_mean_abs_importance_ranks_and_brackets():
    frame = pd.DataFrame({"a": [0.1, -0.3, 0.2], "b": [1.0, -2.0, 1.5], "c": [0.0, 0.0, 0.0]})
    table = mean_abs_importance(frame, n_resamples=100)
    assert table["feature"].tolist() == ["b", "a", "c"]
    assert table["importance"].tolist() == pytest.approx([1.5, 0.2, 0.0])
    assert (table["ci_low"] <= table["importance"]).all() and (table["importance"] <= table["ci_high"]).all()
    assert table.loc[2, "ci_low"] == table.loc[2, "ci_high"] == 0.0
    unnamed = mean_abs_importance(np.array([[1.0, -3.0]]), n_resamples=0)
    assert unnamed["feature"].tolist() == ["1", "0"] and unnamed["ci_low"].isna().all()


def test_permutation_importance_finds_the_used_features():
    x, y = data()
    table = permutation_importance(classifier, x, y, problem="binary", n_resamples=100, seed=0)
    assert table["feature"].tolist()[:2] == ["0", "1"]
    top = table.set_index("feature")
    assert top.loc["0", "ci_low"] > top.loc["1", "importance"] > 0
    assert top.loc["1", "ci_low"] > 0
    assert top.loc["2", "importance"] == top.loc["3", "importance"] == 0.0  # unused: shuffling changes nothing
    assert top.loc["0", "metric"] == "auroc" and top.loc["0", "reference"] > 0.95


def test_columns_of_several_features_are_shuffled_together():
    x, y = data(seed=1)
    table = permutation_importance(classifier, x, y, problem="binary", groups=["lab", "lab", "age", "age"],
                                   n_resamples=0, n_repeats=2)
    assert table["feature"].tolist() == ["lab", "age"]
    assert table.loc[1, "importance"] == 0.0 and table["ci_low"].isna().all()


def test_loss_metric_for_regression_and_multiclass():
    x, _ = data(seed=2)
    target = (2 * x[:, 2]).numpy()
    table = permutation_importance(lambda z: 2 * z[:, 2], x, target, problem="regression", metric="loss",
                                   n_resamples=50)
    assert table["feature"].iloc[0] == "2" and table["importance"].iloc[0] > 1.0
    assert table["reference"].iloc[0] == pytest.approx(0.0, abs=1e-9)
    labels = x[:, :3].argmax(dim=1).numpy()
    softmax = lambda z: torch.softmax(5 * z[:, :3], dim=1)  # noqa: E731
    multi = permutation_importance(softmax, x, labels, problem="multiclass", metric="loss", n_resamples=0)
    assert set(multi["feature"].iloc[:3]) == {"0", "1", "2"} and multi.set_index("feature").loc["3", "importance"] == 0


def test_same_seed_same_table():
    x, y = data(seed=3)
    first = permutation_importance(classifier, x, y, problem="binary", n_resamples=30, seed=4)
    pd.testing.assert_frame_equal(first, permutation_importance(classifier, x, y, problem="binary", n_resamples=30,
                                                                seed=4))


def test_permutation_errors():
    x, y = data(n=20)
    with pytest.raises(ConfigError, match="cannot be 'auroc' for a regression model.*metric='loss'"):
        permutation_importance(classifier, x, y, problem="regression")
    with pytest.raises(ConfigError, match="Unknown permutation metric 'accuracy'"):
        permutation_importance(classifier, x, y, problem="binary", metric="accuracy")
    with pytest.raises(ConfigError, match="Unknown problem 'binry'.*Did you mean 'binary'"):
        permutation_importance(classifier, x, y, problem="binry")
    with pytest.raises(DataError, match="'groups' parameter of permutation_importance must name a column for each "
                                        "of the 4 features. Got 2"):
        permutation_importance(classifier, x, y, problem="binary", groups=["a", "b"])
    with pytest.raises(DataError, match="same number of rows; got 20 and 19"):
        permutation_importance(classifier, x, y[:19], problem="binary")
    with pytest.raises(ConfigError, match="'n_repeats' parameter"):
        permutation_importance(classifier, x, y, problem="binary", n_repeats=0)
    with pytest.raises(DataError, match="must be 2-D"):
        mean_abs_importance(np.ones(3))
