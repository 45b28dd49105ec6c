"""The package's version is written once in meddl/version.py and once in pyproject.toml; they agree."""

import re
from pathlib import Path

import meddl


def test_pyproject_and_the_package_give_the_same_version():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^version = "([^"]+)"', text, re.M).group(1) == meddl.__version__
