"""The functional API: Input, symbolic calls, Model(inputs, outputs), shared layers, saving."""

import re

import numpy as np
import pytest

import meddl
from meddl import layers
from meddl.errors import MeddlError


def multimodal():
    image = meddl.Input(shape=(8, 8, 1), name="image")
    clinical = meddl.Input(shape=(4,), name="clinical")
    features = layers.GlobalAveragePooling2D()(layers.Conv2D(4, 3, activation="relu")(image))
    joined = layers.Concatenate()([features, layers.Dense(4, activation="relu")(clinical)])
    risk = layers.Dense(1, activation="sigmoid", name="risk")(joined)
    return meddl.Model(inputs=[image, clinical], outputs=risk, name="multimodal")


def multimodal_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.random((n, 8, 8, 1)).astype(np.float32)
    clinical = rng.normal(size=(n, 4)).astype(np.float32)
    y = ((images.mean(axis=(1, 2, 3)) > 0.5) ^ (clinical[:, 0] > 0)).astype(int)
    return images, clinical, y


def test_symbolic_tensors_have_keras_shapes():
    inputs = meddl.Input(shape=(28, 28, 1))
    assert inputs.shape == (None, 28, 28, 1)
    x = layers.Conv2D(8, 3, padding="same", strides=2)(inputs)
    assert x.shape == (None, 14, 14, 8)
    assert layers.Reshape((-1,))(x).shape == (None, 14 * 14 * 8)


