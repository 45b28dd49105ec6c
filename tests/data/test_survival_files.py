import h5py
import numpy as np
import pandas as pd
import pytest

from meddl.data import read_deepsurv_h5, read_ihdp_csv, validate_survival_target
from meddl.data.survival_files import IHDP_COLUMNS
from meddl.errors import DataError


# ---------------------------------------------------------------- validation
def test_valid_target_is_returned_as_float_and_int_with_zero_durations_allowed():
    duration, event = validate_survival_target([0.0, 3, 7.5], [True, 0, 1.0])
    assert duration.dtype == np.float64 and event.dtype == np.int64
    np.testing.assert_array_equal(duration, [0, 3, 7.5])
    np.testing.assert_array_equal(event, [1, 0, 1])


@pytest.mark.parametrize(
    "duration, message",
    [
        ([5, -1, 3, -2], r"Duration column 'time' has 2 negative values \(-1, -2\) at rows 1, 3"),
        ([5, np.nan, 3, 4], r"has 1 missing value \(nan\) at row 1"),
        ([5, np.inf, 3, 4], r"has 1 infinite value \(inf\) at row 1"),
        ([5, "soon", 3, 4], r"has 1 non-numeric value \('soon'\) at row 1"),
    ],
)
def test_bad_durations_name_the_column_values_and_rows(duration, message):
    with pytest.raises(DataError, match=message):
        validate_survival_target(duration, [1, 0, 1, 0], column_names=("time", "status"))


@pytest.mark.parametrize("event", [[1, 2, 0], [1, "yes", 0], [1, np.nan, 0], [1, 0.5, 0]])
def test_bad_event_codes_are_refused(event):
    with pytest.raises(DataError, match=r"Event column 'status' must hold 0/1 or True/False .* at row 1\."):
        validate_survival_target([1, 2, 3], event, column_names=("time", "status"))


def test_rows_are_reported_by_the_series_index():
    duration = pd.Series([1.0, -4.0], index=[101, 102])
    with pytest.raises(DataError, match="at row 102"):
        validate_survival_target(duration, pd.Series([1, 0], index=[101, 102]))


def test_length_mismatch_and_empty_input():
    with pytest.raises(DataError, match="'duration' has 3 values but event column 'event' has 2"):
        validate_survival_target([1, 2, 3], [1, 0])
    with pytest.raises(DataError, match="is empty"):
        validate_survival_target([], [])


# ---------------------------------------------------------------- DeepSurv h5
def _write_h5(path, groups):
    with h5py.File(path, "w") as handle:
        for name, arrays in groups.items():
            group = handle.create_group(name)
            for key, values in arrays.items():
                group.create_dataset(key, data=values)
    return path


def _arrays(n, p=3, seed=0):
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=(n, p)), "t": rng.uniform(1, 10, n).astype(np.float32),
            "e": rng.integers(0, 2, n).astype(np.int32)}


def test_read_deepsurv_h5_returns_each_split_with_extras(tmp_path):
    train = dict(_arrays(8), hr=np.arange(8.0))
    path = _write_h5(tmp_path / "d.h5", {"train": train, "test": _arrays(4, seed=1)})
    splits = read_deepsurv_h5(path)
    assert list(splits) == ["train", "test"]
    x, t, e = splits["train"]
    assert x.dtype == np.float32 and x.shape == (8, 3)
    np.testing.assert_allclose(t, train["t"])
    np.testing.assert_array_equal(e, train["e"])
    np.testing.assert_array_equal(splits["train"].extra["hr"], np.arange(8.0))
    assert splits["test"].extra == {}


def test_requested_split_missing_is_named(tmp_path):
    path = _write_h5(tmp_path / "d.h5", {"train": _arrays(4)})
    with pytest.raises(DataError, match=r"has no group 'valid'; groups found: \['train'\]"):
        read_deepsurv_h5(path, splits=["train", "valid"])


def test_file_without_deepsurv_groups(tmp_path):
    path = _write_h5(tmp_path / "d.h5", {"training": _arrays(4)})
    with pytest.raises(DataError, match=r"has none of the DeepSurv groups .* found \['training'\]"):
        read_deepsurv_h5(path)


def test_missing_key_in_a_group_is_named(tmp_path):
    arrays = _arrays(4)
    del arrays["e"]
    path = _write_h5(tmp_path / "d.h5", {"train": arrays})
    with pytest.raises(DataError, match=r"Group 'train' of '.*d.h5' has no 'e' dataset; found \['t', 'x'\]"):
        read_deepsurv_h5(path)


def test_inconsistent_lengths_and_invalid_times(tmp_path):
    arrays = _arrays(4)
    arrays["t"] = arrays["t"][:3]
    with pytest.raises(DataError, match="'train/t' in .* has 3 values but 'train/x' has 4 rows"):
        read_deepsurv_h5(_write_h5(tmp_path / "a.h5", {"train": arrays}))
    arrays = _arrays(4)
    arrays["t"][2] = -1
    with pytest.raises(DataError, match="Duration column 'train/t' has 1 negative value"):
        read_deepsurv_h5(_write_h5(tmp_path / "b.h5", {"train": arrays}))


def test_missing_or_non_hdf5_file(tmp_path):
    with pytest.raises(DataError, match="DeepSurv file not found"):
        read_deepsurv_h5(tmp_path / "none.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(DataError, match="Could not open '.*text.h5' as an HDF5 file"):
        read_deepsurv_h5(tmp_path / "text.h5")


# ---------------------------------------------------------------------- IHDP
def _ihdp_rows(n=6, columns=30):
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(n, columns))
    rows[:, 0] = np.arange(n) % 2
    return rows


def test_read_ihdp_csv_names_the_columns(tmp_path):
    path = tmp_path / "ihdp.csv"
    rows = _ihdp_rows()
    np.savetxt(path, rows, delimiter=",")
    frame = read_ihdp_csv(path)
    assert list(frame.columns) == list(IHDP_COLUMNS) and frame.columns[-1] == "x25"
    assert frame["treatment"].dtype == np.int64
    np.testing.assert_allclose(frame["mu1"] - frame["mu0"], rows[:, 4] - rows[:, 3])


def test_wrong_column_count_is_refused(tmp_path):
    path = tmp_path / "ihdp.csv"
    np.savetxt(path, _ihdp_rows(columns=29), delimiter=",")
    with pytest.raises(DataError, match="has 29 columns; expected 30"):
        read_ihdp_csv(path)


def test_header_line_and_bad_treatment_are_refused(tmp_path):
    path = tmp_path / "header.csv"
    np.savetxt(path, _ihdp_rows(), delimiter=",", header=",".join(IHDP_COLUMNS), comments="")
    with pytest.raises(DataError, match="non-numeric values in column 'treatment' at row 0 .*no header line"):
        read_ihdp_csv(path)
    rows = _ihdp_rows()
    rows[3, 0] = 2
    np.savetxt(path, rows, delimiter=",")
    with pytest.raises(DataError, match="column 'treatment' must be 0 or 1; got 2.0 at row 3"):
        read_ihdp_csv(path)
    with pytest.raises(DataError, match="IHDP file not found"):
        read_ihdp_csv(tmp_path / "missing.csv")
