"""Checkpoints of the training loop: a fit interrupted and resumed ends as an uninterrupted one, bit for bit."""

import json
import random

import numpy as np
import pytest
import torch
from safetensors import safe_open

import meddl
from meddl.data.augmentation import AugmentationPolicy, ImageAugmenter
from meddl.errors import MeddlError
from meddl.training import EarlyStopping, ReduceLROnPlateau, set_seed
from meddl.training.callbacks import Callback
from meddl.training.checkpoint import (CHECKPOINT_FORMAT, CheckpointStore, FitProgress, active_checkpoint,
                                      checkpointing)
from meddl.training.schedules import ExponentialDecay

EPOCHS = 4


class Interrupt(Exception):
    pass


class InterruptAt(Callback):
    """Raises at the start of epoch ``at`` (a stand-in for a kill) while armed; stateless otherwise."""

    def __init__(self, at=None):
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise Interrupt


def table_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    return x, y


def image_data():
    rng = np.random.default_rng(1)
    x = rng.random((96, 8, 8, 1)).astype(np.float32)
    y = (x[:, 2:5, 2:5, 0].mean(axis=(1, 2)) > 0.5).astype(int)
    return x, y


def build(kind):
    if kind == "table":
        model = meddl.Sequential([meddl.layers.Input((5,)), meddl.layers.Dense(16, activation="relu"),
                                  meddl.layers.Dropout(0.3), meddl.layers.Dense(2, activation="softmax")])
        optimizer = meddl.optimizers.Adam(learning_rate=ExponentialDecay(1e-2, decay_steps=5, decay_rate=0.8))
    else:
        model = meddl.Sequential([meddl.layers.Input((8, 8, 1)), meddl.layers.Conv2D(4, 3, activation="relu"),
                                  meddl.layers.Flatten(), meddl.layers.Dropout(0.2),
                                  meddl.layers.Dense(2, activation="softmax")])
        optimizer = meddl.optimizers.SGD(learning_rate=0.05)
    loss = "categorical_crossentropy" if kind == "image" else "sparse_categorical_crossentropy"
    model.compile(optimizer=optimizer, loss=loss, metrics=["auc"], device="cpu")
    if kind == "image":  # flips, rotation, noise and mixup: draws from the augmenter's own generators
        model.batch_transform = ImageAugmenter(AugmentationPolicy(flip="horizontal", rotation=10.0, noise=0.05,
                                                                  mixup=0.4), seed=3)
    return model


def train_members(kind, interrupt_member=None, interrupt_epoch=None):
    """Two members fitted one after the other (as an ensemble run does): weights, histories, callbacks."""
    x, y = table_data() if kind == "table" else image_data()
    if kind == "image":
        y = np.eye(2, dtype=np.float32)[y]
    models, histories, stops = [], [], []
    set_seed(0)
    for member in range(2):
        model = build(kind)
        stop = EarlyStopping(monitor="val_loss", patience=EPOCHS, restore_best_weights=True)
        plateau = ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_delta=0.0)
        armed = InterruptAt(interrupt_epoch if member == interrupt_member else None)
        history = model.fit(x[:64], y[:64], validation_data=(x[64:], y[64:]), epochs=EPOCHS, batch_size=16,
                            callbacks=[stop, plateau, armed], verbose=0)
        models.append(model)
        histories.append(history.history)
        stops.append((stop.best_epoch, stop.best, stop.wait))
    after = (random.random(), float(np.random.random()), float(torch.rand(1)))
    return [m.state_dict() for m in models], histories, stops, after


def assert_same_training(first, second):
    for weights_a, weights_b in zip(first[0], second[0]):
        assert weights_a.keys() == weights_b.keys()
        for key in weights_a:
            assert torch.equal(weights_a[key], weights_b[key]), key
    assert first[1:] == second[1:]


@pytest.mark.parametrize("kind", ["table", "image"])
@pytest.mark.parametrize("member", [0, 1])
def test_a_fit_interrupted_and_resumed_ends_bit_identical_to_an_uninterrupted_one(tmp_path, kind, member):
    straight = train_members(kind)
    store = CheckpointStore(tmp_path / "ckpt", max_overhead=0)  # every epoch
    store.open({"run": 1}, resume=False)
    with checkpointing(store), pytest.raises(Interrupt):
        train_members(kind, interrupt_member=member, interrupt_epoch=2)
    random.random(), np.random.random(), torch.rand(5)  # a new process starts from other generator states
    resumed_store = CheckpointStore(tmp_path / "ckpt")
    message = resumed_store.open({"run": 1}, resume=True)
    expected = "fit 1 after epoch 2 of 4" if member == 0 else "fit 1 finished, fit 2 after epoch 2 of 4"
    assert message == f"Resuming from checkpoint: {expected}."
    with checkpointing(resumed_store):
        resumed = train_members(kind)
    assert_same_training(straight, resumed)


