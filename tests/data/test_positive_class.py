"""Issue 13, item 9: the positive class is chosen only when unambiguous, and named everywhere."""

import html
import json

import numpy as np
import pandas as pd
import pytest

from meddl.cli import main
from meddl.data import choose_positive_class, is_negation
from meddl.errors import ConfigError


@pytest.mark.parametrize("names, positive", [
    (["disease", "no disease"], "disease"),           # alphabetically last would be 'no disease'
    (["benign", "malignant"], "malignant"),
    (["Negative", "Positive"], "Positive"),
    (["normal", "pneumonia"], "pneumonia"),
    (["healthy", "sepsis"], "sepsis"),
    (["0", "1"], "1"),
    (["False", "True"], "True"),
    (["no", "yes"], "yes"),
])
def test_the_positive_class_is_the_label_that_is_not_a_negation(names, positive):
    chosen, reason = choose_positive_class(names)
    assert chosen == positive and "negation" in reason
    assert choose_positive_class(list(reversed(names)))[0] == positive


@pytest.mark.parametrize("names", [["alive", "dead"], ["normal", "healthy"], ["A", "B"]])
def test_ambiguous_labels_require_data_positive_class_listing_them(names):
    with pytest.raises(ConfigError, match=rf"data.positive_class is needed: column 'dx' has the labels "
                                          rf"'{names[0]}' and '{names[1]}'.*set data.positive_class to"):
        choose_positive_class(names, label="dx")
    assert choose_positive_class(names, names[0]) == (names[0], "set by data.positive_class")


def test_positive_class_must_be_one_of_two_classes():
    with pytest.raises(ConfigError, match=r"'sick' is not a class; classes are \['alive', 'dead'\]"):
        choose_positive_class(["alive", "dead"], "sick")
    with pytest.raises(ConfigError, match="is for two classes; the data has 3"):
        choose_positive_class(["a", "b", "c"], "a")


def test_negations():
    assert all(map(is_negation, ["no disease", "No_Finding", "non-smoker", " normal ", "0", "0.0", "false", "benign"]))
    assert not any(map(is_negation, ["disease", "malignant", "1", "pneumonia", "nodule"]))


def _table(tmp_path, labels=("disease", "no disease"), n=120):
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    label = np.where(x + rng.normal(0, 0.5, n) > 0, *labels)
    pd.DataFrame({"x": x, "z": rng.normal(size=n), "dx": label}).to_csv(tmp_path / "t.csv", index=False)
    config = (f"task: diagnosis\ndata: {{source: csv, path: t.csv, label: dx}}\n"
              f"training: {{epochs: 2}}\nevaluation: {{n_resamples: 20}}\n")
    (tmp_path / "c.yaml").write_text(config)
    return tmp_path / "c.yaml"


def test_positive_class_is_named_in_cli_output_train_log_metrics_and_report(tmp_path, capsys):
    config = _table(tmp_path)
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 0
    assert "Positive class: 'disease'" in capsys.readouterr().out
    run = tmp_path / "run"
    assert "Positive class: 'disease' (the other label, 'no disease', is a negation)" in (run / "train.log").read_text()
    assert json.loads((run / "metrics.json").read_text())["positive_class"] == "disease"
    assert json.loads((run / "run.json").read_text())["class_names"] == ["no disease", "disease"]
    assert "positive class 'disease'" in html.unescape((run / "report.html").read_text())


def test_cli_train_with_ambiguous_labels_exits_1_with_one_line_listing_them(tmp_path, capsys):
    config = _table(tmp_path, labels=("alive", "dead"))
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "data.positive_class is needed" in err and "'alive' and 'dead'" in err
    assert not (tmp_path / "run").exists()
