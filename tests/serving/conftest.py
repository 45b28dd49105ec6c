"""Serving fixtures: small trained runs of every task (once per session), and apps with their users' keys."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.serving import runs
from tests.services import postgres_url  # noqa: F401  (a fixture)

pytest.importorskip("fastapi", reason="the serving tests need meddl[serve]")

from fastapi.testclient import TestClient  # noqa: E402

from meddl.serving import ServeSettings, create_app  # noqa: E402

PATIENTS = {
    "sepsis": {"age": 70, "crp": 3.1, "noise": 0.1, "sex": "male", "site": "A"},
    "age": {"crp": 3.1, "noise": 0.1, "sex": "female", "site": "B"},
    "survival": {"age": 0.2, "marker": -0.4, "noise": 0.0, "stage": "II"},
    "treatment": {"a": 0.1, "b": 1.0, "c": 0.0, "d": 0.3},
}


@dataclass
class Served:
    app: object
    client: TestClient
    keys: dict

    def headers(self, role: str = "clinician") -> dict:
        return {"Authorization": f"Bearer {self.keys[role]}"}


TRAINERS = {"sepsis": runs.train_diagnosis, "age": runs.train_regression, "survival": runs.train_survival,
            "treatment": runs.train_treatment, "xray": runs.train_image}


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """``trained(name)``: the folder of one fixture run, trained on first use (a few seconds each)."""
    root, done = tmp_path_factory.mktemp("serving-runs"), {}

    def run_dir(name: str) -> Path:
        if name not in done:
            done[name] = TRAINERS[name](root)
        return done[name]
    return run_dir


@pytest.fixture(scope="session")
def run_dirs(trained) -> dict[str, Path]:
    return {name: trained(name) for name in TRAINERS}


def serve(run_dirs, db_url: str, **settings) -> Served:
    """An app over every fixture run with a clinician and an admin key."""
    app = create_app(run_dirs, db_url=db_url, settings=ServeSettings(**settings))
    keys = {"clinician": app.state.users.add("dr.lee", "clinician"), "admin": app.state.users.add("root", "admin")}
    return Served(app, TestClient(app), keys)


@pytest.fixture(scope="session")
def served(run_dirs, tmp_path_factory) -> Served:
    """One app for the tests that do not change its users (no rate limit)."""
    return serve(run_dirs, f"sqlite:///{tmp_path_factory.mktemp('db') / 'serve.db'}", rate_limit_per_minute=0)


@pytest.fixture
def fresh(run_dirs, tmp_path) -> Served:
    """An app with its own database, for tests that revoke keys or count audit rows from zero."""
    return serve(run_dirs, f"sqlite:///{tmp_path / 'serve.db'}", rate_limit_per_minute=0)


def png_bytes(size=16, value=200, mode="L", fmt="PNG") -> bytes:
    import io

    import numpy as np
    from PIL import Image

    image = Image.fromarray(np.full((size, size), value, dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()
