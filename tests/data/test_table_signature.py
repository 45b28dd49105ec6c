"""A Parquet file under a CSV name is named as Parquet, not blamed on the text encoding."""

import pytest

from meddl.data import read_table
from meddl.errors import DataError
from tests.runs.conftest import patient_table


@pytest.mark.parametrize("name", ["x.csv", "x.tsv"])
def test_a_parquet_file_named_csv_is_called_parquet(tmp_path, name):
    patient_table(n=20).to_parquet(tmp_path / "real.parquet")
    (tmp_path / name).write_bytes((tmp_path / "real.parquet").read_bytes())
    with pytest.raises(DataError, match=r"is a Parquet file \(it starts with Parquet's signature 'PAR1'\)") as caught:
        read_table(tmp_path / name)
    assert f"'{tmp_path / name}'" in str(caught.value) and "encoding" not in str(caught.value)
