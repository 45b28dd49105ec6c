"""Shared helpers for the studies tests: tiny learnable tables and image sets, fast configs; a small noisy table
for the tuning tests, and the shared throwaway PostgreSQL server (tests/services.py)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.services import postgres_url  # noqa: F401  (a fixture: a real PostgreSQL server)

FAST = {"epochs": 4, "batch_size": 32, "early_stopping": {"patience": 2}}


def patient_table(n=160, patients=60, seed=0, positive_share=0.5):
    """A table with a patient id (several rows per patient) and a label driven by two features."""
    rng = np.random.default_rng(seed)
    patient = np.asarray([f"p{i % patients:03d}" for i in range(n)])
    age = rng.normal(60, 10, n).round()
    marker = rng.normal(0, 1, n)
    risk = 0.1 * (age - 60) + 1.5 * marker + rng.normal(0, 0.5, n)
    label = np.where(risk > np.quantile(risk, 1 - positive_share), "disease", "healthy")
    return pd.DataFrame({"patient": patient, "age": age, "marker": marker, "noise": rng.normal(size=n),
                         "label": label})


def table_config(path, **training):
    return {"task": "diagnosis",
            "data": {"source": "csv", "path": str(path), "label": "label", "positive_class": "disease",
                     "patient_id": "patient"},
            "training": {**FAST, **training}, "evaluation": {"n_resamples": 20, "conformal_coverage": None}}


def write_image_npz(path, sizes=(("train", 64), ("val", 24), ("test", 24)), size=16, seed=0, classes=2):
    """A MedMNIST-style .npz: class k has a bright square at a class-specific place."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for split, n in sizes:
        labels = (np.arange(n) % classes).astype(np.uint8)[:, None]
        images = rng.integers(0, 70, (n, size, size), dtype=np.uint8)
        for k in range(1, classes):
            images[labels[:, 0] == k, 2 + 3 * k:6 + 3 * k, 3:8] = 240
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    np.savez(path, **arrays)
    return path


def image_config(path, **training):
    return {"task": "diagnosis", "data": {"source": "medmnist", "path": str(path)},
            "model": {"preset": "default", "options": {"width": 4}},
            "training": {**FAST, "epochs": 2, **training},
            "evaluation": {"n_resamples": 0, "conformal_coverage": None}}


@pytest.fixture(scope="session")
def image_npz(tmp_path_factory):
    return write_image_npz(tmp_path_factory.mktemp("images") / "tiny.npz")


@pytest.fixture(scope="session")
def pretrained(tmp_path_factory, image_npz):
    """A SimCLR encoder folder written through the CLI (``meddl pretrain``), with the config it used."""
    import yaml

    from meddl.cli import main

    root = tmp_path_factory.mktemp("pretrain")
    config = image_config(image_npz)
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(["pretrain", str(root / "config.yaml"), "--out", str(root / "encoder"), "--epochs", "2",
                 "--batch-size", "32"]) == 0
    return root / "encoder", config


@pytest.fixture
def noisy_table(tmp_path) -> Path:
    """200 rows, 4 features, a label that the features predict only partly (validation AUROC < 1)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=1.2, size=200) > 0).astype(int)
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(label=y)
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def small_config(path: Path, **tune) -> dict:
    """A fast diagnosis config: few epochs, a small searched space."""
    return {"task": "diagnosis", "data": {"source": "csv", "path": str(path), "label": "label"},
            "training": {"epochs": 6, "early_stopping": {"patience": 3}},
            "evaluation": {"n_resamples": 50},
            "tune": {"space": {"training.early_stopping.patience": 3, "training.batch_size": 64,
                               "model.depth": 1, "model.width": {"low": 8, "high": 32, "integer": True}},
                     **tune}}
