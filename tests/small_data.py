"""Tiny learnable tables and image sets with fast configs: shared by the run-recipe tests (tests/runs) and the
studies tests (tests/studies). ``image_npz`` is registered for every directory by tests/conftest.py."""

import numpy as np
import pandas as pd
import pytest

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
