from pathlib import Path

import pytest

from meddl import ConfigError, load_config
from meddl.runs.registry import names_a_config


def test_only_task_and_data_are_required():
    config = load_config({"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer"}})
    assert config.model.preset == "default" and config.training.seed == 0
    assert config.evaluation.threshold.method == "youden"


@pytest.mark.parametrize("config, message", [
    ({"data": {"source": "csv", "path": "a.csv"}}, r"task: this key is required"),
    ({"task": "diagnosis", "data": {"source": "csv"}}, r"data: source 'csv' needs 'path'"),
    ({"task": "diagnosis", "data": {"source": "xlsx", "path": "a"}}, r"data.source: Input should be 'csv'"),
    ({"task": "diagnosis", "data": {"source": "csv", "path": "a", "lable": "y"}}, r"data.lable: unknown key. Did you mean 'label'"),
    ({"task": "diagnosis", "data": {"source": "csv", "path": "a"}, "training": {"epochs": 0}},
     r"training.epochs: Input should be greater than or equal to 1 \(got 0\)"),
    ({"task": "diagnosis", "data": {"source": "csv", "path": "a"}, "evaluation": {"threshold": {"method": "sensitivity"}}},
     r"evaluation.threshold: method 'sensitivity' needs 'target'"),
    ({"task": "diagnosis", "data": {"source": "dicom", "path": "a"}}, r"needs 'labels_csv'"),
    ({"task": "treatment", "data": {"source": "csv", "path": "a", "treatment": "treated", "outcome": "treated"}},
     r"data: 'treatment' and 'outcome' both name column 'treated'; each needs a column of its own"),
    ({"task": "diagnosis", "data": {"source": "csv", "path": "a", "label": "dx", "patient_id": "dx"}},
     r"data: 'label' and 'patient_id' both name column 'dx'"),
    ({"task": "survival", "data": {"source": "csv", "path": "a", "duration": "t", "event": "t"}},
     r"data: 'duration' and 'event' both name column 't'"),
    ({"task": "diagnosis", "data": {"source": "builtin", "name": "breast_cancer"}},
     r"data: Unknown built-in dataset \(data.name\) 'breast_cancer'.*Did you mean 'wisconsin-breast-cancer'"),
])
def test_errors_point_at_the_key(config, message):
    with pytest.raises(ConfigError, match=message):
        load_config(config)


def test_yaml_file_paths_are_relative_to_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    config_file = tmp_path / "sub" / "run.yaml"
    config_file.write_text("task: diagnosis\ndata:\n  source: csv\n  path: data.csv\n  label: y\nmodel: seed-mlp\n")
    config = load_config(config_file)
    assert config.data.path == str(tmp_path / "sub" / "data.csv")
    assert config.model.preset == "seed-mlp"


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    bad.write_text("- just a list\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(bad)


def test_names_a_config_tells_a_config_from_a_table():
    from_table = ["patients.csv", Path("scan.npz")]
    assert names_a_config({"task": "diagnosis"}) and names_a_config("site.yaml") and names_a_config(Path("a.yml"))
    assert not any(names_a_config(value) for value in from_table)


def test_a_positive_class_written_as_a_yaml_number_is_the_class_of_that_name():
    config = load_config({"task": "diagnosis", "data": {"source": "csv", "path": "a", "label": "y",
                                                        "positive_class": 1}})
    assert config.data.positive_class == "1"
    with pytest.raises(ConfigError, match="data.positive_class"):
        load_config({"task": "diagnosis", "data": {"source": "csv", "path": "a", "positive_class": True}})
