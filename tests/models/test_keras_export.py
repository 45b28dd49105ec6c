"""meddl writes Keras 3 files: model.save("model.keras") and save_weights("x.weights.h5"). Each Keras-made fixture,
loaded and written back by meddl, has Keras's own weight layout (the same variables under the same paths, with
the same values) and predicts the same; meddl-built models round-trip; what a Keras file cannot hold is refused.
(bench/keras_layer_parity.py loads these files in Keras itself.)"""

import io
import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import meddl
from meddl import layers
from meddl.training import optimizers

FIXTURES = Path(__file__).parent / "fixtures"
KERAS_3_FILES = ["mlp.keras", "cnn.keras", "cnn_gap.keras", "signal.keras", "volume.keras", "functional.keras",
                 "transformer.keras", "frames.keras", "volume_gn.keras", "preprocessing.keras",
                 "keras315_configs.keras", "masked.keras", "visits_attention.keras", "augmented_functional.keras",
                 "masked_encoder.keras"]


def _datasets(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as handle:
        found = {}
        handle.visititems(lambda name, item: found.__setitem__(name, np.asarray(item))
                          if isinstance(item, h5py.Dataset) and not name.startswith("optimizer") else None)
    return found


KERAS_MASK_OPS = {"NotEqual", "Any", "ConvertToTensor", "LogicalOr"}  # Keras records these; meddl masks without them


def _layer_classes(config: dict) -> list[str]:
    return sorted(spec["class_name"] for spec in config["config"]["layers"] if spec["class_name"] not in KERAS_MASK_OPS)


def _inputs(name: str):
    xs = [np.load(path) for path in sorted(FIXTURES.glob(f"{name}.x*.npy"))]
    return xs[0] if len(xs) == 1 else xs


@pytest.mark.parametrize("filename", KERAS_3_FILES)
def test_a_keras_file_written_back_has_kerass_layout_and_predictions(filename, tmp_path):
    model = meddl.load_model(FIXTURES / filename, device="cpu")
    written = tmp_path / filename
    model.save(written)
    original, copy = _datasets(FIXTURES / filename), _datasets(written)
    assert sorted(copy) == sorted(original)  # the same variables under the same group paths
    for key, values in original.items():
        np.testing.assert_array_equal(copy[key], values, err_msg=key)
    config = json.loads(zipfile.ZipFile(written).read("config.json"))
    kept = json.loads(zipfile.ZipFile(FIXTURES / filename).read("config.json"))
    assert _layer_classes(config) == _layer_classes(kept)
    x = _inputs(filename.split(".")[0])
    again = meddl.load_model(written, device="cpu").predict(x)
    expected = model.predict(x)
    for got, want in zip(again if isinstance(again, list) else [again], expected if isinstance(expected, list)
                         else [expected]):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_meddl_built_models_round_trip_through_keras_files(tmp_path):
    rng = np.random.default_rng(0)
    mlp = meddl.Sequential([layers.Input((100,)), layers.Dense(64, activation="relu"),
                            layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    codes = meddl.Input((6,), dtype="int32")
    embedded = layers.Embedding(12, 4, mask_zero=True)(codes)
    attended = layers.MultiHeadAttention(2, 3)(embedded, embedded, use_causal_mask=True)
    encoder = layers.LayerNormalization()(embedded + attended)
    recurrent = layers.Bidirectional(layers.GRU(3, return_sequences=True))(encoder)
    pooled = layers.GlobalAveragePooling1D()(recurrent)
    visits = meddl.Model(codes, {"diagnosis": layers.Dense(3, activation="softmax")(pooled),
                                 "stay": layers.Dense(1)(layers.Dropout(0.2)(pooled))})
    for name, model, x in [("mlp", mlp, rng.normal(size=(4, 100)).astype("float32")),
                           ("visits", visits, np.array([[3, 1, 4, 0, 0, 0], [0, 0, 2, 7, 1, 8]]))]:
        model.save(tmp_path / f"{name}.keras")
        loaded = meddl.load_model(tmp_path / f"{name}.keras")
        predicted, expected = loaded.predict(x), model.predict(x)
        if isinstance(expected, dict):
            assert sorted(predicted) == sorted(expected)  # a dict of outputs stays a dict
            predicted, expected = [predicted[k] for k in sorted(predicted)], [expected[k] for k in sorted(expected)]
        for got, want in zip(predicted if isinstance(predicted, list) else [predicted],
                             expected if isinstance(expected, list) else [expected]):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    trunk = meddl.Sequential([layers.Input((6,)), layers.Dense(8, activation="relu"), layers.BatchNormalization()])
    inputs = meddl.Input((6,))
    nested = meddl.Model(inputs, layers.Dense(2)(layers.Add()([trunk(inputs), layers.Dense(8)(inputs)])))
    nested.save(tmp_path / "nested.keras")
    # Keras's layout: a nested Sequential's layers under its own group, the outer layers in Keras's order
    assert sorted(_datasets(tmp_path / "nested.keras")) == sorted(
        [f"layers/sequential/layers/dense/vars/{i}" for i in (0, 1)]
        + [f"layers/sequential/layers/batch_normalization/vars/{i}" for i in range(4)]
        + [f"layers/dense/vars/{i}" for i in (0, 1)] + [f"layers/dense_1/vars/{i}" for i in (0, 1)])
    with zipfile.ZipFile(tmp_path / "nested.keras") as archive, \
            h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as handle:
        assert handle["layers/dense/vars/0"].shape == (6, 8)  # the inner Dense(8) comes first, the head last
    np.testing.assert_allclose(meddl.load_model(tmp_path / "nested.keras").predict(np.ones((2, 6), "float32")),
                               nested.predict(np.ones((2, 6), "float32")), rtol=1e-6)
    mlp.save_weights(tmp_path / "mlp.weights.h5")
    fresh = meddl.Sequential([layers.Input((100,)), layers.Dense(64, activation="relu"),
                              layers.Dense(64, activation="relu"), layers.Dense(10, activation="softmax")])
    fresh.load_weights(tmp_path / "mlp.weights.h5")
    np.testing.assert_array_equal(fresh.predict(np.ones((2, 100), "float32")), mlp.predict(np.ones((2, 100), "float32")))


class Triage(meddl.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(4)

    def call(self, x):
        return self.hidden(x)


def test_what_a_keras_file_cannot_hold_is_refused_and_nothing_is_written(tmp_path):
    residual = meddl.Sequential([layers.Input((8, 8, 2)), layers.ResidualBlock(2)])
    nested = meddl.Sequential([layers.Input((3,)), Triage()])  # a subclassed model alone is written, as Keras
    for model, message in [(residual, "'residual_block.*' \\(ResidualBlock\\) has no Keras counterpart"),
                           (nested, "subclassed model \\(Triage\\) inside another model")]:
        with pytest.raises(meddl.ModelFileError, match=message):
            model.save(tmp_path / "model.keras")
        with pytest.raises(meddl.ModelFileError, match=message):
            model.save_weights(tmp_path / "model.weights.h5")
        assert not list(tmp_path.iterdir())
    with pytest.raises(meddl.ModelFileError, match="'.*' \\(LSTM\\) needs 3 weight arrays"):
        meddl.Sequential([layers.Input((5, 2)), layers.LSTM(3)]).load_weights(_mlp_weights(tmp_path))


def _mlp_weights(tmp_path) -> Path:
    path = tmp_path / "other.weights.h5"
    meddl.Sequential([layers.Input((5, 2)), layers.Dense(3)]).save_weights(path)
    return path


def _small_classifier() -> "meddl.Sequential":
    return meddl.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                             layers.Dense(3, activation="softmax")])


def _compile_config(path: Path) -> dict:
    return json.loads(zipfile.ZipFile(path).read("config.json"))["compile_config"]


def test_a_compiled_model_writes_kerass_compile_config(tmp_path):
    model = _small_classifier()
    model.compile(optimizer=meddl.optimizers.Adam(learning_rate=3e-4, beta_1=0.8), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", meddl.metrics.AUC(curve="PR")])
    model.save(tmp_path / "compiled.keras")
    # what Keras 3.15.1 writes for the same compile (its module names the public package; Keras reads either)
    assert _compile_config(tmp_path / "compiled.keras") == {
        "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "registered_name": None,
                      "config": {"name": "adam", "learning_rate": 3e-4, "beta_1": 0.8, "beta_2": 0.999,
                                 "epsilon": 1e-07, "weight_decay": None}},
        "loss": "sparse_categorical_crossentropy", "loss_weights": None,
        "metrics": ["accuracy", {"module": "keras.metrics", "class_name": "AUC", "registered_name": None,
                                 "config": {"name": "auc", "curve": "PR"}}],
        "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}
    loaded = meddl.load_model(tmp_path / "compiled.keras", device="cpu")  # and meddl reads it back compiled
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.metrics_names == model.metrics_names == ["loss", "accuracy", "auc"]


def test_loss_settings_clipping_and_schedules_are_written_as_keras_objects(tmp_path):
    model = _small_classifier()
    schedule = meddl.optimizers.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.9)
    model.compile(optimizer=meddl.optimizers.RMSprop(learning_rate=schedule, centered=True, clipnorm=1.0),
                  loss=meddl.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1))
    model.save(tmp_path / "settings.keras")
    written = _compile_config(tmp_path / "settings.keras")
    optimizer = written["optimizer"]["config"]
    assert optimizer["learning_rate"] == {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
                                          "config": schedule.get_config(), "registered_name": None}
    assert (optimizer["centered"], optimizer["clipnorm"], optimizer["weight_decay"]) == (True, 1.0, None)
    assert written["loss"] == {"module": "keras.losses", "class_name": "CategoricalCrossentropy",
                               "registered_name": None,
                               "config": {"name": "categorical_crossentropy", "from_logits": True,
                                          "label_smoothing": 0.1, "reduction": "sum_over_batch_size"}}
    loaded = meddl.load_model(tmp_path / "settings.keras", device="cpu")
    assert loaded.loss.get_config() == model.loss.get_config()
    assert loaded.optimizer.centered and type(loaded.optimizer.schedule).__name__ == "ExponentialDecay"


def test_a_model_with_named_outputs_writes_its_losses_weights_and_metrics_by_output(tmp_path):
    inputs = layers.Input((4,))
    model = meddl.Model(inputs, {"risk": layers.Dense(1, name="risk")(inputs),
                                 "stage": layers.Dense(3, activation="softmax", name="stage")(inputs)})
    model.compile(optimizer="adamw", loss={"risk": "mse", "stage": "sparse_categorical_crossentropy"},
                  loss_weights={"risk": 0.5, "stage": 2.0}, metrics={"stage": ["accuracy"]})
    model.save(tmp_path / "outputs.keras")
    written = _compile_config(tmp_path / "outputs.keras")
    assert written["loss"] == {"risk": "mean_squared_error", "stage": "sparse_categorical_crossentropy"}
    assert written["loss_weights"] == {"risk": 0.5, "stage": 2.0}
    assert written["metrics"] == {"stage": ["accuracy"]}
    assert written["optimizer"]["config"]["weight_decay"] == 0.004  # Keras's AdamW needs a number
    loaded = meddl.load_model(tmp_path / "outputs.keras", device="cpu")
    assert loaded.metrics_names == model.metrics_names and loaded.loss_weights == [0.5, 2.0]


def test_what_keras_cannot_compile_is_left_out_with_a_warning(tmp_path):
    model = _small_classifier()
    model.compile(optimizer=optimizers.AdamL2(weight_decay=1e-4), loss="sparse_categorical_crossentropy")
    with pytest.warns(UserWarning, match="AdamL2"):
        model.save(tmp_path / "l2.keras")
    assert _compile_config(tmp_path / "l2.keras") == {}  # Keras loads it uncompiled, as Keras writes that

    def own_metric(y_true, y_pred):
        return (y_pred.argmax(dim=-1) == y_true).float()

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy", own_metric, "dice"])
    with pytest.warns(UserWarning, match="own_metric.*dice"):
        model.save(tmp_path / "own.keras")
    assert _compile_config(tmp_path / "own.keras")["metrics"] == ["accuracy"]


def test_an_uncompiled_model_writes_kerass_empty_compile_config(tmp_path):
    _small_classifier().save(tmp_path / "plain.keras")
    assert _compile_config(tmp_path / "plain.keras") == {}
