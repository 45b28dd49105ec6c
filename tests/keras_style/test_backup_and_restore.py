"""BackupAndRestore: a fit interrupted mid-way and called again continues from its last epoch and ends with the
weights of an uninterrupted fit; backups of another model are refused."""

import numpy as np
import pytest
import torch

import meddl
from meddl import callbacks, layers
from meddl.errors import MeddlError
from tests.training.test_checkpoint import Interrupt, InterruptAt


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 4)).astype("float32")
    return x, (x[:, 0] - x[:, 1] > 0).astype("int64")


def _model():
    meddl.set_seed(0)
    model = meddl.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"), layers.Dropout(0.2),
                              layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_an_interrupted_fit_resumes_where_it_stopped_and_ends_as_an_uninterrupted_one(tmp_path):
    x, y = _data()
    whole = _model()
    whole_history = whole.fit(x, y, epochs=8, batch_size=16, verbose=0,
                              callbacks=[callbacks.ReduceLROnPlateau(monitor="loss", patience=1)])
    model = _model()
    with pytest.raises(Interrupt):
        model.fit(x, y, epochs=8, batch_size=16, verbose=0, callbacks=[
            callbacks.BackupAndRestore(tmp_path / "backup"), callbacks.ReduceLROnPlateau(monitor="loss", patience=1),
            InterruptAt(4)])
    assert (tmp_path / "backup").is_dir()
    seen = []
    history = model.fit(x, y, epochs=8, batch_size=16, verbose=0, callbacks=[
        callbacks.BackupAndRestore(tmp_path / "backup"), callbacks.ReduceLROnPlateau(monitor="loss", patience=1),
        callbacks.LambdaCallback(on_epoch_begin=lambda epoch, logs: seen.append(epoch))])
    assert seen == [4, 5, 6, 7]  # the crash came at the start of epoch 4: it runs from there
    assert history.history["loss"] == pytest.approx(whole_history.history["loss"])
    for resumed, uninterrupted in zip(model.get_weights(), whole.get_weights()):
        np.testing.assert_array_equal(resumed, uninterrupted)
    assert not (tmp_path / "backup").exists()  # deleted once the fit ended


def test_a_backup_of_another_model_or_length_is_refused_and_data_loaders_cannot_resume(tmp_path):
    x, y = _data()
    model = _model()
    with pytest.raises(Interrupt):
        model.fit(x, y, epochs=5, verbose=0, callbacks=[
            callbacks.BackupAndRestore(tmp_path / "backup", delete_checkpoint=False), InterruptAt(1)])
    with pytest.raises(MeddlError, match="is of another model or of a fit of 5 epochs \\(this one: 6\\)"):
        model.fit(x, y, epochs=6, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path / "backup")])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=8)
    with pytest.raises(MeddlError, match="BackupAndRestore\\) trains on arrays"):
        _model().fit(loader, epochs=2, verbose=0, callbacks=[callbacks.BackupAndRestore(tmp_path / "other")])
    with pytest.raises(MeddlError, match="save_freq='epoch'"):
        callbacks.BackupAndRestore(tmp_path / "b", save_freq=100)
