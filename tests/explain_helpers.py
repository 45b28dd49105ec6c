"""Runs with a known signal, and hand-made models, shared by the explain tests and the run-explanation tests.

The session fixtures (``table_run``, ``table_explanation``, ``image_run``) are registered for every test
directory by tests/conftest.py.
"""

import contextlib

import numpy as np
import pandas as pd
import pytest
import torch

import meddl
from meddl.runs import explain_run

# PATCH: where the bright patch of the "opacity" images lies (rows, columns) in the 16 x 16 images.
from tests.runs.conftest import OPACITY_PATCH as PATCH  # noqa: F401 - re-exported
from tests.runs.conftest import write_png_folder as write_labelled_pngs

SIGNAL_COLUMNS = ("lactate", "heart_rate")


@contextlib.contextmanager
def one_thread():
    """Run torch on one thread, then restore the caller's setting.

    These tests run many small forward passes; on a shared 2-core machine two
    torch threads spend more time waiting for each other than computing
    (tests/conftest.py does the same for pytest-xdist workers).
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def signal_table(n=360, seed=0):
    """A clinical table whose label depends on lactate and heart rate only.

    ``stage`` is a categorical column (one-hot encoded) with a small real effect,
    ``noise`` and ``ward`` carry nothing; ``noise`` has missing values (so it gets
    a missing-value indicator).
    """
    rng = np.random.default_rng(seed)
    lactate = rng.lognormal(0.5, 0.5, n)
    heart_rate = rng.normal(90, 15, n)
    stage = rng.choice(["I", "II", "III"], n)
    noise = rng.normal(size=n)
    ward = rng.choice(["north", "south"], n)
    risk = 2.0 * np.log(lactate) + 0.08 * (heart_rate - 90) + 0.3 * (stage == "III") + rng.normal(0, 0.3, n)
    label = np.where(risk > np.median(risk), "sepsis", "no sepsis")
    frame = pd.DataFrame({"lactate": lactate, "heart_rate": heart_rate, "stage": stage, "noise": noise,
                          "ward": ward, "label": label})
    frame.loc[rng.choice(n, n // 14, replace=False), "noise"] = np.nan
    return frame


def table_config(path):
    return {"task": "diagnosis",
            "data": {"source": "csv", "path": str(path), "label": "label", "positive_class": "sepsis"},
            "training": {"epochs": 8, "batch_size": 32, "early_stopping": {"patience": 3}},
            "evaluation": {"n_resamples": 20}}


def write_png_folder(root, n_per_class=30, size=16, seed=0):
    """Grey noise images; the "opacity" class has a bright square at PATCH (the tasks tests' helper)."""
    return write_labelled_pngs(root, n_per_class=n_per_class, size=size, seed=seed)


def image_config(path):
    conv = {"type": "Conv2D", "filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"}
    return {"task": "diagnosis", "data": {"source": "image_folder", "path": str(path)},
            "model": {"preset": "custom", "layers": [
                {**conv, "name": "conv_a"}, {"type": "MaxPooling2D", "pool_size": 2}, {**conv, "name": "conv_b"},
                {"type": "GlobalAveragePooling2D"}, {"type": "Dense", "units": 2, "activation": "softmax"}]},
            "training": {"epochs": 8, "batch_size": 16, "augmentation": False, "early_stopping": None,
                         "learning_rate": 0.01},
            "evaluation": {"n_resamples": 20}}


@pytest.fixture(scope="session")
def table_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain_table")
    signal_table().to_csv(root / "patients.csv", index=False)
    meddl.set_seed(0)
    with one_thread():
        return meddl.train(table_config(root / "patients.csv"), out=root / "run")


@pytest.fixture(scope="session")
def table_explanation(table_run, tmp_path_factory):
    with one_thread():
        return explain_run(table_run, out_dir=tmp_path_factory.mktemp("explanation") / "out", n_resamples=50, seed=0)


@pytest.fixture(scope="session")
def image_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("explain_images")
    write_png_folder(root / "images")
    meddl.set_seed(0)
    with one_thread():
        return meddl.train(image_config(root / "images"), out=root / "run")


class TreatmentNet(torch.nn.Module):
    """A hand-made two-headed outcome model: mu0(x) = x1 + x2, mu1(x) = mu0(x) + 2 * tanh(x0)."""

    def mu0(self, x):
        return x[:, 1] + x[:, 2]

    def mu1(self, x):
        return self.mu0(x) + 2.0 * torch.tanh(x[:, 0])

    def effect(self, x):
        return self.mu1(x) - self.mu0(x)


class CoxRisk(torch.nn.Module):
    """A hand-made survival risk score: log hazard ratio = x @ beta."""

    def __init__(self, beta):
        super().__init__()
        self.beta = torch.nn.Parameter(torch.as_tensor(beta, dtype=torch.float32))

    def forward(self, x):
        return x @ self.beta