def test_several_inputs_fit_predict_evaluate():
    model = multimodal()
    images, clinical, y = multimodal_data()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit([images, clinical], y, epochs=2, batch_size=16, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert model.predict([images, clinical]).shape == (64, 1)
    by_name = model.predict({"image": images, "clinical": clinical})
    np.testing.assert_array_equal(by_name, model.predict([images, clinical]))
    assert len(model.evaluate([images, clinical], y)) == 2
    with pytest.raises(meddl.DataError, match="2 inputs"):
        model.predict(images)


def test_shared_layers_and_multiple_outputs():
    a, b = meddl.Input(shape=(5,)), meddl.Input(shape=(5,))
    shared = layers.Dense(3, name="shared")
    merged = layers.Add()([shared(a), shared(b)])
    model = meddl.Model([a, b], [merged, layers.Multiply()([shared(a), shared(b)])])
    assert [layer.name for layer in model.layers].count("shared") == 1
    assert model.count_params() == 18
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    total, product = model.predict([x, x])
    kernel, bias = shared.get_weights()
    np.testing.assert_allclose(total, 2 * (x @ kernel + bias), atol=1e-5)
    np.testing.assert_allclose(product, (x @ kernel + bias) ** 2, atol=1e-5)


def test_model_used_as_a_layer_and_feature_extraction():
    encoder_input = meddl.Input(shape=(6,))
    encoder = meddl.Model(encoder_input, layers.Dense(3, activation="relu")(encoder_input), name="encoder")
    inputs = meddl.Input(shape=(6,))
    outputs = layers.Dense(2, activation="softmax")(encoder(inputs))
    model = meddl.Model(inputs, outputs)
    x = np.random.default_rng(1).normal(size=(10, 6)).astype(np.float32)
    assert model.predict(x).shape == (10, 2)
    assert model.count_params() == 21 + 8
    sequential = meddl.Sequential([layers.Input(shape=(6,)), layers.Dense(4, activation="relu"), layers.Dense(2)])
    extractor = meddl.Model(inputs=sequential.inputs, outputs=[layer.output for layer in sequential.layers])
    features = extractor.predict(x)
    assert [f.shape for f in features] == [(10, 4), (10, 2)]
    np.testing.assert_allclose(features[-1], sequential.predict(x), atol=1e-6)


def test_summary_shows_connections():
    text = multimodal().summary(print_fn=None)
    assert "Connected to" in text
    assert re.search(r"concatenate(_\d+)? \(Concatenate\)", text)
    assert re.search(r"conv2d(_\d+)?\[0\]\[0\]", text)  # what the pooling layer reads, Keras's notation
    assert "image (InputLayer)" in text


def test_save_and_load_a_functional_model_without_pickle(tmp_path):
    model = multimodal()
    images, clinical, y = multimodal_data()
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit([images, clinical], y, epochs=1, verbose=0)
    model.save(tmp_path / "multimodal")
    assert not list(tmp_path.glob("**/*.pkl"))
    loaded = meddl.models.load_model(tmp_path / "multimodal")
    assert type(loaded).__name__ == "Functional" and loaded.input_names == ["image", "clinical"]
    np.testing.assert_array_equal(loaded.predict([images, clinical]), model.predict([images, clinical]))
    loaded.fit([images, clinical], y, epochs=1, verbose=0)  # compile settings came back


def test_disconnected_graph_and_bad_inputs_are_explained():
    a, b = meddl.Input(shape=(3,)), meddl.Input(shape=(3,))
    joined = layers.Concatenate()([a, b])
    with pytest.raises(MeddlError, match="Graph disconnected"):
        meddl.Model(a, joined)
    with pytest.raises(MeddlError, match="symbolic tensors"):
        meddl.Model(np.zeros(3), joined)
    model = meddl.Model([a, b], [joined, layers.Dense(2, name="other")(joined)])
    with pytest.raises(MeddlError, match=r"2 outputs \['concatenate(_\d+)?', 'other'\]: give 'metrics' as a list with "
                                         "one entry .* per output, or a dict"):
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    with pytest.raises(MeddlError, match=r"names outputs the model does not have: \['another'\]"):
        model.compile(optimizer="adam", loss="mse", metrics={"another": "mae"})
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(meddl.DataError, match="2 outputs"):
        model.fit([np.zeros((4, 3))] * 2, np.zeros((4, 6)), verbose=0)


def test_several_outputs_train_on_the_weighted_sum_of_their_losses(tmp_path):
    inputs = meddl.Input(shape=(4,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    risk = layers.Dense(1, activation="sigmoid", name="risk")(hidden)
    grade = layers.Dense(3, activation="softmax", name="grade")(hidden)
    model = meddl.Model(inputs, [risk, grade])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4)).astype(np.float32)
    y_risk, y_grade = (x[:, 0] > 0).astype(int), rng.integers(0, 3, 40)
    model.compile(optimizer="adam", loss={"risk": "binary_crossentropy", "grade": "sparse_categorical_crossentropy"},
                  loss_weights={"risk": 1.0, "grade": 0.0})
    model.fit(x, {"risk": y_risk, "grade": y_grade}, epochs=1, verbose=0)
    with_weights, risk_loss, _ = model.evaluate(x, [y_risk, y_grade])  # the loss, then each output's
    probabilities = model.predict(x)[0][:, 0]
    expected = -np.mean(y_risk * np.log(probabilities) + (1 - y_risk) * np.log(1 - probabilities))
    assert with_weights == pytest.approx(expected, rel=1e-4) == risk_loss  # grade's loss weighs 0
    history = model.fit(x, [y_risk, y_grade], epochs=2, verbose=0, validation_split=0.25)
    assert set(history.history) == {"loss", "risk_loss", "grade_loss", "val_loss", "val_risk_loss", "val_grade_loss"}
    model.save(tmp_path / "two_heads")
    loaded = meddl.load_model(tmp_path / "two_heads")
    assert loaded.loss_weights == [1.0, 0.0]


def test_several_outputs_log_each_outputs_loss_and_metrics_as_keras_3(tmp_path):
    inputs = meddl.Input(shape=(4,))
    hidden = layers.Dense(8, activation="relu")(inputs)
    model = meddl.Model(inputs, {"diagnosis": layers.Dense(3, activation="softmax")(hidden),
                                 "stay": layers.Dense(1)(hidden)})  # a dict: its keys name the outputs
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 4)).astype(np.float32)
    y = {"diagnosis": rng.integers(0, 3, 30), "stay": rng.normal(size=(30, 1)).astype(np.float32)}
    model.compile(optimizer="sgd", loss={"diagnosis": "sparse_categorical_crossentropy", "stay": "mse"},
                  loss_weights={"diagnosis": 1.0, "stay": 0.5}, metrics={"diagnosis": ["accuracy"], "stay": "mae"})
    assert model.metrics_names == ["loss", "diagnosis_loss", "stay_loss", "diagnosis_accuracy", "stay_mae"]
    predicted = model.predict(x)
    assert sorted(predicted) == ["diagnosis", "stay"]
    probabilities, stay = predicted["diagnosis"], predicted["stay"]
    cross_entropy = -np.mean(np.log(probabilities[np.arange(30), y["diagnosis"]]))
    squared = np.mean((stay - y["stay"]) ** 2)
    logs = model.evaluate(x, y, return_dict=True)
    assert logs["diagnosis_loss"] == pytest.approx(cross_entropy, rel=1e-5)
    assert logs["stay_loss"] == pytest.approx(squared, rel=1e-5)
    assert logs["loss"] == pytest.approx(cross_entropy + 0.5 * squared, rel=1e-5)  # the weighted sum
    assert logs["diagnosis_accuracy"] == pytest.approx(np.mean(probabilities.argmax(1) == y["diagnosis"]))
    assert logs["stay_mae"] == pytest.approx(np.mean(np.abs(stay - y["stay"])), rel=1e-5)
    assert model.evaluate(x, y) == pytest.approx([logs[name] for name in model.metrics_names])
    weights = rng.uniform(0.5, 2.0, 30).astype(np.float32)
    weighted = model.fit(x, y, sample_weight=weights, epochs=1, batch_size=30, shuffle=False, verbose=0)
    # one batch: the logged per-output losses are the step's, weighted as its loss is (Keras's sum / rows)
    assert weighted.history["stay_loss"][0] == pytest.approx(np.sum(weights * (stay - y["stay"])[:, 0] ** 2) / 30,
                                                             rel=1e-5)
    model.save(tmp_path / "two_heads")
    loaded = meddl.load_model(tmp_path / "two_heads")
    assert loaded.output_names == ["diagnosis", "stay"] and sorted(loaded.predict(x)) == ["diagnosis", "stay"]
    assert loaded.evaluate(x, y, return_dict=True).keys() == model.evaluate(x, y, return_dict=True).keys()
    listed = meddl.Model(inputs, [model.layers[-2].output, model.layers[-1].output])
    listed.compile(optimizer="sgd", loss="mse", metrics=[["mae"], None])  # a list: one entry per output
    assert listed.metrics_names[-1].endswith("_mae") and isinstance(listed.predict(x), list)


def test_nested_models_shared_layers_and_recurrent_layers_round_trip(tmp_path):
    encoder_input = meddl.Input(shape=(6, 3))
    encoder = meddl.Model(encoder_input, layers.Bidirectional(layers.GRU(4))(encoder_input), name="encoder")
    a, b = meddl.Input(shape=(6, 3)), meddl.Input(shape=(6, 3))
    shared = layers.Dense(2, name="shared_head")
    body = meddl.Sequential([layers.Dense(5, activation="relu"), layers.LayerNormalization()], name="body")
    model = meddl.Model([a, b], layers.Add()([shared(body(encoder(a))), shared(body(encoder(b)))]))
    x = np.random.default_rng(0).random((3, 6, 3)).astype(np.float32)
    model.save(tmp_path / "siamese")
    loaded = meddl.load_model(tmp_path / "siamese")
    np.testing.assert_array_equal(loaded.predict([x, x[::-1]]), model.predict([x, x[::-1]]))
    assert "encoder[1][0]" in loaded.summary(print_fn=None)  # the second call of the shared encoder
