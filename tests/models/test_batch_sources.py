"""fit / evaluate / predict on a torch DataLoader or a Python generator, as Keras 3 takes them."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import meddl
from meddl import layers
from meddl.errors import DataError, MeddlError


def data(n=128, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6)).astype(np.float32)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)


def twin_models(seed=0):
    """Two compiled models with the same initial weights."""
    models = []
    for _ in range(2):
        meddl.utils.set_random_seed(seed)
        model = meddl.Sequential([layers.Dense(8, activation="relu", input_shape=(6,)),
                                  layers.Dense(2, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", "auc"])
        models.append(model)
    return models


def assert_same_weights(a, b):
    for left, right in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_allclose(left, right, rtol=1e-5, atol=1e-6)


def test_a_dataloader_trains_exactly_as_the_same_arrays_in_the_same_order():
    x, y = data()
    on_arrays, on_loader = twin_models()
    weights = np.linspace(0.5, 1.5, len(y)).astype(np.float32)
    expected = on_arrays.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0, sample_weight=weights,
                             validation_data=(x[:40], y[:40]))
    loader = DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y), torch.tensor(weights)), batch_size=32)
    history = on_loader.fit(loader, epochs=3, verbose=0, validation_data=(x[:40], y[:40]))
    assert_same_weights(on_arrays, on_loader)
    for key, values in expected.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-5)
    np.testing.assert_allclose(on_loader.predict(DataLoader(TensorDataset(torch.tensor(x)), batch_size=50)),
                               on_arrays.predict(x, verbose=0), rtol=1e-6)
    assert on_loader.evaluate(DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=50),
                              return_dict=True) == pytest.approx(on_arrays.evaluate(x, y, return_dict=True), rel=1e-5)


def test_class_weights_apply_to_each_batch_as_to_arrays():
    x, y = data()
    on_arrays, on_loader = twin_models()
    on_arrays.fit(x, y, batch_size=64, epochs=2, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 3.0})
    on_loader.fit(DataLoader(TensorDataset(torch.tensor(x), torch.tensor(y)), batch_size=64), epochs=2, verbose=0,
                  class_weight={0: 1.0, 1: 3.0})
    assert_same_weights(on_arrays, on_loader)


def test_a_generator_with_steps_per_epoch_validation_steps_and_callbacks():
    x, y = data(256)
    rng = np.random.default_rng(1)

    def batches(size=32):
        while True:
            rows = rng.integers(0, len(y), size)
            yield x[rows], y[rows]

    model = meddl.Sequential([layers.Dense(2, activation="softmax")])  # no input shape: built from batch 0
    model.compile(optimizer=meddl.optimizers.Adam(learning_rate=0.05), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stop = meddl.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    history = model.fit(batches(), steps_per_epoch=4, epochs=40, verbose=0, callbacks=[stop],
                        validation_data=batches(64), validation_steps=2).history
    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert history["val_accuracy"][-1] > 0.85 and len(history["loss"]) < 40  # learnt, then stopped early
    assert model.evaluate(x, y, return_dict=True)["accuracy"] > 0.85


def test_a_generator_read_once_trains_one_epoch_on_every_batch_including_the_first():
    x, y = data(96)
    model = meddl.Sequential([layers.Dense(2, activation="softmax")])  # built from the first batch, then trained on it
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit((part for part in zip(np.split(x, 3), np.split(y, 3))), verbose=0)
    steps = {int(state["step"]) for state in model._torch_optimizer.state_dict()["state"].values()}
    assert steps == {3}  # Adam's step count: all three batches
    with pytest.raises(MeddlError, match=r"is read once: for 5 epochs pass steps_per_epoch=N"):
        model.fit(iter([(x, y)]), epochs=5, verbose=0)


@pytest.mark.parametrize("kwargs, batches, error, match", [
    (dict(y=np.zeros(4)), [(np.zeros((4, 6)), np.zeros(4))], MeddlError, "takes no 'y': each batch holds its targets"),
    (dict(validation_split=0.2), [(np.zeros((4, 6)), np.zeros(4))], MeddlError, "pass validation_data instead"),
    (dict(class_weight="balanced"), [(np.zeros((4, 6)), np.zeros(4))], MeddlError, "give a dict"),
    (dict(steps_per_epoch=0), [(np.zeros((4, 6)), np.zeros(4))], MeddlError, "'steps_per_epoch' parameter must be"),
    (dict(), [np.zeros((4, 6))], DataError, r"Batch 0 of the training data must be \(x, y\)"),
    (dict(), [(np.zeros((4, 6)), np.zeros(4)), (np.zeros((4, 5)), np.zeros(4))], DataError,
     r"x \(batch 1\)"),
    (dict(), [(np.zeros((4, 6)), np.array([0, 1, 2, 1]))], DataError, r"y \(batch 0\)' has labels outside \[0, 2\)"),
    (dict(), [], DataError, "gave no batches"),
])
def test_bad_batches_and_arguments_are_named(kwargs, batches, error, match):
    model = meddl.Sequential([layers.Dense(2, activation="softmax", input_shape=(6,))])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    with pytest.raises(error, match=match):
        model.fit(iter(batches), verbose=0, **kwargs)


class _Rows(meddl.utils.PyDataset):
    """Keras's PyDataset example: batches by index, with a record of the epoch hooks."""

    def __init__(self, x, y=None, batch_size=32, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size, self.calls = x, y, batch_size, []

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[rows] if self.y is None else (self.x[rows], self.y[rows])

    def on_epoch_begin(self):
        self.calls.append("begin")

    def on_epoch_end(self):
        self.calls.append("end")


def test_a_py_dataset_trains_as_the_same_arrays_and_calls_its_epoch_hooks():
    x, y = data()
    on_arrays, on_dataset = twin_models()
    expected = on_arrays.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    rows = _Rows(x, y, workers=2)
    history = on_dataset.fit(rows, epochs=2, shuffle=False, verbose=0, validation_data=_Rows(x[:40], y[:40]))
    assert_same_weights(on_arrays, on_dataset)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-5)
    assert history.params["steps"] == 4 and "val_accuracy" in history.history
    assert rows.calls == ["begin", "end", "begin", "end"] and rows.workers == 2
    np.testing.assert_allclose(on_dataset.predict(_Rows(x, batch_size=50)), on_arrays.predict(x), rtol=1e-6)
    assert on_dataset.evaluate(_Rows(x, y), return_dict=True) == pytest.approx(
        on_arrays.evaluate(x, y, return_dict=True), rel=1e-5)
    assert meddl.utils.Sequence is meddl.utils.PyDataset  # Keras 2's name


def test_fit_shuffles_the_order_of_a_py_dataset_s_batches():
    x, y = data()
    seen = []

    class Order(_Rows):
        def __getitem__(self, index):
            seen.append(index)
            return super().__getitem__(index)

    model = twin_models()[0]
    model.fit(Order(x, y, batch_size=8), epochs=1, verbose=0)  # shuffle=True, as Keras's default
    assert sorted(seen) == list(range(16)) and seen != list(range(16))
