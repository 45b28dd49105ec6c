"""Shared helpers for task tests: small learnable data sets written to temporary files."""

import numpy as np
import pandas as pd
import pytest

FAST = {"epochs": 8, "batch_size": 32, "early_stopping": {"patience": 3}}


def patient_table(n=300, seed=0, patients=None):
    """A clinical table: numeric and categorical columns, missing values, a label driven by two features."""
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n).round()
    crp = rng.lognormal(1.0, 0.8, n)
    sex = rng.choice(["female", "male"], n)
    site = rng.choice(["A", "B", "C"], n)
    noise = rng.normal(size=n)
    risk = 0.08 * (age - 60) + 0.9 * np.log(crp) + (sex == "male") * 0.5 + rng.normal(0, 0.5, n)
    label = np.where(risk > np.median(risk), "sepsis", "no sepsis")
    frame = pd.DataFrame({"age": age, "crp": crp, "sex": sex, "site": site, "noise": noise, "label": label})
    frame.loc[rng.choice(n, 20, replace=False), "crp"] = np.nan
    frame.loc[rng.choice(n, 10, replace=False), "site"] = np.nan
    if patients:
        frame.insert(0, "patient", [f"p{i % patients:03d}" for i in range(n)])
    return frame


@pytest.fixture
def table_csv(tmp_path):
    path = tmp_path / "patients.csv"
    patient_table(patients=120).to_csv(path, index=False)
    return path


def diagnosis_config(path, **data):
    return {"task": "diagnosis",
            "data": {"source": "csv", "path": str(path), "label": "label", "positive_class": "sepsis", **data},
            "training": dict(FAST), "evaluation": {"n_resamples": 50}}


OPACITY_PATCH = (slice(3, 9), slice(3, 9))  # where the "opacity" class has its bright square


def write_png_folder(root, n_per_class=24, size=16, seed=0):
    """Grey noise PNGs in root/normal and root/opacity; "opacity" images have a bright square at OPACITY_PATCH."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    for label in ("normal", "opacity"):
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(n_per_class):
            image = rng.integers(0, 60, (size, size), dtype=np.uint8)
            if label == "opacity":
                image[OPACITY_PATCH] = 220
            Image.fromarray(image).save(folder / f"{label}_{i}.png")
    return root
