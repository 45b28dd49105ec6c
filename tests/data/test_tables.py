import sys

import pandas as pd
import pytest

from meddl.data import MissingDependencyError, read_table
from meddl.errors import import_optional
from meddl.errors import DataError, MeddlError

FRAME = pd.DataFrame({"age": [61, 45], "sex": ["f", "m"], "weight": [70.5, None]})


@pytest.mark.parametrize("name", ["t.csv", "t.tsv", "t.csv.gz", "t.parquet", "T.CSV"])
def test_read_table_round_trips_each_format(tmp_path, name):
    path = tmp_path / name
    if name.endswith("parquet"):
        FRAME.to_parquet(path)
    else:
        FRAME.to_csv(path, sep="\t" if ".tsv" in name else ",", index=False)
    pd.testing.assert_frame_equal(read_table(path), FRAME)


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError, match="Table file not found: '.*nope.csv'"):
        read_table(tmp_path / "nope.csv")


def test_folder_is_refused(tmp_path):
    with pytest.raises(DataError, match="is a folder"):
        read_table(tmp_path)


def test_unsupported_suffix_lists_supported_ones(tmp_path):
    path = tmp_path / "t.xlsx"
    path.write_bytes(b"x")
    with pytest.raises(DataError, match=r"unsupported file type '.xlsx'. Supported: .csv, .tsv, .parquet"):
        read_table(path)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.csv", b"", "is empty"),
        ("ragged.csv", b"a,b\n1,2\n3,4,5,6\n", r"Could not read CSV table '.*ragged.csv': .*Expected 2 fields"),
        ("latin.csv", "name\nJos\u00e9\n".encode("latin-1"), r"latin.csv' is not utf-8 text .*data.encoding: latin-1"),
        ("bad.parquet", b"not parquet at all", r"Could not read PARQUET table '.*bad.parquet'"),
    ],
)
def test_unreadable_tables_raise_data_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_missing_optional_package_gives_the_pip_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    path = tmp_path / "t.parquet"
    path.write_bytes(b"x")
    with pytest.raises(MissingDependencyError, match=r"pip install 'meddl\[parquet\]'") as info:
        read_table(path)
    assert isinstance(info.value, MeddlError) and isinstance(info.value, ImportError)


def test_import_optional_returns_the_module():
    assert import_optional("json", "Testing").dumps([1]) == "[1]"
