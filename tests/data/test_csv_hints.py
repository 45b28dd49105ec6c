"""Issue 13, item 13: CSV problems analysts meet get a message with the fix."""

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.data import read_table
from meddl.errors import DataError, did_you_mean

ROWS = [["p1", 50, 22.5, "f", "disease"], ["p2", 61, 30.1, "m", "no disease"]]


def test_a_latin1_file_says_it_looks_like_another_encoding_and_how_to_set_data_encoding(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("name,dx\nJos\u00e9,a\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"'.*t.csv' is not utf-8 text \(byte 0xe9 on line 2\); it looks like "
                                        r"another encoding.*Set data.encoding: latin-1"):
        read_table(path)
    assert read_table(path, encoding="latin-1")["name"].tolist() == ["Jos\u00e9"]


def test_an_unknown_encoding_name_is_a_data_error(tmp_path):
    (tmp_path / "t.csv").write_text("a\n1\n")
    with pytest.raises(DataError, match="unknown encoding: klingon"):
        read_table(tmp_path / "t.csv", encoding="klingon")


def test_a_semicolon_file_says_how_to_set_data_sep_and_reads_with_it(tmp_path):
    path = tmp_path / "t.csv"
    pd.DataFrame(ROWS, columns=["pid", "age", "bmi", "sex", "dx"]).to_csv(path, sep=";", index=False)
    with pytest.raises(DataError, match=r"has one column, 'pid;age;bmi;sex;dx', which looks separated by ';', "
                                        r"not ','\. Set data.sep: ';'"):
        read_table(path)
    assert list(read_table(path, sep=";").columns) == ["pid", "age", "bmi", "sex", "dx"]


def test_a_comma_file_read_with_another_given_separator_says_so(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"looks separated by ',', not ';'\. Set data.sep: ','"):
        read_table(tmp_path / "t.csv", sep=";")


def test_a_tab_separated_csv_is_detected_too(tmp_path):
    (tmp_path / "t.csv").write_text("a\tb\n1\t2\n")
    with pytest.raises(DataError, match=r"looks separated by a tab.*data.sep: '\\t'"):
        read_table(tmp_path / "t.csv")


def test_a_header_only_file_says_no_data_rows(tmp_path):
    (tmp_path / "t.csv").write_text("pid,age,dx\n")
    with pytest.raises(DataError, match=r"'.*t.csv' has a header \(3 columns\) but no data rows"):
        read_table(tmp_path / "t.csv")


def test_data_encoding_and_data_sep_reach_the_reader_from_a_config(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n), "s\u00e9x": rng.choice(["f", "m"], n),
                          "dx": np.where(x > 0, "malade", "sain")})
    frame.to_csv(tmp_path / "t.csv", sep=";", index=False, encoding="latin-1")
    config = {"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "label": "dx",
                                            "positive_class": "malade", "encoding": "latin-1", "sep": ";"},
              "training": {"epochs": 1}, "evaluation": {"n_resamples": 0, "conformal_coverage": None}}
    run = meddl.train(config, out=tmp_path / "run")
    assert [c["name"] for c in run.info["input"]["columns"]] == ["x", "z", "s\u00e9x"]
    assert len(run.predict(tmp_path / "t.csv")) == n  # prediction reads files as the training file was read


def test_did_you_mean_keeps_the_users_capitals():
    assert did_you_mean("age", ["Age", "BMI"]) == " Did you mean 'Age'?"
    assert did_you_mean("bmi", ["Age", "BMI"]) == " Did you mean 'BMI'?"
    assert did_you_mean("zzz", ["Age", "BMI"]) == ""


def test_a_wrong_label_column_suggests_the_column_as_written(tmp_path):
    pd.DataFrame(ROWS, columns=["PID", "Age", "BMI", "Sex", "Diagnosis"]).to_csv(tmp_path / "t.csv", index=False)
    config = {"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "label": "diagnosis"}}
    with pytest.raises(DataError, match=r"column 'diagnosis' is not in .*Did you mean 'Diagnosis'\?"):
        meddl.train(config, out=tmp_path / "run")
