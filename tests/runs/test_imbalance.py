"""Imbalance: focal loss (gamma = 0 is cross-entropy), balanced sampling, and their config errors."""

import json

import numpy as np
import pytest
import torch

import meddl
from meddl import ConfigError, MeddlError
from meddl.runs.fitting import balanced_indices
from meddl.training import losses

from tests.small_data import patient_table, table_config


@pytest.mark.parametrize("from_logits", [True, False])
def test_focal_loss_with_gamma_zero_is_cross_entropy(from_logits):
    torch.manual_seed(0)
    logits = torch.randn(9, 3) * 3
    labels = torch.randint(0, 3, (9,))
    outputs = logits if from_logits else torch.softmax(logits, dim=1)
    focal = losses.get({"name": "focal", "gamma": 0.0, "from_logits": from_logits})
    cross_entropy = losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    assert focal(labels, outputs).item() == pytest.approx(cross_entropy(labels, outputs).item(), rel=1e-6)
    weights = torch.rand(9)
    assert focal(labels, outputs, weights).item() == pytest.approx(cross_entropy(labels, outputs, weights).item(), rel=1e-6)
    soft = torch.softmax(torch.randn(9, 3), dim=1)
    categorical = losses.CategoricalFocalLoss(gamma=0.0, from_logits=from_logits)
    assert categorical(soft, outputs).item() == pytest.approx(
        losses.CategoricalCrossentropy(from_logits=from_logits)(soft, outputs).item(), rel=1e-6)


def test_focal_loss_down_weights_easy_cases():
    probabilities = torch.tensor([[0.1, 0.9], [0.6, 0.4]])
    labels = torch.tensor([1, 1])
    per_case = losses.FocalLoss(gamma=2.0).per_sample(probabilities, labels)
    assert per_case.tolist() == pytest.approx([0.1 ** 2 * -np.log(0.9), 0.6 ** 2 * -np.log(0.4)], rel=1e-5)
    assert losses.get("focal").get_config() == {"name": "focal", "from_logits": False, "gamma": 2.0}
    with pytest.raises(MeddlError, match="'gamma' parameter of FocalLoss must be a float in the range \\[0, inf\\). "
                                         "Got -1"):
        losses.FocalLoss(gamma=-1)


def test_balanced_indices_even_out_the_classes():
    y = np.array([0] * 10 + [1] * 3 + [2] * 1)
    rows = balanced_indices(y, seed=0)
    assert np.bincount(y[rows]).tolist() == [10, 10, 10]
    assert sorted(set(rows[y[rows] == 0])) == list(range(10))           # the majority class is kept whole
    counts = np.bincount(rows[y[rows] == 1], minlength=13)[10:13]
    assert sorted(counts.tolist()) == [3, 3, 4]                           # minority rows repeated evenly
    np.testing.assert_array_equal(rows, balanced_indices(y, seed=0))
    assert not np.array_equal(rows, balanced_indices(y, seed=1))


def test_focal_loss_and_balanced_sampling_in_a_run(tmp_path):
    patient_table(positive_share=0.15).to_csv(tmp_path / "t.csv", index=False)
    config = table_config(tmp_path / "t.csv", loss={"name": "focal", "gamma": 1.5}, sampling="balanced")
    run = meddl.train(config, out=tmp_path / "run")
    log = (run.path / "train.log").read_text()
    assert "loss focal" in log and "balanced sampling" in log and "Class weights" not in log
    model_file = json.loads((run.path / "model" / "model.json").read_text())
    assert model_file["compile"]["loss"] == {"name": "focal", "from_logits": False, "gamma": 1.5}
    assert run.info["training_recipe"]["sampling"] == "balanced"
    assert run.metrics["test"]["metrics"]["auroc"]["value"] is not None


def test_the_loss_follows_the_config_and_the_targets():
    from meddl.runs.fitting import training_loss

    focal = meddl.load_config({"task": "diagnosis", "data": {"source": "csv", "path": "x.csv"},
                               "training": {"loss": {"name": "focal", "gamma": 3}}})
    assert training_loss(focal, classification=True, soft_targets=False) == {"name": "focal", "gamma": 3.0}
    assert training_loss(focal, classification=True, soft_targets=True) == {"name": "categorical_focal", "gamma": 3.0}
    plain = meddl.load_config({"task": "diagnosis", "data": {"source": "csv", "path": "x.csv"}})
    assert training_loss(plain, classification=True, soft_targets=False) == "sparse_categorical_crossentropy"
    assert training_loss(plain, classification=True, soft_targets=True) == "categorical_crossentropy"
    assert training_loss(plain, classification=False, soft_targets=False) == "mse"


def test_imbalance_settings_are_checked(tmp_path):
    patient_table().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ConfigError, match="would correct the imbalance twice"):
        meddl.train(table_config(tmp_path / "t.csv", sampling="balanced", class_weight="balanced"))
    regression = {"task": "regression", "data": {"source": "builtin", "name": "diabetes-progression"},
                  "training": {"epochs": 1, "loss": "focal"}}
    with pytest.raises(ConfigError, match="training.loss 'focal' is for diagnosis"):
        meddl.train(regression)
    with pytest.raises(ConfigError, match="training.loss.name: Input should be 'auto', 'cross_entropy' or 'focal'"):
        meddl.load_config({**regression, "training": {"loss": "hinge"}})
