"""Issue 13, item 17 (readers): random tables and configs either load or raise MeddlError, never another exception.

Property-based (Hypothesis), with a bounded number of examples so the file runs in seconds.
"""

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meddl
from meddl.data import read_table
from meddl.errors import MeddlError
from meddl import RunConfig

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CELL = st.one_of(st.text(alphabet=st.characters(codec="utf-8"), max_size=6), st.sampled_from(
    ["", "1", "-2.5", "nan", "NA", '"', '""', "a,b", "x;y", "\t", "é", "1e309", "True", "#", "\\"]))
ROWS = st.lists(st.lists(CELL, min_size=0, max_size=5), min_size=0, max_size=6)
SEPARATORS = st.sampled_from([",", ";", "\t", "|"])


def _check_table(path, **options):
    try:
        frame = read_table(path, **options)
    except MeddlError:
        return
    assert isinstance(frame, pd.DataFrame)


@FAST
@given(content=st.binary(max_size=200), suffix=st.sampled_from([".csv", ".tsv", ".csv.gz", ".parquet"]))
def test_random_bytes_as_a_table_load_or_raise_meddl_error(content, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"t{suffix}"
        path.write_bytes(content)
        _check_table(path)


@FAST
@given(rows=ROWS, written_with=SEPARATORS, read_with=st.one_of(st.none(), SEPARATORS),
       encoding=st.sampled_from([None, "utf-8", "latin-1", "utf-16", "cp1252"]),
       written_in=st.sampled_from(["utf-8", "latin-1", "utf-16"]))
def test_random_text_tables_load_or_raise_meddl_error(rows, written_with, read_with, encoding, written_in):
    text = "\n".join(written_with.join(row) for row in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_bytes(text.encode(written_in, errors="replace"))
        _check_table(path, sep=read_with, encoding=encoding)


YAML_TEXT = st.one_of(
    st.text(max_size=120),
    st.lists(st.sampled_from(["task: diagnosis", "task: [", "data:", "  source: csv", "  source: builtin",
                              "  name: wisconsin-breast-cancer", "  path: x.csv", "  label: dx", "training:",
                              "  epochs: 0", "  epochs: 5", "  epochs: -1", "  epochs: many", "model: default",
                              "model: [1, 2]", "  - {type: dense}", "evaluation: {threshold: {method: fixed}}",
                              "&a [*a]", "!!python/object:os.system {}", "? [a, b]\n: 1", "\t", "---", "{", "- 1",
                              "key: value", "task: diagnosis", "  positive_class: 1", "  label_map: {a: b}",
                              "  label_map: [1]", "  exclude: 3"]),
             max_size=10).map("\n".join),
)


@FAST
@given(text=YAML_TEXT)
def test_random_yaml_configs_load_or_raise_meddl_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            config = meddl.load_config(path)
        except MeddlError:
            return
        assert isinstance(config, RunConfig)


@FAST
@given(content=st.binary(max_size=120))
def test_random_bytes_as_a_config_file_load_or_raise_meddl_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_bytes(content)
        try:
            meddl.load_config(path)
        except MeddlError:
            pass


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10**6), st.floats(allow_nan=True),
              st.text(max_size=8), st.sampled_from(["diagnosis", "csv", "builtin", "wisconsin-breast-cancer",
                                                    "image_folder", "dicom", "medmnist", "default", "fixed"])),
    lambda children: st.one_of(st.lists(children, max_size=3),
                               st.dictionaries(st.sampled_from(
                                   ["task", "data", "source", "name", "path", "label", "training", "epochs",
                                    "model", "evaluation", "threshold", "method", "value", "split", "seed",
                                    "label_map", "exclude", "sep", "encoding", "positive_class", "image_size",
                                    "layers", "preset", "bogus"]) | st.text(max_size=5), children, max_size=4)),
    max_leaves=12,
)


@FAST
@given(config=st.dictionaries(st.sampled_from(["task", "data", "model", "training", "evaluation", "extra"]),
                              JSON_VALUES, max_size=5))
def test_random_config_dicts_load_or_raise_meddl_error(config):
    try:
        loaded = meddl.load_config(config)
    except MeddlError:
        return
    assert isinstance(loaded, RunConfig)
