"""Keras model files read by meddl give Keras's predictions (fixtures made by TensorFlow 2.21 / Keras 3.15,
see tests/models/fixtures/make_keras_fixtures.py)."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import meddl

FIXTURES = Path(__file__).parent / "fixtures"
FILES = ["mlp.keras", "mlp.h5", "cnn.keras", "cnn.h5", "cnn_gap.keras", "signal.keras", "signal.h5", "volume.keras",
         "functional.keras", "functional.h5",
         # Keras 3.15 on its torch backend (make_keras3_layer_fixtures.py): MultiHeadAttention (one causal),
         # TimeDistributed, GroupNormalization, 3-D padding and cropping, preprocessing layers, newer activations
         "transformer.keras", "frames.keras", "volume_gn.keras", "preprocessing.keras", "keras315_configs.keras", "masked.keras",
         # make_keras3_layer_fixtures.py, graphs: padding masks written into a functional graph (to self-attention,
         # attention, an LSTM and pooling) with the attention weights as a second output; augmentation, dropout and
         # noise whose recorded training argument is each layer's default; a masked encoder block's residual Add
         "visits_attention.keras", "augmented_functional.keras", "masked_encoder.keras"]


def inputs_and_outputs(name: str):
    xs = [np.load(path) for path in sorted(FIXTURES.glob(f"{name}.x*.npy"))]
    ys = [np.load(path) for path in sorted(FIXTURES.glob(f"{name}.y*.npy"))]
    return (xs[0] if len(xs) == 1 else xs), ys


@pytest.mark.parametrize("filename", FILES)
def test_keras_files_predict_like_keras(filename):
    model = meddl.load_model(FIXTURES / filename, device="cpu")
    x, expected = inputs_and_outputs(filename.split(".")[0])
    predicted = model.predict(x)
    predicted = predicted if isinstance(predicted, list) else [predicted]
    for got, want in zip(predicted, expected):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert model.metadata["keras_import"]["file"] == filename


def test_an_imported_model_trains_on_meddl():
    model = meddl.models.load_model(FIXTURES / "mlp.keras", device="cpu")
    x, _ = inputs_and_outputs("mlp")
    before = model.get_weights()[0].copy()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, np.array([0, 1, 2, 1]), epochs=2, verbose=0)
    assert not np.allclose(before, model.get_weights()[0])


def test_a_transposed_convolution_gives_kerass_outputs():
    """unsupported.keras was made before meddl had Conv2DTranspose; it is read now, to Keras's numbers."""
    model = meddl.load_model(FIXTURES / "unsupported.keras")
    np.testing.assert_allclose(model.predict(np.load(FIXTURES / "unsupported.x.npy"), verbose=0),
                               np.load(FIXTURES / "unsupported.y.npy"), rtol=1e-5, atol=1e-6)


def test_an_unsupported_layer_is_named(tmp_path):
    renamed = tmp_path / "separable.keras"  # the same file, its layer renamed to one meddl does not have
    with zipfile.ZipFile(FIXTURES / "unsupported.keras") as source, zipfile.ZipFile(renamed, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                data = data.replace(b"Conv2DTranspose", b"EinsumDense")
            target.writestr(item, data)
    with pytest.raises(meddl.ModelFileError, match="'conv2d_transpose' of type EinsumDense"):
        meddl.load_model(renamed)


def test_a_broken_keras_file_is_refused(tmp_path):
    broken = tmp_path / "broken.keras"
    broken.write_bytes((FIXTURES / "mlp.keras").read_bytes()[:500])
    with pytest.raises(meddl.ModelFileError, match="Could not read the Keras file"):
        meddl.load_model(broken)


def test_weight_and_activity_regularizers_in_a_keras_file_are_carried_over(tmp_path):
    regularized = tmp_path / "regularized.keras"  # mlp.keras with Keras 3's L2 on the first Dense kernel
    with zipfile.ZipFile(FIXTURES / "mlp.keras") as source, zipfile.ZipFile(regularized, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "config.json":
                data = data.replace(b'"kernel_regularizer": null', b'"kernel_regularizer": {"module": '
                                    b'"keras.regularizers", "class_name": "L2", "config": {"l2": 0.05}, '
                                    b'"registered_name": null}, "activity_regularizer": {"module": '
                                    b'"keras.regularizers", "class_name": "L1", "config": {"l1": 0.02}, '
                                    b'"registered_name": null}', 1)
            target.writestr(item, data)
    model = meddl.load_model(regularized)
    found = [getattr(layer, "kernel_regularizer", None) for layer in model.layers]
    assert found[0].l2 == 0.05 and not any(found[1:])
    assert model.layers[0].activity_regularizer.l1 == 0.02 and model.metadata["keras_import"]["ignored"] == []
    x, ys = inputs_and_outputs("mlp")
    np.testing.assert_allclose(model.predict(x, verbose=0), ys[0], rtol=1e-5, atol=1e-6)


def test_a_keras_graph_calling_a_layer_with_arguments_meddl_does_not_apply_is_refused(tmp_path):
    source = zipfile.ZipFile(FIXTURES / "transformer.keras")
    config = json.loads(source.read("config.json"))
    conv = next(spec for spec in config["config"]["layers"] if spec["class_name"] == "Conv1D")
    conv["inbound_nodes"][0]["kwargs"] = {"use_causal_mask": True}  # only attention layers take it
    changed = tmp_path / "changed.keras"
    with zipfile.ZipFile(changed, "w") as target:
        for name in source.namelist():
            target.writestr(name, json.dumps(config) if name == "config.json" else source.read(name))
    with pytest.raises(meddl.ModelFileError, match=r"is called with \{'use_causal_mask': True\}.*does not apply"):
        meddl.load_model(changed, device="cpu")


def _with_config(source_name: str, target, change) -> None:
    """A copy of a fixture with ``change(config)`` applied to its graph."""
    with zipfile.ZipFile(FIXTURES / source_name) as source:
        config = json.loads(source.read("config.json"))
        change(config["config"]["layers"])
        with zipfile.ZipFile(target, "w") as copy:
            for name in source.namelist():
                copy.writestr(name, json.dumps(config) if name == "config.json" else source.read(name))


def test_a_keras_3_graph_s_recorded_training_modes_are_the_layers_defaults_and_are_not_fixed():
    model = meddl.load_model(FIXTURES / "augmented_functional.keras", device="cpu")
    assert all(node.training is None for node in model._nodes)  # Keras wrote True for RandomFlip, False for Dropout
    x, _ = inputs_and_outputs("augmented_functional")
    np.testing.assert_array_equal(model.predict(x), model.predict(x))  # no augmentation or noise at prediction
    model.train()
    assert not np.allclose(model(x).detach().numpy(), model(x).detach().numpy())  # and all of it in training


def test_a_mask_in_a_keras_graph_that_is_not_the_automatic_padding_mask_is_refused(tmp_path):
    def compare_with_one(layers):  # NotEqual(codes, 1): not the mask Embedding(mask_zero=True) makes
        next(spec for spec in layers if spec["class_name"] == "NotEqual")["inbound_nodes"][0]["args"][1] = 1
    changed = tmp_path / "other_mask.keras"
    _with_config("visits_attention.keras", changed, compare_with_one)
    with pytest.raises(meddl.ModelFileError, match=r"'lstm' \(LSTM\) is called with \{'mask'"):
        meddl.load_model(changed, device="cpu")
