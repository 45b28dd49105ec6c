import numpy as np
import pandas as pd
import pytest

from meddl.data import kfold_splits, split_assignments, split_fingerprint, train_val_test_split
from meddl.errors import ConfigError, DataError


def _assert_partition(parts, n):
    joined = np.concatenate(parts)
    assert len(joined) == n and set(joined.tolist()) == set(range(n)), "every row in exactly one split"


def test_sizes_partition_and_sorted_int64():
    train, val, test = split = train_val_test_split(200, val_size=0.2, test_size=0.1, seed=3)
    assert (len(train), len(val), len(test)) == (140, 40, 20)
    _assert_partition(split, 200)
    assert all(p.dtype == np.int64 and np.all(np.diff(p) > 0) for p in split)
    assert split.train is train and split.val is val and split.test is test


def test_same_seed_same_split_other_seed_other_split():
    y = np.tile([0, 1, 2], 40)
    a, b, c = (train_val_test_split(y, seed=s) for s in (5, 5, 6))
    assert all(np.array_equal(x, z) for x, z in zip(a, b))
    assert not np.array_equal(a.test, c.test)


def test_stratification_keeps_class_proportions():
    y = np.array([1] * 200 + [0] * 800)
    split = train_val_test_split(y, seed=0)
    assert split.stratified and split.notes == []
    for part in split:
        assert abs(y[part].mean() - 0.2) < 0.01


def test_class_too_small_falls_back_with_a_note():
    y = np.array([0] * 60 + [1] * 39 + [2])
    split = train_val_test_split(y)
    _assert_partition(split, 100)
    assert not split.stratified
    assert any("not stratified: the smallest class '2' has 1 row" in note for note in split.notes)


def test_continuous_target_is_not_stratified_and_says_so():
    split = train_val_test_split(np.linspace(0, 1, 50))
    assert not split.stratified and "looks continuous" in split.notes[0]


def test_stratify_on_another_array_such_as_the_event_indicator():
    event = np.array([1] * 30 + [0] * 270)
    split = train_val_test_split(len(event), stratify=event, seed=1)
    assert split.stratified
    assert [int(event[p].sum()) for p in split] == [21, 4, 5]


def test_zero_validation_size_gives_an_empty_validation_split():
    train, val, test = train_val_test_split(20, val_size=0, test_size=0.25)
    assert len(val) == 0 and len(test) == 5 and len(train) == 15


@pytest.mark.parametrize("stratify", [None, False])
def test_no_patient_crosses_splits(stratify):
    rng = np.random.default_rng(0)
    patients = rng.integers(0, 60, 400)  # several images per patient
    y = (patients % 4 == 0).astype(int)
    split = train_val_test_split(y, groups=patients, stratify=stratify, seed=2)
    _assert_partition(split, 400)
    sets = [set(patients[p]) for p in split]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert split.grouped
    assert 0.08 < len(split.test) / 400 < 0.25 and 0.08 < len(split.val) / 400 < 0.25


def test_grouped_split_with_too_few_patients_raises():
    with pytest.raises(DataError, match="only 1 patient group left"):
        train_val_test_split(10, groups=["p1"] * 10)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"val_size": 1.5}, ConfigError,
         r"The 'val_size' parameter of train_val_test_split must be a float in the range \[0, 1\). Got 1.5"),
        ({"test_size": -0.1}, ConfigError, "'test_size' parameter"),
        ({"val_size": 0.5, "test_size": 0.5}, ConfigError, "val_size \\+ test_size must be below 1"),
        ({"seed": "a"}, ConfigError, "'seed' parameter"),
        ({"groups": [1, 2]}, DataError, "'groups' has 2 values but there are 10 rows"),
        ({"stratify": True}, ConfigError, r"stratify=True\) needs the labels y"),
    ],
)
def test_invalid_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        train_val_test_split(10, **kwargs)


def test_missing_labels_and_patient_ids_are_refused():
    with pytest.raises(DataError, match="5 rows have a missing value in label column 'stratify'"):
        train_val_test_split(pd.Series([0, 1, None, 1] * 5))
    with pytest.raises(DataError, match="'groups' .* has 1 missing values"):
        train_val_test_split(4, groups=["a", "b", None, "c"])
    with pytest.raises(ConfigError, match="at least 2 rows"):
        train_val_test_split(1)


def test_kfold_each_row_validated_once_per_repeat_and_stratified():
    y = np.array([1] * 25 + [0] * 75)
    folds = kfold_splits(y, folds=5, repeats=2, seed=0)
    assert len(folds) == 10 and folds.stratified and folds.notes == []
    for repeat in (folds[:5], folds[5:]):
        _assert_partition([val for _, val in repeat], 100)
        for train, val in repeat:
            assert not set(train) & set(val) and len(train) + len(val) == 100
            assert y[val].sum() == 5
    assert not np.array_equal(folds[0][1], folds[5][1]), "repeats reshuffle"


def test_kfold_keeps_patients_together():
    rng = np.random.default_rng(1)
    patients = rng.integers(0, 30, 200)
    y = rng.integers(0, 2, 200)
    folds = kfold_splits(y, folds=4, groups=patients, seed=1)
    assert folds.grouped and len(folds) == 4
    _assert_partition([val for _, val in folds], 200)
    for train, val in folds:
        assert not set(patients[train]) & set(patients[val])


def test_kfold_small_class_note_and_unstratified_fallback():
    folds = kfold_splits(np.array([0] * 20 + [1] * 3), folds=5)
    assert folds.stratified and "smallest class '1' has 3 rows" in folds.notes[0]
    folds = kfold_splits(np.array([0, 0, 1, 1, 2, 2]), folds=3)
    assert not folds.stratified and "every class has fewer than folds=3" in folds.notes[0]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"folds": 1}, ConfigError, "The 'folds' parameter of kfold_splits must be an integer >= 2. Got 1"),
        ({"repeats": 0}, ConfigError, "'repeats' parameter"),
        ({"folds": 11}, DataError, "folds=11 is more than the 10 rows"),
        ({"groups": [1, 2] * 5}, DataError, "folds=5 is more than the 2 patient groups"),
    ],
)
def test_kfold_invalid_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        kfold_splits(10, **kwargs)


def test_split_assignments_table_and_fingerprint():
    split = train_val_test_split(20, seed=0)
    table = split_assignments(*split, n=22, row_ids=[f"r{i}" for i in range(22)])
    assert list(table.columns) == ["row_id", "split"] and len(table) == 22
    assert table["split"].value_counts().to_dict() == {"train": 14, "val": 3, "test": 3, "unused": 2}
    assert table.loc[split.test[0], "split"] == "test" and table.loc[5, "row_id"] == "r5"
    fingerprint = split_fingerprint(table)
    assert len(fingerprint) == 16 and fingerprint == split_fingerprint(table.copy())
    other = split_assignments(*train_val_test_split(20, seed=1), n=22, row_ids=[f"r{i}" for i in range(22)])
    assert split_fingerprint(other) != fingerprint


def test_split_assignments_refuses_overlap_and_out_of_range():
    with pytest.raises(DataError, match=r"Rows \[2\] are in both the train and test splits"):
        split_assignments([0, 1, 2], [3], [2])
    with pytest.raises(DataError, match="outside 0..3"):
        split_assignments([0, 1], [2], [7], n=4)
    with pytest.raises(DataError, match="expects the DataFrame from split_assignments"):
        split_fingerprint(pd.DataFrame({"a": [1]}))
