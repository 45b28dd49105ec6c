"""Shared helpers for the studies tests: tiny learnable tables and image sets, fast configs; a small noisy table
for the tuning tests, and the shared throwaway PostgreSQL server (tests/services.py)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.services import postgres_url  # noqa: F401  (a fixture: a real PostgreSQL server)

from tests.small_data import FAST, image_config, patient_table, table_config, write_image_npz  # noqa: F401


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
