"""Trust checks: the randomisation test, deletion/insertion curves, completeness -- each shown to be able to fail."""

import numpy as np
import pytest
import torch

from meddl import ConfigError, DataError, Sequential
from meddl.explain import (attribute, completeness_error, deletion_insertion, group_attributions,
                           model_randomization_test, randomize_weights, rank_correlation, table_baseline)
from meddl.runs.explain_data import model_output
from meddl.layers import BatchNormalization, Dense


def test_randomize_weights_replaces_every_weight_and_keeps_the_original():
    model = Sequential([Dense(8, activation="relu", input_shape=(3,)), BatchNormalization(), Dense(2)])
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.5)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    clone = randomize_weights(model, seed=1)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key])  # the original is untouched
    fresh = dict(clone.named_parameters())
    for name, parameter in model.named_parameters():
        assert not torch.equal(fresh[name], parameter), name
    assert torch.equal(fresh["layers.1.gamma"], torch.ones(8)) and torch.equal(fresh["layers.1.beta"], torch.zeros(8))
    assert torch.equal(fresh["layers.0.bias"], torch.zeros(8))
    again = dict(randomize_weights(model, seed=1).named_parameters())
    assert all(torch.equal(again[k], v) for k, v in fresh.items())
    with pytest.raises(ConfigError, match="must be a torch.nn.Module"):
        randomize_weights(lambda x: x)


def test_rank_correlation():
    a = np.array([[1.0, -2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]])
    result = rank_correlation(a, np.array([[4.0, 3.0, -2.0, 1.0], [1.0, 2.0, 3.0, 4.0]]))
    assert result[0] == pytest.approx(-1.0) and np.isnan(result[1])
    assert rank_correlation(a[:1], a[:1] * -3)[0] == pytest.approx(1.0)
    with pytest.raises(DataError, match="same shape"):
        rank_correlation(a, a[:, :2])


def test_randomization_test_separates_a_trained_model_from_random_weights(table_run):
    prep = table_run.preprocessor
    x = prep.transform(table_run.features(table_run.path.parent / "patients.csv")[2].head(40))

    def explain(module, rows):  # explain_run's table default: IG against the mean patient, per original column
        values = attribute(module, rows, target=1, baseline=table_baseline(prep).features)
        return group_attributions(values, prep.source_columns_).to_numpy()

    probabilities = model_output(table_run)  # the trained network's class probabilities, one module
    result = model_randomization_test(probabilities, x, explain, seed=0)
    assert result["passed"] is True and result["spearman"] < 0.5
    assert result["n_rows"] == 40 and result["undefined_rows"] == 0

    # A "saliency" that ignores the weights (here |x|) is identical for any model: the test must fail it.
    blind = model_randomization_test(probabilities, x, lambda module, rows: np.abs(rows), seed=0)
    assert blind["spearman"] == pytest.approx(1.0) and blind["passed"] is False


def test_completeness_error_exact_undefined_and_checked():
    f = lambda x: x @ torch.tensor([1.0, 2.0])  # noqa: E731
    x = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    errors = completeness_error(f, x, np.array([[1.0, 2.0], [0.0, 0.0]]))
    assert errors[0] == pytest.approx(0.0) and np.isnan(errors[1])  # the second row equals the baseline
    assert completeness_error(f, x[:1], np.array([[1.0, 1.0]]))[0] == pytest.approx(1 / 3)
    with pytest.raises(DataError, match=r"must have the shape of x, \(2, 2\)"):
        completeness_error(f, x, np.zeros((2, 3)))


def test_deletion_insertion_rewards_the_true_order_and_flags_a_wrong_one():
    weights = torch.tensor([4.0, 2.0, 1.0, 0.5, 0.0, 0.0])
    f = lambda x: x @ weights  # noqa: E731
    x = torch.ones(5, 6)
    truth = np.tile(weights.numpy(), (5, 1))
    good = deletion_insertion(f, x, truth, n_random=20, seed=0)
    assert good["faithful"] and good["deletion"]["gain"] > 0 and good["insertion"]["gain"] > 0
    assert good["deletion"]["curve"][0] == pytest.approx(7.5) and good["deletion"]["curve"][-1] == pytest.approx(0.0)
    assert good["fractions"] == pytest.approx(np.linspace(0, 1, 7))  # one step per feature (6 < n_steps)
    bad = deletion_insertion(f, x, -truth, n_random=20, seed=0)
    assert not bad["faithful"] and bad["deletion"]["gain"] < 0
    np.testing.assert_allclose(good["deletion"]["random_auc"], bad["deletion"]["random_auc"])  # same seed


def test_deletion_insertion_units_and_image_heatmaps():
    f = lambda x: x[:, :2].sum(dim=1) - x[:, 2:].sum(dim=1)  # noqa: E731
    x = torch.ones(2, 4)
    grouped = deletion_insertion(f, x, np.array([[1.0, 1.0, -1.0, -1.0]] * 2), units=["a", "a", "b", "b"], n_random=4)
    assert grouped["fractions"] == [0.0, 0.5, 1.0] and grouped["faithful"]
    images = torch.zeros(2, 8, 8, 3)
    images[:, :4, :4] = 1.0
    score = lambda z: z[:, :4, :4].sum(dim=(1, 2, 3))  # noqa: E731
    heatmap = np.zeros((2, 8, 8))
    heatmap[:, :4, :4] = 1.0
    curves = deletion_insertion(score, images, heatmap, n_steps=4, n_random=3)
    assert curves["faithful"] and curves["deletion"]["curve"][1] == pytest.approx(0.0)
    with pytest.raises(DataError, match="must have one label per element"):
        deletion_insertion(f, x, np.ones((2, 4)), units=["a", "b"])
    with pytest.raises(DataError, match="shape of x"):
        deletion_insertion(f, x, np.ones((2, 5)))
    with pytest.raises(ConfigError, match="'n_random' parameter"):
        deletion_insertion(f, x, np.ones((2, 4)), n_random=0)
