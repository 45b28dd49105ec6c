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
