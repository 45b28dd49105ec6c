"""Undefined is not failed; the cascading randomisation test; rank correlation and SSIM of maps."""

import numpy as np
import pytest
import torch

from meddl import ConfigError, DataError, Sequential
from meddl.explain import (attribute, cascade_layers, cascading_randomization, grad_cam, model_randomization_test,
                           structural_similarity, trust_lines)
from meddl.runs.explain_data import ModelOutput
from meddl.explain.image_trust import status_text
from meddl.layers import Conv2D, Dense, Dropout, GlobalAveragePooling2D


def tiny_cnn(seed=0):
    torch.manual_seed(seed)
    return Sequential([Conv2D(4, 3, padding="same", activation="relu", input_shape=(8, 8, 1), name="conv"),
                       GlobalAveragePooling2D(), Dropout(0.1), Dense(2, activation="softmax", name="out")])


def test_structural_similarity_is_defined_where_rank_correlation_is_not():
    bump = np.zeros((2, 9, 9))
    bump[:, 3:6, 3:6] = 1.0
    assert structural_similarity(bump, 3 * bump) == pytest.approx([1.0, 1.0])
    flat = np.zeros((2, 9, 9))
    assert (structural_similarity(bump, flat) < 0.2).all()
    noise = np.random.default_rng(0).random((2, 9, 9))
    assert (structural_similarity(bump, noise) < structural_similarity(bump, bump + 0.1 * noise)).all()
    assert structural_similarity([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])[0] == pytest.approx(1.0)  # tables: one window
    with pytest.raises(DataError, match="same shape"):
        structural_similarity(bump, bump[:, :3])


def test_an_undefined_check_is_reported_as_undefined_not_failed():
    model = torch.nn.Linear(4, 1)
    x = torch.randn(3, 4)
    # The trained model's explanation is constant on every row: nothing to compare.
    out = model_randomization_test(model, x, lambda module, rows: np.zeros((3, 4)))
    assert out["status"] == "undefined" and out["passed"] is None
    assert "constant" in out["reason"] and "nothing" in out["reason"]
    assert status_text(out).startswith("undefined (") and "FAILED" not in trust_lines({"m": {"randomization": out}})[0]
    # The random model's maps are constant (Grad-CAM's ReLU): Spearman undefined, SSIM still decides.
    trained = np.random.default_rng(0).random((3, 4)) + 0.1

    def explain(module, rows):
        return trained if module is model else np.zeros((3, 4))

    out = model_randomization_test(model, x, explain)
    assert out["spearman"] is None and out["ssim"] is not None and out["ssim"] < 0.2
    assert out["status"] == "passed" and "rank correlation undefined" in out["reason"]


def test_the_same_explanation_under_random_weights_fails():
    model = torch.nn.Linear(4, 1)
    x = torch.randn(5, 4)
    out = model_randomization_test(model, x, lambda module, rows: np.asarray(rows) ** 2)  # shows the input only
    assert out["status"] == "failed" and out["passed"] is False and out["ssim"] == pytest.approx(1.0)
    assert "still similar" in out["reason"]


def test_cascade_goes_from_the_output_layer_down_and_leaves_the_model_untouched():
    model = tiny_cnn()
    assert [name for name, _ in cascade_layers(model)] == ["out", "conv"]
    ensemble = ModelOutput([tiny_cnn(0), tiny_cnn(1)], classification=True)
    units = cascade_layers(ensemble)
    assert [name for name, _ in units] == ["out", "conv"] and len(units[0][1]) == 2  # layer i of every member
    before = {k: v.clone() for k, v in model.state_dict().items()}
    images = np.random.default_rng(0).random((6, 8, 8, 1)).astype(np.float32)
    out = cascading_randomization(model, images, lambda module, x: grad_cam(module, x, target=1))
    assert [step["randomized"] for step in out["steps"]] == [["out"], ["out", "conv"]]
    assert out["status"] in ("passed", "failed", "undefined") and len(out["ssim_per_row"]) == 6
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    one = cascading_randomization(model, images, lambda module, x: grad_cam(module, x, target=1), max_steps=1)
    assert [step["randomized"] for step in one["steps"]] == [["out", "conv"]]
    with pytest.raises(ConfigError, match="'explain' parameter of cascading_randomization"):
        cascading_randomization(model, images, "grad_cam")


def test_gradient_maps_of_a_trained_linear_model_change_under_randomisation():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    with torch.no_grad():
        model[0].weight.zero_()
        model[0].weight[0, 0] = 3.0  # only feature 0 matters
    x = torch.randn(20, 6)
    out = cascading_randomization(model, x, lambda module, rows: attribute(module, rows, "integrated_gradients"))
    assert out["status"] == "passed" and out["spearman"] < 0.5
