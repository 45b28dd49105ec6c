"""Faithfulness with CIs (deletion/insertion, ROAD), the in-distribution baseline, and ``auto``'s choice."""

import numpy as np
import pytest
import torch

from meddl import ConfigError, DataError
from meddl.explain import (blurred_baseline, choose_method, faithfulness, image_explainer, mean_with_ci, road)

WEIGHTS = torch.tensor([3.0, 2.0, 1.0, 0.0, -1.0, 0.5])


def linear(x):
    return x @ WEIGHTS


def rows(n=40, seed=0):
    return torch.rand(n, 6, generator=torch.Generator().manual_seed(seed)) + 0.5


def test_a_faithful_order_passes_with_cis_above_zero_and_a_reversed_one_fails():
    x = rows()
    good = faithfulness(linear, x, x * WEIGHTS, baseline=0.0, n_steps=6, n_resamples=200)
    assert good["status"] == "passed" and "95% CIs above zero" in good["reason"]
    for key in ("deletion_gain", "insertion_gain", "score"):
        entry = good[key]
        assert entry["n"] == 40 and 0 < entry["ci_low"] <= entry["mean"] <= entry["ci_high"]
    assert good["score"]["mean"] == pytest.approx((good["deletion_gain"]["mean"] + good["insertion_gain"]["mean"]) / 2)
    bad = faithfulness(linear, x, -(x * WEIGHTS), baseline=0.0, n_steps=6, n_resamples=200)
    assert bad["status"] == "failed" and bad["score"]["ci_high"] < 0


def test_one_row_gives_an_undefined_verdict_not_a_failure():
    out = faithfulness(linear, rows(1), rows(1) * WEIGHTS, baseline=0.0, n_steps=3)
    assert out["status"] == "undefined" and "at least 2 images" in out["reason"]
    assert mean_with_ci([]) == {"mean": None, "ci_low": None, "ci_high": None, "n": 0}


def test_blurred_baseline_keeps_brightness_and_removes_detail():
    images = np.random.default_rng(0).random((3, 16, 16, 2)).astype(np.float32)
    blurred = blurred_baseline(images)
    assert blurred.shape == images.shape
    assert np.allclose(blurred.mean(axis=(1, 2)), images.mean(axis=(1, 2)), atol=0.02)  # stays in distribution
    assert blurred.std() < 0.3 * images.std()
    with pytest.raises(DataError, match=r"\(n, H, W, C\)"):
        blurred_baseline(images[0])


def patch_images(n=12, seed=0):
    images = np.random.default_rng(seed).random((n, 12, 12, 1)).astype(np.float32) * 0.2
    images[:, 4:8, 4:8] += 1.0
    return images


def patch_score(x):
    """Responds to the bright centre patch only."""
    return x[:, 4:8, 4:8, 0].mean(dim=(1, 2))


def test_road_ranks_the_true_region_above_its_complement():
    images = patch_images()
    truth = np.zeros((12, 12, 12))
    truth[:, 4:8, 4:8] = 1.0
    good = road(patch_score, images, truth + 0.01 * images[..., 0], n_resamples=200)
    assert good["status"] == "passed" and good["score"]["ci_low"] > 0
    bad = road(patch_score, images, 1.0 - truth, n_resamples=200)
    assert bad["status"] == "failed" and bad["score"]["mean"] < 0
    with pytest.raises(DataError, match="same size"):
        road(patch_score, images, truth[:, :4])


def test_choose_method_picks_the_most_faithful_and_sets_aside_one_that_survives_randomisation():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(144, 1))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].weight[0, torch.as_tensor(np.arange(144).reshape(12, 12)[4:8, 4:8].ravel())] = 1.0
        model[1].bias.zero_()
    images = patch_images(16)
    targets = np.zeros(16, dtype=np.int64)
    explainers = {
        "integrated_gradients": image_explainer("integrated_gradients", n_steps=8),
        "input_brightness": lambda module, x, t: np.asarray(x)[..., 0],  # ignores the model: fails randomisation
        "random_map": lambda module, x, t: np.random.default_rng(1).random(np.shape(x)[:3]),
    }
    choice = choose_method(model, images, targets, explainers, baseline=blurred_baseline(images), n_steps=6)
    assert choice.method == "integrated_gradients"
    assert choice.scores["input_brightness"]["randomization"] == "failed"
    assert "Integrated Gradients had the highest faithfulness score" in choice.reason
    assert "input_brightness" in choice.reason and "randomisation test failed" in choice.reason
    assert choice.to_dict()["n_images"] == 16
    with pytest.raises(ConfigError, match="at least one candidate"):
        choose_method(model, images, targets, {}, baseline=0.0)
    with pytest.raises(ConfigError, match="image explanation method"):
        image_explainer("lime")
