"""``meddl predict`` streams a large CSV in chunks with the same output (issue 13, item 16).

The memory figure itself (1,000,000 rows within 150 MB of the 10-row case) is measured by
bench/predict_memory.py; here the chunked output must equal the unchunked one exactly.
"""

import pandas as pd
import pytest

import meddl
from meddl.cli import main
from meddl.errors import DataError
from meddl.runs import write_predictions

from .conftest import diagnosis_config, patient_table


@pytest.fixture(scope="module")
def run_and_table(tmp_path_factory):
    root = tmp_path_factory.mktemp("stream")
    patient_table(n=160).to_csv(root / "train.csv", index=False)
    meddl.set_seed(0)
    run = meddl.train(diagnosis_config(root / "train.csv"), out=root / "run")
    table = patient_table(n=2500, seed=3).drop(columns=["label"])
    table.loc[1024:2047, "site"] = None  # a chunk where a categorical column is entirely empty
    table.to_csv(root / "new.csv", index=False)
    return run, root


@pytest.mark.parametrize("chunk_rows", [1, 1024, 2000, 100_000])
def test_chunked_predictions_equal_unchunked_predictions_exactly(run_and_table, chunk_rows, tmp_path):
    run, root = run_and_table
    expected = run.predict(root / "new.csv").to_csv(index=False)
    assert write_predictions(run, root / "new.csv", tmp_path / "p.csv", chunk_rows=chunk_rows).rows == 2500
    assert (tmp_path / "p.csv").read_text() == expected
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]  # no temporary left beside it


def test_cli_predict_streams_to_a_file_and_to_stdout_with_the_same_output(run_and_table, tmp_path, capsys):
    run, root = run_and_table
    expected = run.predict(root / "new.csv").to_csv(index=False)
    assert main(["predict", str(run.path), str(root / "new.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p.csv").read_text() == expected
    assert "Wrote 2500 prediction(s)" in capsys.readouterr().out
    assert main(["predict", str(run.path), str(root / "new.csv")]) == 0
    assert capsys.readouterr().out == expected


def test_a_bad_value_in_a_late_chunk_names_its_row_and_leaves_no_output(run_and_table, tmp_path):
    run, root = run_and_table
    table = pd.read_csv(root / "new.csv")
    table["age"] = table["age"].astype(object)
    table.loc[2100, "age"] = "sixty"
    table.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(DataError, match=r"Column 'age' must be numeric.*2100"):
        write_predictions(run, tmp_path / "bad.csv", tmp_path / "p.csv", chunk_rows=100)
    assert not (tmp_path / "p.csv").exists() and [p.name for p in tmp_path.iterdir()] == ["bad.csv"]


def test_chunk_rows_must_be_a_positive_integer(run_and_table, tmp_path):
    run, root = run_and_table
    with pytest.raises(DataError, match=r"'chunk_rows' parameter of write_predictions must be an integer >= 1. "
                                        r"Got 0 instead"):
        write_predictions(run, root / "new.csv", tmp_path / "p.csv", chunk_rows=0)
