"""Keras's "Training & evaluation with the built-in methods" guide on meddl: an output compiled without a loss,
ModelCheckpoint(save_freq=n), PolynomialDecay, and clear errors for variable-length inputs and missing
schedules."""

import numpy as np
import pytest

import meddl
from meddl import layers


def two_output_model():
    meddl.utils.set_random_seed(0)
    inputs = meddl.Input(shape=(5,), name="features")
    hidden = layers.Dense(4, activation="relu")(inputs)
    score = layers.Dense(1, name="score_output")(hidden)
    label = layers.Dense(3, activation="softmax", name="class_output")(hidden)
    return meddl.Model(inputs, [score, label])


def two_output_data(n=40):
    rng = np.random.default_rng(1)
    return rng.random((n, 5)), [rng.random((n, 1)), meddl.utils.to_categorical(rng.integers(0, 3, n), 3)]


@pytest.mark.parametrize("loss", [[None, "categorical_crossentropy"],
                                  {"score_output": None, "class_output": "categorical_crossentropy"}])
def test_an_output_compiled_without_a_loss_is_not_trained(loss):
    model = two_output_model()
    model.compile(optimizer="rmsprop", loss=loss, loss_weights=[5.0, 1.0])
    score_weights = [w.copy() for w in model.get_layer("score_output").get_weights()]
    x, y = two_output_data()
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert set(history.history) == {"loss"}  # Keras 3.15.1 logs no per-output loss when only one output has one
    for before, after in zip(score_weights, model.get_layer("score_output").get_weights()):
        np.testing.assert_array_equal(before, after)
    class_loss = meddl.losses.CategoricalCrossentropy()(y[1], model.predict(x, verbose=0)[1])
    assert model.evaluate(x, y, verbose=0) == pytest.approx(float(class_loss), rel=1e-5)


def test_every_output_without_a_loss_is_refused():
    model = two_output_model()
    with pytest.raises(meddl.MeddlError, match=r"needs a loss for at least one of the outputs"):
        model.compile(optimizer="rmsprop", loss=[None, None])


def test_each_output_keeps_its_logged_loss_when_two_have_one():
    model = two_output_model()
    model.compile(optimizer="rmsprop", loss=["mse", "categorical_crossentropy"])
    history = model.fit(*two_output_data(), batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"loss", "score_output_loss", "class_output_loss"}


