"""Predictions warn when the input is unlike the training data (issue 13, item 14)."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.cli import main
from meddl.errors import ModelFileError, UnlikeTrainingDataWarning
from meddl.runs import RunFolder
from meddl.runs.input_profile import InputCheck, InputProfile

from .conftest import diagnosis_config, patient_table


@pytest.fixture(scope="module")
def run_and_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("warn")
    patient_table(n=200).to_csv(root / "train.csv", index=False)
    meddl.set_seed(0)
    return meddl.train(diagnosis_config(root / "train.csv"), out=root / "run"), root


def _new(n=300, seed=5):
    return patient_table(n=n, seed=seed).drop(columns=["label"])


def test_each_prediction_row_gets_a_warnings_field_naming_imputed_columns(run_and_root):
    run, _ = run_and_root
    table = _new()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnlikeTrainingDataWarning)  # nothing is wrong with the whole table
        predictions = run.predict(table)
    assert "warnings" in predictions.columns and len(predictions) == len(table)
    missing_crp = table["crp"].isna().to_numpy()
    assert all("imputed: crp" in text for text in predictions.loc[missing_crp, "warnings"])
    assert not any("crp" in text for text in predictions.loc[~missing_crp, "warnings"])
    unlike = predictions["warnings"].str.contains("unlike the training data")
    assert unlike.mean() < 0.1  # rows like the training data are rarely flagged (threshold: training 99th pct)


def test_a_unit_error_flags_every_row_and_warns_naming_the_column_and_its_range(run_and_root):
    run, root = run_and_root
    table = _new()
    table["age"] = table["age"] * 12  # months instead of years
    with pytest.warns(UnlikeTrainingDataWarning, match=r"Column 'age' is outside the training range \[\d+, \d+\] "
                                                       r"in all 300 rows that have it: check its unit") as caught:
        predictions = run.predict(table)
    assert predictions["warnings"].str.contains("outside training range: age").all()
    assert predictions["warnings"].str.contains("unlike the training data").all()
    profile = json.loads((run.path / RunFolder.INPUT_PROFILE).read_text())
    low, high = profile["numeric_ranges"]["age"]
    train_age = pd.read_csv(root / "train.csv")["age"]
    assert (low, high) == (train_age.min(), train_age.max())
    message = str(caught[0].message)
    assert f"[{low:g}, {high:g}]" in message and f"{train_age.median():g}" not in message  # only the range is shown


def test_a_column_missing_in_every_row_warns_naming_it(run_and_root):
    run, _ = run_and_root
    table = _new()
    table["crp"] = np.nan
    with pytest.warns(UnlikeTrainingDataWarning, match=r"Column 'crp' is empty in all 300 rows: every value was "
                                                       r"imputed"):
        predictions = run.predict(table)
    assert predictions["warnings"].str.contains("imputed: crp").all()


def test_cli_predict_writes_a_warnings_column_and_a_summary_line(run_and_root, tmp_path, capsys):
    run, _ = run_and_root
    table = _new()
    table["age"] = table["age"] * 12
    table.to_csv(tmp_path / "new.csv", index=False)
    assert main(["predict", str(run.path), str(tmp_path / "new.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    written = pd.read_csv(tmp_path / "p.csv")
    assert written["warnings"].str.contains("outside training range: age").all()
    err = capsys.readouterr().err.splitlines()
    assert "meddl predict: warning: Column 'age' is outside the training range" in err[0]
    assert err[1].startswith("meddl predict: warning: 300 of 300 rows have warnings (column 'warnings'): ")
    assert "300 outside the training range" in err[1] and "300 unlike the training data" in err[1]


def test_the_input_profile_is_a_verified_file_of_the_run(run_and_root, tmp_path):
    import shutil

    run, _ = run_and_root
    copy = tmp_path / "run"
    shutil.copytree(run.path, copy)
    assert RunFolder(copy).verify().ok
    profile = json.loads((copy / RunFolder.INPUT_PROFILE).read_text())
    profile["numeric_ranges"]["age"] = [0, 10_000]
    (copy / RunFolder.INPUT_PROFILE).write_text(json.dumps(profile))
    with pytest.raises(ModelFileError, match=r"'input_profile.json' has changed"):
        meddl.load_run(copy)


def test_input_checks_of_chunks_add_up_to_the_check_of_the_whole_table(run_and_root):
    run, _ = run_and_root
    table = _new()
    table.loc[:, "crp"] = np.nan
    whole = run.input_profile.check(table, run.preprocessor)
    parts = run.input_profile.check(table.iloc[:100], run.preprocessor).combine(
        run.input_profile.check(table.iloc[100:], run.preprocessor))
    assert (parts.n_rows, parts.n_with_warnings, parts.n_imputed, parts.n_unlike) == \
        (whole.n_rows, whole.n_with_warnings, whole.n_imputed, whole.n_unlike)
    assert parts.column_warnings() == whole.column_warnings() and len(whole.column_warnings()) == 1
    assert isinstance(whole, InputCheck)
    restored = InputProfile.from_dict(run.input_profile.to_dict())
    assert restored.check(table, run.preprocessor).row_warnings == whole.row_warnings
