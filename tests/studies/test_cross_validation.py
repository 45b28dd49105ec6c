"""Cross-validation: patient-grouped folds, the output folder, the refitted run, the CLI, errors."""

import json

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl import ConfigError
from meddl.cli import main
from meddl.data import kfold_splits
from meddl.studies.cross_validation import _carve_validation

from .conftest import patient_table, table_config


@pytest.fixture(scope="module")
def cv_folder(tmp_path_factory):
    import yaml

    root = tmp_path_factory.mktemp("cv")
    patient_table().to_csv(root / "t.csv", index=False)
    (root / "config.yaml").write_text(yaml.safe_dump(table_config("t.csv")))
    code = main(["cv", str(root / "config.yaml"), "--folds", "3", "--refit", "--out", str(root / "cv")])
    assert code == 0
    return root / "cv", patient_table()


def test_folds_and_validation_parts_never_share_a_patient():
    frame = patient_table(n=150, patients=50)
    y = (frame["label"] == "disease").to_numpy().astype(int)
    groups = frame["patient"].to_numpy()
    pairs = kfold_splits(y, folds=4, repeats=2, groups=groups, seed=3)
    assert len(pairs) == 8
    for index, (train_rows, test_rows) in enumerate(pairs):
        assert not set(groups[train_rows]) & set(groups[test_rows])
        train, val = _carve_validation(train_rows, y, groups, True, 0.2, index)
        assert not set(groups[train]) & set(groups[val])
        assert sorted(np.concatenate([train, val])) == sorted(train_rows)
    for repeat in range(2):
        tested = np.concatenate([test for _, test in pairs[repeat * 4:(repeat + 1) * 4]])
        assert sorted(tested) == list(range(150))


def test_cv_folder_structure(cv_folder):
    folder, frame = cv_folder
    assert {"config.yaml", "folds.csv", "fold_metrics.csv", "summary.json", "predictions_oof.csv", "cv.log",
            "refit"} <= {p.name for p in folder.iterdir()}
    folds = pd.read_csv(folder / "folds.csv", dtype={"row_id": str})
    assert list(folds.columns) == ["row_id", "repeat", "fold", "patient_id"]
    assert sorted(folds["row_id"].astype(int)) == list(range(len(frame)))  # every row tested exactly once
    assert folds.groupby("patient_id")["fold"].nunique().max() == 1       # a patient stays in one fold
    assert set(folds["fold"]) == {0, 1, 2}
    fold_metrics = pd.read_csv(folder / "fold_metrics.csv")
    assert len(fold_metrics) == 3 and fold_metrics["n_test"].sum() == len(frame)
    assert {"auroc", "auroc_low", "auroc_high", "threshold", "n_train", "n_val"} <= set(fold_metrics.columns)
    assert (fold_metrics["auroc_low"] <= fold_metrics["auroc"]).all()
    summary = json.loads((folder / "summary.json").read_text())
    auroc = summary["metrics"]["auroc"]
    assert auroc["n_folds"] == 3
    assert auroc["mean"] == pytest.approx(fold_metrics["auroc"].mean())
    assert auroc["sd"] == pytest.approx(fold_metrics["auroc"].std(ddof=1))
    pooled = summary["out_of_fold"]["0"]["metrics"]["auroc"]
    assert pooled["ci95"][0] <= pooled["value"] <= pooled["ci95"][1] and pooled["value"] > 0.75
    oof = pd.read_csv(folder / "predictions_oof.csv")
    assert len(oof) == len(frame) and {"repeat", "fold", "y_true", "prob_disease"} <= set(oof.columns)


def test_refit_is_a_normal_run_trained_on_all_rows(cv_folder):
    folder, frame = cv_folder
    run = meddl.load_run(folder / "refit")
    split = pd.read_csv(run.path / "split.csv")
    assert set(split["split"]) == {"train", "val"} and len(split) == len(frame)
    assert split.groupby("patient_id")["split"].nunique().max() == 1
    assert "test" not in run.metrics and run.metrics["val"]["metrics"]["auroc"]["value"] is not None
    assert 0 < run.threshold < 1
    assert len(run.predict(frame.head(5))) == 5


def test_cross_validate_errors(tmp_path):
    patient_table().to_csv(tmp_path / "t.csv", index=False)
    config = table_config(tmp_path / "t.csv")
    with pytest.raises(ConfigError, match="'folds' parameter of cross_validate must be an integer >= 2. Got 1"):
        meddl.cross_validate(config, folds=1, out=tmp_path / "cv")
    with pytest.raises(ConfigError, match="'val_size' parameter of cross_validate must be a float in \\(0, 1\\)"):
        meddl.cross_validate(config, folds=3, val_size=0.0, out=tmp_path / "cv")
    with pytest.raises(meddl.DataError, match="folds=500 is more than the 60 patient groups"):
        meddl.cross_validate(config, folds=500, out=tmp_path / "cv")
    assert not (tmp_path / "cv").exists()
