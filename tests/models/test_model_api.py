"""The Keras model API on meddl models: freezing, weights, layers, building, dtype policy."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError


def data(n=64, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype(np.float32)
    return x, (x[:, :classes].argmax(axis=1))


def small_model():
    return meddl.Sequential([layers.Input(shape=(6,)), layers.Dense(8, activation="relu"),
                             layers.BatchNormalization(), layers.Dense(3, activation="softmax")])


def test_trainable_false_freezes_weights_and_summary_counts_them():
    model = small_model()
    for layer in model.layers[:-1]:
        layer.trainable = False
    frozen = [w.detach().clone() for layer in model.layers[:-1] for w in layer.weights]
    head = model.layers[-1].kernel.detach().clone()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(*data(), epochs=3, verbose=0)
    after = [w.detach() for layer in model.layers[:-1] for w in layer.weights]
    assert all(torch.equal(a, b) for a, b in zip(frozen, after))  # BN moving statistics too
    assert not torch.equal(head, model.layers[-1].kernel.detach())
    text = model.summary(print_fn=None)
    assert "Trainable params: 27" in text and "Non-trainable params: 88" in text
    assert len(model.trainable_weights) == 2 and len(model.non_trainable_weights) == 6


def test_trainable_on_the_model_freezes_every_layer():
    model = small_model()
    model.trainable = False
    assert not any(p.requires_grad for p in model.parameters())
    model.trainable = True
    assert all(p.requires_grad for p in model.parameters())


def test_layers_weights_get_layer_and_shapes():
    model = small_model()
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "BatchNormalization", "Dense"]
    assert model.get_layer("dense_1") is model.layers[2]
    assert model.get_layer(index=1) is model.layers[1]
    with pytest.raises(MeddlError, match="No layer named 'nope'"):
        model.get_layer("nope")
    assert model.input_shape == (None, 6) and model.output_shape == (None, 3)
    assert len(model.weights) == 2 + 4 + 2
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(6, 8), (8,), (8,), (8,), (8,), (8,), (8, 3), (3,)]


def test_get_and_set_weights_use_keras_layouts():
    model = meddl.Sequential([layers.Input(shape=(5, 5, 2)), layers.Conv2D(3, (2, 3)), layers.Flatten(),
                              layers.Dense(1)])
    weights = model.get_weights()
    assert weights[0].shape == (2, 3, 2, 3)
    np.testing.assert_array_equal(weights[0], model.layers[0].kernel.detach().permute(2, 3, 1, 0).numpy())
    changed = [w + 1 for w in weights]
    model.set_weights(changed)
    assert all(np.allclose(a, b) for a, b in zip(model.get_weights(), changed))
    with pytest.raises(MeddlError, match="needs 4 arrays"):
        model.set_weights(changed[:2])


def test_pop_and_sequential_inside_sequential():
    body = meddl.Sequential([layers.Dense(8, activation="relu"), layers.Dense(4)], name="body")
    model = meddl.Sequential([layers.Input(shape=(6,)), body, layers.Dense(2, activation="softmax")])
    assert model.output_shape == (None, 2) and body.built and body.output_shape == (None, 4)
    assert model.count_params() == (6 * 8 + 8) + (8 * 4 + 4) + (4 * 2 + 2)
    x, y = data(classes=2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    popped = model.pop()
    assert popped.name == "dense" and model.output_shape == (None, 4) and len(model.layers) == 1
    model.add(layers.Dense(1))
    assert model.predict(x).shape == (64, 1)


def test_models_build_on_first_call():
    model = meddl.Sequential([layers.Dense(4), layers.Dense(2)])
    assert not model.built
    out = model(np.zeros((3, 7), np.float32))
    assert out.shape == (3, 2) and model.built and model.input_shape == (None, 7)
    model2 = meddl.Sequential([layers.Dense(4)])
    model2.build((None, 5))
    assert model2.count_params() == 24


def test_save_weights_and_load_weights(tmp_path):
    model = small_model()
    model.save_weights(tmp_path / "w.weights.safetensors")
    other = small_model()
    other.load_weights(tmp_path / "w.weights.safetensors")
    x, _ = data()
    np.testing.assert_array_equal(model.predict(x), other.predict(x))
    with pytest.raises(MeddlError, match="must end in '.weights.h5' \\(Keras's\\) or '.safetensors'"):
        model.save_weights(tmp_path / "w.h5")
    with pytest.raises(meddl.ModelFileError, match="not the legacy '.h5' format; give '.*m.keras'"):
        model.save(tmp_path / "m.h5")


def test_dtype_policy_follows_torch_default_dtype():
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        model = meddl.Sequential([layers.Dense(4, activation="relu"), layers.Dense(1)])
        model.compile(optimizer="adam", loss="mse")
        x, y = data()
        model.fit(x, y.astype(float), epochs=1, verbose=0)
        assert model.dtype == torch.float64 and model.predict(x).dtype == np.float64
        from meddl.survival import LinearCox

        rng = np.random.default_rng(0)
        cox = LinearCox(epochs=20).fit(rng.normal(size=(60, 2)), rng.exponential(size=60) + 0.1,
                                       (rng.random(60) < 0.7).astype(int))
        assert np.isfinite(cox.coef_).all()
    finally:
        torch.set_default_dtype(previous)


def test_binary_precision_recall_and_custom_metric_in_compile():
    x, y = data(classes=2)
    y = (x[:, 0] > 0).astype(int)
    model = meddl.Sequential([layers.Dense(1, activation="sigmoid", input_shape=(6,))])
    model.compile(optimizer=meddl.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["precision", meddl.metrics.Recall(), meddl.metrics.AUC(), meddl.metrics.binary_accuracy])
    history = model.fit(x, y, epochs=20, verbose=0)
    assert set(history.history) == {"loss", "precision", "recall", "auc", "binary_accuracy"}
    assert history.history["auc"][-1] > 0.9 and history.history["binary_accuracy"][-1] > 0.8


def test_validation_data_with_sample_weights_weighs_val_loss_as_keras():
    """Keras's ``validation_data=(x, y, sample_weight)`` weighs val_loss (not the metrics); the weights were
    dropped silently. Keras 3 gives val_loss 0.497957 here, 0.510769 unweighted."""
    rng = np.random.default_rng(8)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    x_val = rng.normal(size=(20, 3)).astype("float32")
    y_val = (x_val[:, :1] > 0).astype("float32")
    weights = np.linspace(0, 2, 20).astype("float32")
    model = meddl.Sequential([meddl.Input((3,)), meddl.layers.Dense(1, activation="sigmoid")])
    model.set_weights([np.array([[0.5], [-0.3], [0.2]], "float32"), np.array([0.1], "float32")])
    model.compile(optimizer=meddl.optimizers.SGD(1e-12), loss="binary_crossentropy", metrics=["accuracy"])
    weighted = model.fit(x, y, batch_size=8, validation_data=(x_val, y_val, weights), validation_batch_size=7,
                         verbose=0).history
    plain = model.fit(x, y, batch_size=8, validation_data=(x_val, y_val), verbose=0).history
    assert weighted["val_loss"][0] == pytest.approx(0.497957, abs=1e-5)
    assert plain["val_loss"][0] == pytest.approx(0.510769, abs=1e-5)
    assert weighted["val_accuracy"] == plain["val_accuracy"]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=8)
    streamed = model.fit(loader, validation_data=(x_val, y_val, weights), verbose=0).history
    assert streamed["val_loss"][0] == pytest.approx(0.497957, abs=1e-5)
    with pytest.raises(meddl.DataError, match="validation_data\\[2\\]"):
        model.fit(x, y, validation_data=(x_val, y_val, weights[:5]), verbose=0)
