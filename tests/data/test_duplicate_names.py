"""Issue 13, item 12: duplicate CSV column names and duplicate YAML keys are refused, not silently renamed/overwritten."""

import pandas as pd
import pytest

import meddl
from meddl.data import read_table
from meddl.data.tables import check_column_names
from meddl.errors import ConfigError, DataError
from meddl.io import read_yaml


def test_a_csv_repeating_a_column_name_is_refused_before_pandas_renames_it(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("pid,age,age,dx\n1,50,27.1,a\n2,60,31.0,b\n")
    with pytest.raises(DataError, match=r"'.*t.csv' repeats column name\(s\) \['age'\]: each column needs its own "
                                        r"name\. Rename the repeated columns"):
        read_table(path)


def test_a_tsv_and_gzip_csv_repeating_names_are_refused_too(tmp_path):
    (tmp_path / "t.tsv").write_text("a\tb\ta\n1\t2\t3\n")
    with pytest.raises(DataError, match=r"repeats column name\(s\) \['a'\]"):
        read_table(tmp_path / "t.tsv")
    pd.DataFrame([[1, 2, 3]], columns=["x", "x", "y"]).to_csv(tmp_path / "t.csv.gz", index=False)
    with pytest.raises(DataError, match=r"repeats column name\(s\) \['x'\]"):
        read_table(tmp_path / "t.csv.gz")


def test_distinct_names_pass_and_the_names_are_kept():
    check_column_names(["age", "Age", "age.1"])


def test_a_yaml_config_repeating_a_key_is_refused_naming_key_and_lines(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("task: diagnosis\ndata:\n  source: builtin\n  name: wisconsin-breast-cancer\n"
                    "training:\n  epochs: 5\n  batch_size: 8\n  epochs: 500\n")
    with pytest.raises(ConfigError, match=r"'.*c.yaml' is not valid YAML: line 8, column 3: key 'epochs' is given "
                                          r"twice \(lines 6 and 8\); keep one of them$"):
        meddl.load_config(path)


def test_read_yaml_reads_plain_yaml_and_refuses_python_objects_and_other_encodings(tmp_path):
    (tmp_path / "ok.yaml").write_text("a: 1\nb: [1, 2]\nc: {d: e}\n")
    assert read_yaml(tmp_path / "ok.yaml") == {"a": 1, "b": [1, 2], "c": {"d": "e"}}
    (tmp_path / "obj.yaml").write_text("a: !!python/object:os.system {}\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        read_yaml(tmp_path / "obj.yaml")
    (tmp_path / "latin.yaml").write_bytes("name: Jos\u00e9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"is not UTF-8 text .*save it as UTF-8"):
        read_yaml(tmp_path / "latin.yaml")
    with pytest.raises(ConfigError, match="does not exist"):
        read_yaml(tmp_path / "missing.yaml")
