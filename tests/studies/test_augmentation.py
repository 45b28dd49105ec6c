"""Augmentation policies: names and mappings, seeded reproducibility, training only, mixup, the run folder."""

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

import meddl
from meddl import ConfigError, MeddlError
from meddl.data.augmentation import POLICIES, AugmentationPolicy, ImageAugmenter, resolve_policy
from meddl.runs.config import AugmentationConfig

from .conftest import image_config


def test_named_policies_and_mappings_resolve():
    assert resolve_policy(None, kind="image") == resolve_policy(True) == POLICIES["light"]
    assert resolve_policy(None, kind="table") == resolve_policy(False) == POLICIES["none"]
    assert resolve_policy(True, kind="table") == POLICIES["none"]          # as before policies: tables ignore it
    assert POLICIES["light"].settings() == {"flip": "horizontal", "rotation": 10.8, "contrast": 0.1}
    custom = resolve_policy(AugmentationConfig(policy="medium", mixup=0.2, rotation=5))
    assert custom == dataclasses.replace(POLICIES["medium"], mixup=0.2, rotation=5.0)
    assert resolve_policy({"elastic": 2.0}).settings() == {"elastic": 2.0, "elastic_spacing": 7}
    assert not POLICIES["none"].active and all(POLICIES[n].active for n in ("light", "medium", "strong"))
    with pytest.raises(ConfigError, match="augmentation policies are for images; this data is a table"):
        resolve_policy("medium", kind="table")
    with pytest.raises(ConfigError, match="Unknown augmentation policy 'strnog'.*Did you mean 'strong'"):
        resolve_policy("strnog")
    with pytest.raises(ConfigError, match="'noise' setting of an augmentation policy must be a number >= 0. Got -1"):
        AugmentationPolicy(noise=-1)


def test_config_accepts_names_booleans_and_mappings():
    base = {"task": "diagnosis", "data": {"source": "medmnist", "path": "x.npz"}}
    for value in ("strong", True, False, {"policy": "light", "noise": 0.05}):
        meddl.load_config({**base, "training": {"augmentation": value}})
    with pytest.raises(ConfigError, match="training.augmentation: unknown key 'nois'. Did you mean 'noise'"):
        meddl.load_config({**base, "training": {"augmentation": {"nois": 0.1}}})
    with pytest.raises(ConfigError, match="training.augmentation: must be one of none, light, medium, strong"):
        meddl.load_config({**base, "training": {"augmentation": "heavy"}})


@pytest.mark.parametrize("name", ["light", "medium", "strong"])
def test_augmentation_is_reproducible_with_a_seed(name):
    x = torch.rand(16, 12, 10, 1)
    first, again, other = (ImageAugmenter(POLICIES[name], seed=s) for s in (3, 3, 4))
    a1, a2 = first.images(x), first.images(x)
    assert torch.equal(a1, again.images(x)) and torch.equal(a2, again.images(x))   # same seed, same sequence
    assert not torch.equal(a1, a2)                                                 # fresh draws per batch
    assert not torch.equal(a1, other.images(x))
    assert a1.shape == x.shape


def test_flip_and_identity_geometry_are_exact():
    x = torch.rand(64, 5, 7, 2)
    flipped = ImageAugmenter(AugmentationPolicy(flip="horizontal"), seed=0).images(x)
    for original, out in zip(x, flipped):
        assert torch.equal(out, original) or torch.equal(out, original.flip(1))
    assert {torch.equal(o, i) for o, i in zip(flipped, x)} == {True, False}
    # A geometric warp with (almost) no movement returns the image: the coordinate maps are right.
    still = ImageAugmenter(AugmentationPolicy(elastic=1e-9), seed=0).images(x)
    assert torch.allclose(still, x, atol=1e-5)


def test_mixup_mixes_images_and_labels_with_the_same_weights():
    classes = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1])
    y = torch.eye(2)[classes]
    x = classes.float()[:, None, None, None].expand(8, 4, 4, 1).clone()   # each image shows its class
    weights = torch.arange(8.0)
    mixed_x, mixed_y, mixed_w = ImageAugmenter(AugmentationPolicy(mixup=0.4), seed=0)((x, y, weights))
    assert torch.allclose(mixed_y.sum(dim=1), torch.ones(8)) and not torch.equal(mixed_y, y)
    assert torch.allclose(mixed_x[:, 0, 0, 0], mixed_y[:, 1])             # images and labels mixed alike
    assert ((mixed_y >= 0) & (mixed_y <= 1)).all() and not torch.equal(mixed_w, weights)
    with pytest.raises(MeddlError, match="mixup mixes labels, so it needs one-hot"):
        ImageAugmenter(AugmentationPolicy(mixup=0.4))((x, torch.tensor([0, 1] * 4)))


def test_the_transform_acts_on_training_batches_only(image_npz):
    from meddl.models.presets import build_model

    calls = []

    def transform(batch):
        calls.append(batch[0].shape[0])
        return (batch[0] * 0, *batch[1:])

    model = build_model("seed-cnn", kind="image", input_shape=(16, 16, 1), n_outputs=2, output_activation="softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((40, 16, 16, 1)).astype(np.float32)
    before = model.predict(x)
    model.batch_transform = transform
    np.testing.assert_array_equal(model.predict(x), before)
    model.fit(x, np.arange(40) % 2, epochs=1, batch_size=16, verbose=0, validation_data=(x, np.arange(40) % 2))
    assert calls == [16, 16, 8]                     # training batches only, not validation


def test_runs_with_a_policy_are_reproducible_and_show_examples(image_npz, tmp_path):
    config = image_config(image_npz, augmentation={"policy": "medium", "elastic": 1.0, "mixup": 0.2})
    first = meddl.train(config, out=tmp_path / "a")
    second = meddl.train(config, out=tmp_path / "b")
    pd.testing.assert_frame_equal(pd.read_csv(first.path / "predictions_test.csv"),
                                  pd.read_csv(second.path / "predictions_test.csv"))
    assert (first.path / "augmentation_examples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (first.path / "report.html").read_text()
    assert "Training augmentation" in report and "custom (medium + elastic, mixup)" in report
    recipe = first.info["training_recipe"]
    assert recipe["loss"] == "categorical_crossentropy" and recipe["augmentation"]["mixup"] == 0.2