def test_model_checkpoint_every_n_batches_counts_across_epochs(tmp_path):
    model = meddl.Sequential([layers.Input((5,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.default_rng(0).random((50, 5)), np.random.default_rng(1).random((50, 1))
    checkpoint = meddl.callbacks.ModelCheckpoint(str(tmp_path / "model-{epoch}-{batch}-{loss:.2f}.keras"),
                                                 save_freq=3)
    model.fit(x, y, batch_size=10, epochs=2, verbose=0, callbacks=[checkpoint])  # 5 batches an epoch
    saved = sorted(path.name.split("-")[1:3] for path in tmp_path.iterdir())
    assert saved == [["1", "3"], ["2", "1"], ["2", "4"]]  # after batches 3, 6 and 9 of the 10
    restored = meddl.models.load_model(max(tmp_path.iterdir(), key=lambda path: path.stat().st_mtime))
    assert restored.count_params() == 6


@pytest.mark.parametrize("save_freq", [0, 2.5, "batch", True])
def test_model_checkpoint_refuses_other_save_freqs(save_freq):
    with pytest.raises(meddl.MeddlError, match=r"'save_freq' parameter of ModelCheckpoint must be 'epoch' or a "
                                               r"positive int"):
        meddl.callbacks.ModelCheckpoint("model.keras", save_freq=save_freq)


def test_model_checkpoint_says_what_it_saves_as_keras_does(tmp_path, capsys):
    model = meddl.Sequential([layers.Input((5,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.random.default_rng(0).random((20, 5)), np.random.default_rng(1).random((20, 1))
    checkpoint = meddl.callbacks.ModelCheckpoint(str(tmp_path / "best.keras"), monitor="loss", save_best_only=True,
                                                 verbose=1)
    model.fit(x, y, epochs=1, verbose=0, callbacks=[checkpoint])
    assert f"Epoch 1: loss improved from None to {checkpoint.best:.5f}, saving model to {tmp_path / 'best.keras'}" \
        in capsys.readouterr().err


def test_polynomial_decay_matches_keras():
    decay = meddl.optimizers.schedules.PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01, power=2.0)
    cycling = meddl.optimizers.schedules.PolynomialDecay(0.1, decay_steps=100, end_learning_rate=0.01, power=2.0,
                                                         cycle=True)
    steps = (0, 30, 100, 150)
    # Keras 3.15.1's values at these steps
    assert [decay(step) for step in steps] == pytest.approx([0.1, 0.0541, 0.01, 0.01])
    assert [cycling(step) for step in steps] == pytest.approx([0.1, 0.0541, 0.01, 0.015625])
    saved = meddl.optimizers.schedules.serialize(cycling)
    assert meddl.optimizers.schedules.deserialize(saved)(150) == pytest.approx(0.015625)
    optimizer = meddl.optimizers.SGD(learning_rate=decay)
    model = meddl.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer=optimizer, loss="mse")
    model.fit(np.ones((4, 2)), np.ones((4, 1)), batch_size=1, epochs=1, verbose=0)
    assert model._torch_optimizer.param_groups[0]["lr"] == pytest.approx(decay(4))
    with pytest.raises(meddl.MeddlError, match="'end_learning_rate' parameter of PolynomialDecay"):
        meddl.optimizers.schedules.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=-1)


def test_missing_schedules_and_variable_length_inputs_are_named():
    with pytest.raises(AttributeError, match="CosineDecayRestarts.*use CosineDecay"):
        meddl.optimizers.schedules.CosineDecayRestarts  # noqa: B018
    with pytest.raises(meddl.MeddlError, match=r"variable-length dimensions \(None\) are not supported. Got "
                                               r"\(None, 10\)"):
        meddl.Input(shape=(None, 10))
    assert meddl.Input(shape=(20, 10)).sample_shape == (20, 10)  # a fixed length is fine


class LogisticEndpoint(layers.Layer):
    """The guide's endpoint layer: called on targets and logits, it adds its own loss."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = meddl.losses.BinaryCrossentropy(from_logits=True)

    def call(self, targets, logits, sample_weights=None):
        self.add_loss(self.loss_fn(targets, logits, sample_weights))
        return meddl.ops.softmax(logits)


def endpoint_model():
    meddl.utils.set_random_seed(3)
    inputs = meddl.Input(shape=(3,), name="inputs")
    targets = meddl.Input(shape=(10,), name="targets")
    logits = layers.Dense(10, name="logits")(inputs)
    predictions = LogisticEndpoint(name="predictions")(targets, logits)  # two tensors as two arguments
    return meddl.Model(inputs=[inputs, targets], outputs=predictions)


def test_a_layer_called_with_two_tensors_adds_the_loss_of_a_model_compiled_without_one(tmp_path):
    model = endpoint_model()
    model.compile(optimizer="adam")  # no loss: the endpoint's add_loss is the loss
    rng = np.random.default_rng(0)
    data = {"inputs": rng.random((6, 3)).astype("float32"), "targets": rng.random((6, 10)).astype("float32")}
    logits = model.get_layer("logits")(data["inputs"]).detach()
    expected = meddl.losses.BinaryCrossentropy(from_logits=True)(data["targets"], logits)
    assert model.evaluate(data, verbose=0) == pytest.approx(float(expected), rel=1e-5)
    history = model.fit(data, batch_size=6, epochs=2, verbose=0)  # no y
    assert history.history["loss"][0] == pytest.approx(float(expected), rel=1e-5)
    assert history.history["loss"][1] < history.history["loss"][0]
    probabilities = model.predict(data, verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    model.save(tmp_path / "endpoint")  # the graph keeps the two-argument call
    reloaded = meddl.models.load_model(tmp_path / "endpoint", custom_objects={"LogisticEndpoint": LogisticEndpoint})
    np.testing.assert_allclose(reloaded.predict(data, verbose=0), probabilities, rtol=1e-6)


def test_a_model_compiled_without_a_loss_that_adds_none_says_so():
    meddl.utils.set_random_seed(0)
    model = meddl.Sequential([layers.Input((3,)), layers.Dense(1)])
    model.compile(optimizer="adam")
    with pytest.raises(meddl.MeddlError, match=r"No loss to compute: compile\(\) was given no 'loss'"):
        model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0)
