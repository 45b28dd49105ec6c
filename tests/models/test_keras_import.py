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


# Keras 3.15.1's compile_config, as model.compile(...) then model.save(...) write it (copied from its files)
def _keras_optimizer(class_name: str, **settings) -> dict:
    config = {"name": class_name.lower(), "learning_rate": 0.0010000000474974513, "weight_decay": None,
              "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
              "ema_overwrite_frequency": None, "loss_scale_factor": None, "gradient_accumulation_steps": None,
              **settings}
    return {"module": f"keras.src.backend.torch.optimizers.torch_{class_name.lower()}", "class_name": class_name,
            "config": config, "registered_name": class_name}


def _keras_compile_config(optimizer: dict, loss, metrics=None, loss_weights=None) -> dict:
    return {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def _compiled_copy(target, compile_config: dict, source_name: str = "mlp.keras"):
    """A copy of a Keras-made fixture whose config.json holds ``compile_config``, as Keras writes it."""
    with zipfile.ZipFile(FIXTURES / source_name) as source, zipfile.ZipFile(target, "w") as copy:
        config = json.loads(source.read("config.json"))
        config["compile_config"] = compile_config
        for name in source.namelist():
            copy.writestr(name, json.dumps(config) if name == "config.json" else source.read(name))
    return target


def test_a_keras_file_compiled_in_keras_loads_compiled_and_fits(tmp_path, recwarn):
    adam = _keras_optimizer("Adam", learning_rate=0.0003000000142492354, beta_1=0.9, beta_2=0.999, epsilon=1e-07,
                            amsgrad=False)
    path = _compiled_copy(tmp_path / "compiled.keras",
                          _keras_compile_config(adam, "sparse_categorical_crossentropy", ["accuracy"]))
    model = meddl.models.load_model(path, device="cpu")
    assert type(model.optimizer) is meddl.optimizers.Adam
    assert model.optimizer.get_config() == {"name": "adam", "learning_rate": 3e-4, "beta_1": 0.9, "beta_2": 0.999,
                                            "epsilon": 1e-07, "weight_decay": 0.0}  # Keras's float32 3e-4 is 3e-4
    assert type(model.loss) is meddl.losses.SparseCategoricalCrossentropy
    assert model.metrics_names == ["loss", "accuracy"]
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    x, _ = inputs_and_outputs("mlp")
    before = model.get_weights()[0].copy()
    history = model.fit(x, np.array([0, 1, 2, 1]), epochs=2, verbose=0)  # no compile(...) needed
    assert list(history.history) == ["accuracy", "loss"]  # sorted, as Keras 3.15.1 logs them
    assert not np.allclose(before, model.get_weights()[0])
    uncompiled = meddl.models.load_model(path, device="cpu", compile=False)  # as Keras's load_model(compile=False)
    with pytest.raises(meddl.errors.NotFittedError, match="compile"):
        uncompiled.fit(x, np.array([0, 1, 2, 1]), epochs=1, verbose=0)


def test_keras_optimizer_settings_loss_objects_and_metric_objects_are_carried_over(tmp_path):
    sgd = _keras_optimizer("SGD", learning_rate=0.05000000074505806, clipnorm=1.0, momentum=0.9, nesterov=True)
    loss = {"module": "keras.losses", "class_name": "BinaryCrossentropy",
            "config": {"name": "binary_crossentropy", "reduction": "sum_over_batch_size", "from_logits": True,
                       "label_smoothing": 0.1, "axis": -1}, "registered_name": None}
    auc = {"module": "keras.metrics", "class_name": "AUC",
           "config": {"name": "auc", "dtype": "float32", "num_thresholds": 200, "curve": "PR",
                      "summation_method": "interpolation", "multi_label": False, "num_labels": None,
                      "label_weights": None, "from_logits": False}, "registered_name": None}
    precision = {"module": "keras.metrics", "class_name": "Precision",
                 "config": {"name": "precision", "dtype": "float32", "thresholds": 0.3, "top_k": None,
                            "class_id": None}, "registered_name": None}
    path = _compiled_copy(tmp_path / "sgd.keras", _keras_compile_config(sgd, loss, [auc, "accuracy", precision]))
    model = meddl.load_model(path, device="cpu")
    optimizer = model.optimizer
    assert (type(optimizer), optimizer.learning_rate, optimizer.momentum, optimizer.nesterov, optimizer.clipping) \
        == (meddl.optimizers.SGD, 0.05, 0.9, True, {"clipnorm": 1.0})
    assert type(model.loss) is meddl.losses.BinaryCrossentropy
    assert model.loss.get_config() == {"name": "binary_crossentropy", "from_logits": True, "label_smoothing": 0.1}
    assert model.metrics_names == ["loss", "auc", "accuracy", "precision"]
    assert model.metric_specs[0] == {"class_name": "AUC", "config": {"name": "auc", "curve": "PR"}}
    assert model.metric_specs[2] == {"class_name": "Precision", "config": {"name": "precision", "thresholds": 0.3}}


def test_a_keras_learning_rate_schedule_and_a_loss_function_are_carried_over(tmp_path):
    schedule = {"module": "keras.optimizers.schedules", "class_name": "ExponentialDecay",
                "config": {"initial_learning_rate": 0.01, "decay_steps": 100, "decay_rate": 0.9, "staircase": False,
                           "name": "ExponentialDecay"}, "registered_name": None}
    function = {"module": "builtins", "class_name": "function", "config": "categorical_crossentropy",
                "registered_name": "function"}
    metric = {"module": "builtins", "class_name": "function", "config": "categorical_accuracy",
              "registered_name": "function"}
    path = _compiled_copy(tmp_path / "schedule.keras",
                          _keras_compile_config(_keras_optimizer("RMSprop", learning_rate=schedule, rho=0.8,
                                                                 momentum=0.0, epsilon=1e-07, centered=False),
                                                function, [metric]))
    model = meddl.load_model(path, device="cpu")
    assert type(model.optimizer) is meddl.optimizers.RMSprop and model.optimizer.rho == 0.8
    assert type(model.optimizer.schedule).__name__ == "ExponentialDecay"
    assert type(model.loss) is meddl.losses.CategoricalCrossentropy
    assert model.metrics_names == ["loss", "categorical_accuracy"]


def test_a_keras_optimizer_meddl_lacks_leaves_the_model_uncompiled_with_a_warning(tmp_path):
    lion = _keras_optimizer("Lion", beta_1=0.9, beta_2=0.99)
    path = _compiled_copy(tmp_path / "lion.keras", _keras_compile_config(lion, "mse"))
    with pytest.warns(UserWarning, match="uncompiled.*Lion"):
        model = meddl.load_model(path, device="cpu")
    assert model.loss is None
    assert "Lion" in model.metadata["keras_import"]["not_restored"][0]
    x, y = inputs_and_outputs("mlp")
    np.testing.assert_allclose(model.predict(x, verbose=0), y[0], rtol=1e-5, atol=1e-6)  # predictions still work
    with pytest.raises(meddl.errors.NotFittedError, match="compile"):
        model.fit(x, np.array([0, 1, 2, 1]), verbose=0)


def test_a_keras_loss_meddl_lacks_leaves_the_model_uncompiled_with_a_warning(tmp_path):
    path = _compiled_copy(tmp_path / "kld.keras", _keras_compile_config(_keras_optimizer("Adam"), "kl_divergence"))
    with pytest.warns(UserWarning, match="uncompiled.*kl_divergence"):
        model = meddl.load_model(path, device="cpu")
    assert model.loss is None


def test_a_keras_metric_meddl_lacks_is_left_out_with_a_warning(tmp_path):
    mean_iou = {"module": "keras.metrics", "class_name": "MeanIoU",
                "config": {"name": "mean_io_u", "dtype": "float32", "num_classes": 3}, "registered_name": None}
    logits_auc = {"module": "keras.metrics", "class_name": "AUC", "config": {"name": "auc", "from_logits": True},
                  "registered_name": None}
    path = _compiled_copy(tmp_path / "metrics.keras",
                          _keras_compile_config(_keras_optimizer("Adam"), "sparse_categorical_crossentropy",
                                                ["accuracy", mean_iou, logits_auc]))
    with pytest.warns(UserWarning, match="compiled without.*MeanIoU.*from_logits"):
        model = meddl.load_model(path, device="cpu")
    assert model.metrics_names == ["loss", "accuracy"]
    assert len(model.metadata["keras_import"]["not_restored"]) == 2


def test_an_uncompiled_keras_file_loads_uncompiled_without_a_warning(recwarn):
    model = meddl.load_model(FIXTURES / "mlp.keras", device="cpu")  # Keras writes "compile_config": {}
    assert model.loss is None
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
