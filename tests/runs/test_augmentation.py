"""Augmentation in training: the batch transform sees training batches only; runs with a policy are reproducible
and show examples."""

import numpy as np
import pandas as pd

import meddl
from tests.small_data import image_config


def test_the_transform_acts_on_training_batches_only(image_npz):
    from meddl.models.presets import build_model

    calls = []

    def transform(batch):
        calls.append(batch[0].shape[0])
        return (batch[0] * 0, *batch[1:])

    model = build_model("seed-cnn", kind="image", input_shape=(16, 16, 1), n_outputs=2, output_activation="softmax")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((40, 16, 16, 1)).astype(np.float32)
    before = model.predict(x)
    model.batch_transform = transform
    np.testing.assert_array_equal(model.predict(x), before)
    model.fit(x, np.arange(40) % 2, epochs=1, batch_size=16, verbose=0, validation_data=(x, np.arange(40) % 2))
    assert calls == [16, 16, 8]                     # training batches only, not validation


def test_runs_with_a_policy_are_reproducible_and_show_examples(image_npz, tmp_path):
    config = image_config(image_npz, augmentation={"policy": "medium", "elastic": 1.0, "mixup": 0.2})
    first = meddl.train(config, out=tmp_path / "a")
    second = meddl.train(config, out=tmp_path / "b")
    pd.testing.assert_frame_equal(pd.read_csv(first.path / "predictions_test.csv"),
                                  pd.read_csv(second.path / "predictions_test.csv"))
    assert (first.path / "augmentation_examples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = (first.path / "report.html").read_text()
    assert "Training augmentation" in report and "custom (medium + elastic, mixup)" in report
    recipe = first.info["training_recipe"]
    assert recipe["loss"] == "categorical_crossentropy" and recipe["augmentation"]["mixup"] == 0.2
