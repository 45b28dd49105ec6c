"""Issue 13, item 8: label typos are refused before they become classes; data.label_map merges them."""

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.data import apply_label_map, check_label_spellings
from meddl.errors import ConfigError, DataError


def _labels(**counts):
    return np.asarray([name for name, n in counts.items() for _ in range(n)], dtype=object)


def test_labels_differing_only_in_case_or_spaces_are_refused_with_counts_and_a_label_map():
    labels = np.asarray(["cancer"] * 30 + ["Cancer"] * 3 + ["cancer "] * 2 + ["healthy"] * 30, dtype=object)
    with pytest.raises(DataError) as error:
        check_label_spellings(labels, label="dx")
    message = str(error.value)
    assert "Label column 'dx'" in message and "differ only in case or spaces" in message
    assert "'cancer' (30 rows) / 'Cancer' (3 rows) / 'cancer ' (2 rows)" in message
    assert "data.label_map" in message and "'Cancer': 'cancer'" in message and "'cancer ': 'cancer'" in message


def test_a_rare_class_one_or_two_edits_from_another_is_refused_naming_both():
    labels = _labels(cancer=30, cancr=1, healthy=30, helthy=2)
    with pytest.raises(DataError) as error:
        check_label_spellings(labels)
    message = str(error.value)
    assert "'cancr' (1 row) is close to 'cancer' (30 rows)" in message
    assert "'helthy' (2 rows) is close to 'healthy' (30 rows)" in message
    assert "label_map: {" in message and "'cancr': 'cancer'" in message and "'helthy': 'healthy'" in message


@pytest.mark.parametrize("labels", [
    _labels(cancer=30, healthy=30),                       # two clean classes
    _labels(cancer=30, cancr=40),                          # both large: two real classes, not a typo
    _labels(**{"1": 30, "2": 2, "3": 30}),                 # numbers are never typos of each other
    _labels(stage_a=30, lymphoma=3),                       # rare but far from every other class
])
def test_distinct_classes_pass(labels):
    check_label_spellings(labels)


def test_label_map_merges_spellings_and_refuses_keys_that_are_not_labels():
    labels = _labels(cancer=3, Cancer=1, healthy=2)
    merged = apply_label_map(labels, {"Cancer": "cancer"})
    assert sorted(set(merged)) == ["cancer", "healthy"] and list(merged).count("cancer") == 4
    check_label_spellings(merged)
    assert list(apply_label_map(np.asarray([0, 1, 1]), {"1": "disease"})) == [0, "disease", "disease"]
    with pytest.raises(ConfigError, match=r"data.label_map maps \['Cancr'\], which are not labels in column 'dx'"):
        apply_label_map(labels, {"Cancr": "cancer"}, label="dx")


def _typo_table(n=120, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    label = np.where(x + rng.normal(0, 0.5, n) > 0, "cancer", "healthy").astype(object)
    label[:3] = ["Cancer", "cancer ", "cancr"]
    return pd.DataFrame({"x": x, "z": rng.normal(size=n), "dx": label})


def test_training_refuses_label_typos_and_trains_two_classes_once_mapped(tmp_path):
    _typo_table().to_csv(tmp_path / "t.csv", index=False)
    config = {"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "label": "dx"},
              "training": {"epochs": 1}, "evaluation": {"n_resamples": 0, "conformal_coverage": None}}
    with pytest.raises(DataError, match="look like spellings of one class"):
        meddl.train(config, out=tmp_path / "run")
    config["data"]["label_map"] = {"Cancer": "cancer", "cancer ": "cancer", "cancr": "cancer"}
    config["data"]["positive_class"] = "cancer"
    run = meddl.train(config, out=tmp_path / "run")
    assert run.class_names == ["healthy", "cancer"]
