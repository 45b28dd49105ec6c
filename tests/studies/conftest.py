"""Shared helpers for the studies tests: tiny learnable tables and image sets, fast configs; a small noisy table
and a throwaway PostgreSQL server for the tuning tests."""

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

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


POSTGRES_BIN = Path(os.environ.get("MEDDL_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url():
    """A throwaway PostgreSQL cluster (initdb + pg_ctl, as the postgres user when run as root); its URL.

    Skips, saying why, only when no server can start here (no PostgreSQL binaries, no postgres user).
    """
    initdb, pg_ctl = POSTGRES_BIN / "initdb", POSTGRES_BIN / "pg_ctl"
    if not initdb.is_file():
        pytest.skip(f"PostgreSQL server binaries not found in {POSTGRES_BIN} (set MEDDL_POSTGRES_BIN)")
    # Not under pytest's 0700 temp folders: the postgres user must be able to reach the cluster's folder.
    root = Path(tempfile.mkdtemp(prefix="meddl-postgres-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        if shutil.which("runuser") is None:
            pytest.skip("running as root and 'runuser' is missing: cannot start PostgreSQL as user postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = _free_port()
    try:
        subprocess.run([*as_postgres, str(initdb), "-D", str(data), "-U", "postgres", "--auth=trust"],
                       check=True, capture_output=True, timeout=120)
        subprocess.run([*as_postgres, str(pg_ctl), "-D", str(data), "-l", str(root / "server.log"), "-w",
                        "-o", f"-p {port} -k {sockets} -c listen_addresses=''", "start"],
                       check=True, capture_output=True, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, LookupError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"PostgreSQL could not start here: {exc} {detail.decode(errors='replace')[-300:]}")
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sockets}&port={port}"
    finally:
        subprocess.run([*as_postgres, str(pg_ctl), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
