"""A model of your own, as Keras's subclassing: layers in __init__, the computation in call."""

import numpy as np
import pytest
import torch

import meddl
from meddl import layers
from meddl.errors import MeddlError, ModelFileError


class TwoLayers(meddl.Model):
    def __init__(self, units=16, n_classes=3, **kwargs):
        super().__init__(**kwargs)
        self.units, self.n_classes = units, n_classes
        self.hidden = layers.Dense(units, activation="relu")
        self.dropout = layers.Dropout(0.5)
        self.out = layers.Dense(n_classes, activation="softmax")

    def call(self, inputs, training=False):
        return self.out(self.dropout(self.hidden(inputs), training=training))

    def get_config(self):
        return {**super().get_config(), "units": self.units, "n_classes": self.n_classes}


class Residual(meddl.Model):
    """Layers kept in a list, as Keras users write them: they must train too."""

    def __init__(self, depth=2, **kwargs):
        super().__init__(**kwargs)
        self.depth = depth
        self.blocks = [layers.Dense(8, activation="tanh") for _ in range(depth)]
        self.head = layers.Dense(1)

    def call(self, x):
        for block in self.blocks:
            x = x + block(x)
        return self.head(x)

    def get_config(self):
        return {**super().get_config(), "depth": self.depth}


def classes(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    return x, np.digitize(x[:, 0] + x[:, 1], [-0.5, 0.5])


def test_a_subclassed_model_trains_like_keras_and_matches_its_sequential_twin():
    x, y = classes()
    model = TwoLayers(units=32)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, batch_size=32, verbose=0, validation_split=0.25, seed=0)
    accuracy, val_accuracy = history.history["accuracy"], history.history["val_accuracy"]
    assert accuracy[-1] > accuracy[0] + 0.2 and val_accuracy[-1] > 0.7  # from about chance (3 classes)
    assert model.evaluate(x[:180], y[:180], return_dict=True)["accuracy"] > 0.75  # dropout off
    assert model.name == "two_layers" or model.name.startswith("two_layers_")
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dropout", "Dense"]
    assert model.count_params() == 8 * 32 + 32 + 32 * 3 + 3
    assert "Total params: 387" in model.summary(print_fn=None)
    probabilities = model.predict(x, verbose=0)
    assert probabilities.shape == (240, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(probabilities, model.predict(x, verbose=0))  # dropout is off when predicting
    twin = meddl.Sequential([layers.Dense(32, activation="relu", input_shape=(8,)), layers.Dense(3, activation="softmax")])
    twin.set_weights([w for layer in (model.hidden, model.out) for w in layer.get_weights()])
    np.testing.assert_allclose(twin.predict(x, verbose=0), probabilities, rtol=1e-5, atol=1e-6)


def test_call_sees_the_training_flag():
    seen = []

    class Spy(meddl.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(1)

        def call(self, x, training=None):
            seen.append(training)
            return self.dense(x)

    model = Spy()
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 2), np.float32)
    model.fit(x, np.ones(8, np.float32), epochs=1, batch_size=8, verbose=0)
    model.predict(x, verbose=0)
    assert seen == [False, True, False]  # build, one training batch, predict


def test_layers_in_a_list_are_tracked_and_trained():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(128, 8)).astype(np.float32)
    y = np.tanh(x[:, :1]) + 0.5 * x[:, 1:2]
    model = Residual(depth=3)
    model.compile(optimizer="adam", loss="mse")
    model.build((8,))
    before = [block.kernel.detach().clone() for block in model.blocks]
    assert len(model.layers) == 4 and model.count_params() == 3 * (8 * 8 + 8) + 9
    model.fit(x, y, epochs=5, verbose=0)
    assert all(not torch.equal(b, block.kernel.detach()) for b, block in zip(before, model.blocks))
    assert sorted(model.named_weights()) == sorted(
        [f"blocks.{i}.{w}" for i in range(3) for w in ("kernel", "bias")] + ["head.kernel", "head.bias"])


def test_save_and_load_in_any_process_by_attribute_path(tmp_path):
    x, y = classes(96)
    model = TwoLayers(units=8, name="triage")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    model.save(tmp_path / "model")
    with pytest.raises(ModelFileError, match=r"class 'TwoLayers', which is not meddl's: pass "
                                             r"custom_objects=\{'TwoLayers': TwoLayers\}"):
        meddl.load_model(tmp_path / "model")
    layers.Dense(3)  # another layer named in between: weights are not keyed by layer names
    loaded = meddl.load_model(tmp_path / "model", custom_objects={"TwoLayers": TwoLayers})
    assert isinstance(loaded, TwoLayers) and loaded.units == 8 and loaded.name == "triage"
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert loaded.evaluate(x, y, return_dict=True) == model.evaluate(x, y, return_dict=True)
    loaded.fit(x, y, epochs=1, verbose=0)  # and keeps training


def test_a_subclassed_model_without_call_or_with_two_outputs_is_refused_clearly():
    class NoCall(meddl.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(1)

    model = NoCall()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(MeddlError, match="defines no call"):
        model.fit(np.ones((4, 2), np.float32), np.ones(4, np.float32), verbose=0)

    class TwoOutputs(NoCall):
        def call(self, x):
            return self.dense(x), self.dense(x)

    with pytest.raises(MeddlError, match="must return one torch tensor"):
        TwoOutputs().build((2,))

    class Forgetful(meddl.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(units)

        def call(self, x):
            return self.dense(x)

    forgetful = Forgetful(units=2)
    forgetful.build((3,))
    with pytest.raises(MeddlError, match=r"Forgetful takes \['units'\] in __init__, so it must override get_config"):
        forgetful.get_config()


def test_a_model_with_kerass_custom_training_step_is_refused_when_defined():
    """fit would never call it: refused at once, not silently skipped."""
    with pytest.raises(MeddlError, match=r"defines \['train_step', 'test_step'\], which meddl's fit"):
        class CustomLoop(meddl.Model):  # noqa: F841 - the definition itself is refused
            def call(self, x):
                return x

            def train_step(self, data):
                return {}

            def test_step(self, data):
                return {}
