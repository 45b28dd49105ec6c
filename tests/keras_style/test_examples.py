"""The Keras-style example programs run on meddl (one epoch each), and the freeze recipe freezes."""

import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "keras_style"


def run_example(name: str, *arguments: str, monkeypatch) -> dict:
    monkeypatch.setattr(sys, "argv", [name, *arguments])
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_mnist_convnet_example(monkeypatch):
    result = run_example("mnist_convnet.py", "--epochs", "2", "--train-samples", "400", monkeypatch=monkeypatch)
    assert result["model"].count_params() == 34826  # Keras's count for this architecture
    assert result["x_train"].shape == (400, 28, 28, 1) and result["y_train"].shape == (400, 10)
    assert set(result["history"].history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert np.isfinite(result["score"]).all()


def test_sequential_model_guide_example_freezes_and_fine_tunes(monkeypatch):
    result = run_example("sequential_model_guide.py", "--epochs", "1", monkeypatch=monkeypatch)
    assert result["frozen_unchanged"] and result["head_changed"]
    assert [tuple(f.shape) for f in result["features"]] == [(1, 12, 12, 32), (1, 10, 10, 32), (1, 8, 8, 32)]


def test_functional_api_guide_example(monkeypatch, tmp_path):
    result = run_example("functional_api_guide.py", "--epochs", "1", "--out", str(tmp_path), monkeypatch=monkeypatch)
    assert result["reloaded_accuracy"] == pytest.approx(result["test_scores"][1])
    assert (tmp_path / "digits_model.png").read_bytes()[:4] == b"\x89PNG"
    assert "dense" in (tmp_path / "digits_model_with_shapes.txt").read_text()
    assert result["priority"].shape == (64, 1) and result["department"].shape == (64, 4)
    assert len(result["features"]) == len(result["resnet"].layers)
    assert np.isfinite(result["history"].history["loss"]).all()


def test_training_guide_example(monkeypatch, tmp_path):
    result = run_example("training_guide.py", "--epochs", "1", "--out", str(tmp_path), monkeypatch=monkeypatch)
    assert result["predictions"].shape == (3, 10)
    assert np.isfinite(result["function_loss"] + result["class_loss"] + result["endpoint_loss"]).all()
    assert 0 < result["true_positives"][0] <= len(result["x_train"])  # a count of rows, as in Keras
    assert set(result["list_history"].history) == set(result["dict_history"].history) == {
        "loss", "score_output_loss", "class_output_loss", "score_output_mean_absolute_percentage_error",
        "score_output_mean_absolute_error", "class_output_categorical_accuracy"}
    assert len(result["none_loss"]) == 1 and len(result["loss_history"].per_batch_losses) > 0
    assert (tmp_path / "mymodel_1.keras").is_file() and len(list((tmp_path / "ckpt").iterdir())) >= 2
    assert 0 < result["restored_accuracy"] <= 1


def test_saving_guide_example(monkeypatch, tmp_path):
    result = run_example("saving_guide.py", "--out", str(tmp_path), monkeypatch=monkeypatch)
    assert result["transferred"] and "model.export(format='tf_saved_model') is not supported" in result["export_error"]
    assert result["custom_prediction"].shape == (4, 1) and (result["custom_prediction"] >= 0).all()  # squared
    assert (tmp_path / "custom_model.keras").is_file() and (tmp_path / "pretrained.weights.h5").is_file()


def test_fraud_detection_example(monkeypatch, tmp_path):
    result = run_example("fraud_detection.py", "--epochs", "2", "--out", str(tmp_path), monkeypatch=monkeypatch)
    history = result["history"].history
    assert set(history) == {f"{prefix}{name}" for prefix in ("", "val_")
                            for name in ("loss", "fn", "fp", "tn", "tp", "precision", "recall")}
    for prefix, rows in (("", 2400), ("val_", 600)):  # the four counts cover every row, each epoch
        counts = sum(np.array(history[f"{prefix}{name}"]) for name in ("fn", "fp", "tn", "tp"))
        np.testing.assert_array_equal(counts, rows)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fraud_model_at_epoch_1.keras",
                                                                 "fraud_model_at_epoch_2.keras"]
