"""attribute(f, x, method): exact answers on functions with known attributions, options, and every error."""

import numpy as np
import pytest
import torch

from meddl import ConfigError, DataError
from meddl.explain import ATTRIBUTION_METHODS, attribute, completeness_error

from .conftest import CoxRisk, TreatmentNet

WEIGHTS = torch.tensor([2.0, -1.0, 0.0, 0.5])


def linear(x):
    return x @ WEIGHTS


X = np.array([[1.0, 2.0, 3.0, -2.0], [0.5, -1.0, 4.0, 2.0]], dtype=np.float32)


@pytest.mark.parametrize("baseline, reference", [
    (None, np.zeros(4)),
    (1.0, np.ones(4)),
    (np.array([1.0, 0.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0, 1.0])),
    (X[::-1].copy(), X[::-1]),
])
def test_integrated_gradients_of_a_linear_function_is_weight_times_difference(baseline, reference):
    values = attribute(linear, X, "integrated_gradients", baseline=baseline)
    np.testing.assert_allclose(values, WEIGHTS.numpy() * (X - reference), atol=1e-5)


def test_occlusion_of_single_features_matches_the_linear_answer():
    values = attribute(linear, X, "occlusion", window=(1,))
    np.testing.assert_allclose(values, WEIGHTS.numpy() * X, atol=1e-5)


def test_completeness_error_is_small_with_enough_steps_and_larger_with_one(small_mlp):
    x = torch.randn(20, 4, generator=torch.Generator().manual_seed(1)) * 2
    fine = attribute(small_mlp, x, target=2, n_steps=128)
    rough = attribute(small_mlp, x, target=2, n_steps=1)
    fine_error = completeness_error(small_mlp, x, fine, target=2)
    rough_error = completeness_error(small_mlp, x, rough, target=2)
    assert np.nanmedian(fine_error) < 0.05 and np.nanmax(fine_error) < 0.05
    assert np.nanmedian(rough_error) > 5 * np.nanmedian(fine_error)


def test_targets_per_row_explain_different_outputs(small_mlp):
    x = torch.randn(6, 4, generator=torch.Generator().manual_seed(2))
    per_row = attribute(small_mlp, x, target=np.array([0, 1, 2, 0, 1, 2]))
    for k in range(3):
        alone = attribute(small_mlp, x, target=k)
        np.testing.assert_allclose(per_row[k::3], alone[k::3], atol=1e-6)


def test_batch_size_does_not_change_deterministic_methods(small_mlp):
    x = torch.randn(7, 4, generator=torch.Generator().manual_seed(3))
    for method in ("integrated_gradients", "occlusion"):
        np.testing.assert_allclose(attribute(small_mlp, x, method, target=1, batch_size=2),
                                   attribute(small_mlp, x, method, target=1), atol=1e-6)


def test_random_methods_repeat_with_the_same_seed_and_leave_global_rngs_alone(small_mlp):
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(4))
    background = torch.randn(30, 4, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(123)
    np.random.seed(123)
    first = attribute(small_mlp, x, "gradient_shap", baseline=background, target=0, seed=7)
    after = (torch.rand(1).item(), np.random.rand())
    torch.manual_seed(123)
    np.random.seed(123)
    assert (torch.rand(1).item(), np.random.rand()) == after  # attribute() did not consume the caller's RNGs
    again = attribute(small_mlp, x, "gradient_shap", baseline=background, target=0, seed=7)
    other = attribute(small_mlp, x, "gradient_shap", baseline=background, target=0, seed=8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_kernel_shap_groups_share_their_value_and_sum_to_the_output_change():
    values = attribute(linear, X, "kernel_shap", feature_groups=["a", "a", "b", "c"], n_samples=200)
    np.testing.assert_allclose(values[:, 0], values[:, 1], atol=1e-6)
    group_a = (WEIGHTS[:2].numpy() * X[:, :2]).sum(axis=1)  # Shapley value of a linear group is its contribution
    np.testing.assert_allclose(values[:, 0] + values[:, 1], group_a, atol=1e-3)
    np.testing.assert_allclose(values.sum(axis=1), linear(torch.as_tensor(X)).numpy(), atol=1e-3)


def test_a_module_is_explained_in_eval_mode_and_its_mode_is_restored():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 32), torch.nn.Dropout(0.5), torch.nn.Linear(32, 1))
    net.train()
    first, second = (attribute(net, X) for _ in range(2))
    np.testing.assert_array_equal(first, second)  # no dropout noise
    assert net.training


