"""Augmentation policies: names and mappings, seeded reproducibility, mixup, and the one kernel the layers share."""

import dataclasses

import pytest
import torch

import meddl
from meddl import ConfigError, MeddlError
from meddl.data.augmentation import POLICIES, AugmentationPolicy, ImageAugmenter, augment_images, resolve_policy
from meddl.layers import Input, RandomBrightness, RandomContrast, RandomFlip, RandomRotation
from meddl.models import Sequential
from meddl.runs.config import AugmentationConfig


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


@pytest.mark.parametrize("layer, policy", [
    (RandomFlip("horizontal_and_vertical"), AugmentationPolicy(flip="horizontal_and_vertical")),
    (RandomRotation(0.1), AugmentationPolicy(rotation=36.0)),     # Keras's factor is a fraction of a turn
    (RandomContrast(0.2), AugmentationPolicy(contrast=0.2)),
    (RandomBrightness(0.3), AugmentationPolicy(brightness=0.3)),
])
def test_the_augmentation_layers_apply_the_one_kernel(layer, policy):
    x = torch.rand(8, 9, 11, 1)
    model = Sequential([Input(shape=(9, 11, 1)), layer])
    model.train()
    torch.manual_seed(5)
    through_layer = model(x)
    torch.manual_seed(5)
    assert torch.equal(through_layer, augment_images(x, policy))      # torch's generator: meddl.set_seed applies
    assert not torch.equal(through_layer, x)
    generator = torch.Generator().manual_seed(5)
    assert torch.equal(ImageAugmenter(policy, seed=5).images(x), augment_images(x, policy, generator=generator))


def test_the_kernel_refuses_what_is_not_a_batch_of_images():
    with pytest.raises(MeddlError, match=r"expects a batch of images \(N, height, width, channels\); got shape \(3, 4\)"):
        augment_images(torch.zeros(3, 4), POLICIES["light"])