def test_a_finished_fit_is_skipped_on_resume_with_its_weights_history_and_generators(tmp_path):
    store = CheckpointStore(tmp_path / "ckpt")
    store.open({"run": 1}, resume=False)
    with checkpointing(store):
        first = train_members("table")
    resumed_store = CheckpointStore(tmp_path / "ckpt")
    assert resumed_store.open({"run": 1}, resume=True) == "Resuming from checkpoint: fit 1 finished, fit 2 finished."
    with checkpointing(resumed_store):
        again = train_members("table")
    assert_same_training(first, again)
    assert resumed_store.seconds_writing == 0.0  # nothing trained, nothing written


def test_resuming_a_checkpoint_of_another_run_is_refused_naming_what_changed(tmp_path):
    store = CheckpointStore(tmp_path / "ckpt")
    store.open({"config": "a", "data": "x"}, resume=False)
    with pytest.raises(MeddlError, match=r"different run \(changed: config\)"):
        CheckpointStore(tmp_path / "ckpt").open({"config": "b", "data": "x"}, resume=True)


def test_without_resume_an_old_checkpoint_is_replaced_and_said_so(tmp_path):
    store = CheckpointStore(tmp_path / "ckpt")
    assert store.open({"run": 1}, resume=False) == ""
    with checkpointing(store):
        train_members("table")
    assert store.fit_file(0).is_file()
    message = CheckpointStore(tmp_path / "ckpt").open({"run": 2}, resume=False)
    assert "use --resume to continue it" in message
    assert not store.fit_file(0).exists()


def test_resume_without_a_checkpoint_starts_from_the_beginning_and_says_so(tmp_path):
    message = CheckpointStore(tmp_path / "none").open({"run": 1}, resume=True)
    assert message.startswith("--resume: no checkpoint at") and message.endswith("training from the start.")


def test_checkpointing_is_active_only_inside_its_block(tmp_path):
    store = CheckpointStore(tmp_path / "ckpt")
    assert active_checkpoint() is None
    with checkpointing(store):
        assert active_checkpoint() is store
    assert active_checkpoint() is None


def test_a_checkpoint_written_less_often_still_resumes_identically(tmp_path):
    straight = train_members("table")
    store = CheckpointStore(tmp_path / "ckpt", max_overhead=1e-9)  # only finished fits are written
    store.open({"run": 1}, resume=False)
    with checkpointing(store), pytest.raises(Interrupt):
        train_members("table", interrupt_member=1, interrupt_epoch=3)
    resumed_store = CheckpointStore(tmp_path / "ckpt")
    assert resumed_store.open({"run": 1}, resume=True) == "Resuming from checkpoint: fit 1 finished."
    with checkpointing(resumed_store):
        assert_same_training(straight, train_members("table"))


def test_image_augmenter_state_round_trip_gives_the_same_next_batch():
    augmenter = ImageAugmenter(AugmentationPolicy(flip="horizontal", rotation=10.0, mixup=0.4), seed=5)
    batch = (torch.rand(4, 8, 8, 1), torch.eye(2)[[0, 1, 0, 1]])
    augmenter(batch)
    state = augmenter.get_state()
    expected = augmenter(batch)
    other = ImageAugmenter(augmenter.policy, seed=99)
    other.set_state(state)
    assert all(torch.equal(a, b) for a, b in zip(expected, other(batch)))


def test_each_fit_is_numbered_in_order_and_saved_in_the_current_format(tmp_path):
    store = CheckpointStore(tmp_path / "ckpt")
    store.open({"run": 1}, resume=False)
    model = build("table")
    x, y = table_data()
    with checkpointing(store):
        model.fit(x, y, epochs=2, verbose=0)
        progress = store.start_fit(model._loop(), [], shuffle_seed=7, epochs=2)
    assert progress == FitProgress(index=1, shuffle_seed=7)  # nothing saved of fit 1 yet: train from the start
    with safe_open(str(store.fit_file(0)), framework="pt") as handle:
        header = json.loads(handle.metadata()["meddl_checkpoint"])
    assert header["format"] == CHECKPOINT_FORMAT and header["finished"] and header["history"]["epoch"] == [0, 1]
