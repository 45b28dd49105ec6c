"""Learning curves: nested stratified subsets, the output files, the reading and its rule, the CLI."""

import json

import numpy as np
import pandas as pd
import pytest

from meddl import ConfigError
from meddl.cli import main
from meddl.studies.learning_curve import learning_curve, nested_subsets, read_learning_curve

from .conftest import patient_table, table_config


def test_subsets_are_nested_stratified_and_keep_patients_whole():
    frame = patient_table(n=200, patients=80, positive_share=0.3)
    y = (frame["label"] == "disease").to_numpy().astype(int)
    groups = frame["patient"].to_numpy()
    subsets = nested_subsets(y, len(y), [0.1, 0.5, 1.0], groups=groups, seed=0)
    assert set(subsets[0]) <= set(subsets[1]) <= set(subsets[2]) and len(subsets[2]) == 200
    for subset in subsets:
        inside = set(groups[subset])
        assert not inside & set(groups[np.setdiff1d(np.arange(200), subset)])   # patients whole
        assert set(y[subset]) == {0, 1}
    assert len(set(groups[subsets[1]])) == pytest.approx(40, abs=2)


def test_reading_rule():
    improving = read_learning_curve([50, 100, 200], [0.70, 0.78, 0.86], [0.82, 0.90], "AUROC")
    assert improving["verdict"] == "improving" and improving["text"].startswith("Still improving at full size")
    assert improving["slope_per_doubling"] == pytest.approx(0.08) and improving["half_width"] == pytest.approx(0.04)
    flat = read_learning_curve([50, 100, 200], [0.70, 0.84, 0.86], [0.82, 0.90], "AUROC")
    assert flat["verdict"] == "flat" and "more data is unlikely to help much" in flat["text"]
    # The slope is per doubling: a fourfold step halves it.
    assert read_learning_curve([50, 200], [0.80, 0.86], [0.82, 0.90], "AUROC")["slope_per_doubling"] == pytest.approx(0.03)
    assert read_learning_curve([50], [0.8], None, "AUROC")["verdict"] == "undetermined"
    assert read_learning_curve([50, 100], [0.8, 0.805], None, "AUROC")["half_width"] == 0.01


def test_learning_curve_files_and_reading(tmp_path, capsys):
    import yaml

    patient_table().to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(table_config("t.csv")))
    assert main(["learning-curve", str(tmp_path / "config.yaml"), "--fractions", "0.25,0.5,1", "--out",
                 str(tmp_path / "lc")]) == 0
    printed = capsys.readouterr().out
    folder = tmp_path / "lc"
    assert {"learning_curve.csv", "learning_curve.json", "learning_curve.png", "learning_curve.log",
            "config.yaml"} <= {p.name for p in folder.iterdir()}
    points = pd.read_csv(folder / "learning_curve.csv")
    assert points["fraction"].tolist() == [0.25, 0.5, 1.0]
    assert points["n_train"].is_monotonic_increasing and points["n_train"].iloc[-1] > 100
    assert {"val_auroc", "val_auroc_low", "val_auroc_high", "test_auroc"} <= set(points.columns)
    document = json.loads((folder / "learning_curve.json").read_text())
    reading = document["reading"]
    assert reading["verdict"] in ("improving", "flat") and reading["text"] in printed
    expected = read_learning_curve(points["n_train"].tolist(), points["val_auroc"].tolist(),
                                   [points["val_auroc_low"].iloc[-1], points["val_auroc_high"].iloc[-1]], "AUROC")
    assert reading["verdict"] == expected["verdict"]
    assert reading["slope_per_doubling"] == pytest.approx(expected["slope_per_doubling"], rel=1e-9)
    assert reading["half_width"] == pytest.approx(expected["half_width"], rel=1e-9)
    assert (folder / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("fractions, message", [([], "non-empty list"), ([0.5, 1.5], "floats in \\(0, 1\\]"),
                                                ("0.1,abc", "comma-separated numbers"), ([0.5, 0.5], "not repeat")])
def test_fractions_are_checked(fractions, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        learning_curve(table_config(tmp_path / "t.csv"), fractions=fractions, out=tmp_path / "lc")
