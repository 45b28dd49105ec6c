"""choose_calibration scores candidates against Platt's smoothed targets, so a validation split the model
separates with extreme logits still gets a softening temperature."""

import numpy as np
import pytest

from meddl.evaluation.calibration_choice import choose_calibration, smoothed_targets


def test_smoothed_targets_follow_the_rule_of_succession():
    targets = smoothed_targets(np.array([0, 0, 0, 1]), 2)
    assert targets[0] == pytest.approx([4 / 5, 1 / 5]) and targets[3] == pytest.approx([1 / 3, 2 / 3])
    assert np.allclose(targets.sum(axis=1), 1.0)


def test_separated_validation_with_extreme_logits_gets_a_softening_temperature():
    # 85 validation rows, all on the right side with margins of 10 to 30 logits (probabilities 1 - 1e-5 and beyond).
    rng = np.random.default_rng(0)
    y = np.arange(85) % 2
    margin = np.where(y == 1, 1.0, -1.0) * rng.uniform(10.0, 30.0, 85)
    choice = choose_calibration(np.column_stack([np.zeros(85), margin]), y)
    assert choice.method in ("temperature", "platt")
    if choice.method == "temperature":
        assert choice.calibrator.temperature_ > 1
    softened = choice.calibrator.transform(margin)
    assert softened.max() < 1 - 1e-3 and softened.min() > 1e-3


def test_well_calibrated_validation_keeps_the_probabilities():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, 2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-z))).astype(int)
    assert choose_calibration(np.column_stack([np.zeros(2000), z]), y).method == "none"