def test_survival_risk_score_attributions_are_exact():
    risk = CoxRisk([0.7, -0.3, 0.0, 1.2])
    values = attribute(risk, X, baseline=X.mean(axis=0))
    np.testing.assert_allclose(values, np.array([0.7, -0.3, 0.0, 1.2]) * (X - X.mean(axis=0)), atol=1e-5)


def test_treatment_effect_is_attributed_to_its_modifier_only():
    net = TreatmentNet()
    x = torch.randn(30, 3, generator=torch.Generator().manual_seed(6))
    values = attribute(net.effect, x, "integrated_gradients", n_steps=64)
    assert np.abs(values[:, 1:]).max() < 1e-6
    assert np.abs(values[:, 0]).min() > 0
    assert np.nanmax(completeness_error(net.effect, x, values)) < 0.01


def test_every_method_returns_the_input_shape(small_mlp):
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(7))
    for method in ATTRIBUTION_METHODS:
        assert attribute(small_mlp, x, method, target=1, n_samples=20).shape == (3, 4)


def test_image_shaped_inputs_use_a_patch_window():
    x = torch.rand(2, 16, 16, 1, generator=torch.Generator().manual_seed(8))
    values = attribute(lambda z: z[:, :8, :8, 0].sum(dim=(1, 2)), x, "occlusion")
    assert values.shape == x.shape
    assert np.abs(values[:, 10:, 10:]).max() == 0 and values[:, :6, :6].min() > 0


@pytest.mark.parametrize("kwargs, error, pattern", [
    ({"method": "integrated_gradient"}, ConfigError, "Did you mean 'integrated_gradients'"),
    ({"method": "grad_cam"}, ConfigError, r"grad_cam\(model, images\)"),
    ({"n_steps": 0}, ConfigError, r"'n_steps' parameter of attribute must be an int in the range \[1, inf\)\. Got 0"),
    ({"target": 4}, ConfigError, r"one of the 1 output\(s\) of 'f' \(0 to 0\)\. Got 4"),
    ({"target": "yes"}, ConfigError, "'target' parameter of attribute must be None, an int or one int per row"),
    ({"baseline": np.zeros(3)}, DataError, r"one sample's shape \(4,\) or \(1 or 2, 4\)\. Got shape \(3,\)"),
    ({"baseline": float("nan")}, ConfigError, "must be finite"),
    ({"feature_groups": [0, 0, 1, 1]}, ConfigError, "used by 'kernel_shap' only"),
    ({"window": (1,)}, ConfigError, "used by 'occlusion' only"),
    ({"seed": -1}, ConfigError, "'seed' parameter"),
])
def test_bad_arguments_name_the_parameter(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        attribute(linear, X, **kwargs)


def test_bad_inputs_and_functions_are_refused(small_mlp):
    with pytest.raises(DataError, match="NaN or infinite"):
        attribute(linear, np.array([[1.0, np.nan, 0.0, 0.0]]))
    with pytest.raises(DataError, match="one row per sample"):
        attribute(linear, np.ones(4))
    with pytest.raises(ConfigError, match="'f' parameter of attribute must be a callable"):
        attribute("model", X)
    with pytest.raises(DataError, match=r"must return shape \(n,\) or \(n, k\)"):
        attribute(lambda x: x[None], X)
    with pytest.raises(ConfigError, match="'target' parameter of attribute is required when 'f' returns 3 outputs"):
        attribute(small_mlp, X)
    with pytest.raises(ConfigError, match="need 'feature_groups'.*use 'occlusion' or 'integrated_gradients'"):
        attribute(lambda x: x.sum(dim=(1, 2, 3)), np.zeros((1, 32, 32, 1)), "kernel_shap")
    with pytest.raises(ConfigError, match=r"'window' parameter of attribute must be a tuple of 1 ints"):
        attribute(linear, X, "occlusion", window=(9,))
