"""data.source and data.path must agree: a source is never a hint that the file's suffix silently overrides."""

import pytest

from meddl.errors import ConfigError
from meddl.runs.registry import get_task, load_config
from tests.runs.conftest import patient_table
from tests.runs.test_prognosis_treatment import survival_table, treatment_table

TABLES = {"diagnosis": patient_table(n=60), "survival": survival_table(n=60), "treatment": treatment_table(n=60)}
COLUMNS = {"diagnosis": {"label": "label", "positive_class": "sepsis"}, "survival": {"duration": "months",
                                                                                    "event": "died"},
           "treatment": {"treatment": "treated", "outcome": "score"}}


def _files(tmp_path, task):
    table = TABLES[task]
    table.to_csv(tmp_path / "x.csv", index=False)
    table.to_csv(tmp_path / "x.tsv", sep="\t", index=False)
    table.to_parquet(tmp_path / "x.parquet")
    for name in ("x.h5", "x.npz"):
        (tmp_path / name).write_bytes(b"not read: the check comes first")
    return tmp_path


def _load(tmp_path, task, source, name, **data):
    config = load_config({"task": task, "data": {"source": source, "path": str(_files(tmp_path, task) / name),
                                                 **COLUMNS[task], **data}})
    return get_task(task).load_data(config)


@pytest.mark.parametrize("task, source, name, reader", [
    ("diagnosis", "parquet", "x.csv", "csv"),
    ("diagnosis", "csv", "x.parquet", "parquet"),
    ("diagnosis", "csv", "x.npz", "medmnist"),
    ("diagnosis", "medmnist", "x.csv", "csv"),
    ("survival", "parquet", "x.csv", "csv"),
    ("survival", "csv", "x.parquet", "parquet"),
    ("survival", "deepsurv_h5", "x.csv", "csv"),
    ("survival", "csv", "x.h5", "deepsurv_h5"),
    ("treatment", "parquet", "x.tsv", "csv"),
    ("treatment", "ihdp", "x.parquet", "parquet"),
    ("treatment", "deepsurv_h5", "x.parquet", "parquet"),
])
def test_a_source_that_contradicts_the_path_is_a_config_error(tmp_path, task, source, name, reader):
    extra = {"treatment_column": 0} if task == "treatment" and source == "deepsurv_h5" else {}
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, task, source, name, **extra)
    message = str(caught.value)
    assert f"data.source is {source!r}" in message and f"data.path '{tmp_path / name}'" in message
    assert f"Set data.source: {reader}" in message


@pytest.mark.parametrize("task", sorted(TABLES))
@pytest.mark.parametrize("source, name", [("csv", "x.csv"), ("csv", "x.tsv"), ("parquet", "x.parquet")])
def test_a_source_that_matches_the_path_loads(tmp_path, task, source, name):
    assert _load(tmp_path, task, source, name) is not None
