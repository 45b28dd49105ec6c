import numpy as np
import pandas as pd
import pytest

from meddl.data import check_labels
from meddl.data.checks import describe_rows, show_values
from meddl.errors import DataError


def test_complete_labels_pass_and_are_returned_unchanged():
    labels = pd.Series(["benign", "malignant"])
    assert check_labels(labels, name="diagnosis") is labels


def test_missing_labels_are_counted_and_the_column_named():
    labels = pd.Series([0.0] * 6 + [np.nan] * 14, name="diagnosis")
    message = "14 rows have a missing value in label column 'diagnosis'; drop or fill them before training."
    with pytest.raises(DataError, match=message):
        check_labels(labels, name="diagnosis")


def test_one_missing_label_uses_the_singular_and_the_series_index():
    labels = pd.Series([1, None, 0], index=[10, 11, 12])
    with pytest.raises(DataError, match=r"^1 row has a missing value in label column 'label'.*at row 11\.$"):
        check_labels(labels)


def test_missing_labels_in_a_plain_list_report_positions():
    with pytest.raises(DataError, match=r"2 rows have .* at rows 1, 3\."):
        check_labels(["a", None, "b", float("nan")], name="y")


def test_empty_labels_are_refused():
    with pytest.raises(DataError, match="Label column 'y' is empty"):
        check_labels(np.array([]), name="y")


def test_describe_rows_truncates_long_lists():
    assert describe_rows(range(8), limit=3) == "rows 0, 1, 2 and 5 more"
    assert describe_rows([4]) == "row 4"


def test_show_values_prints_numpy_scalars_plainly():
    assert show_values(np.array([np.nan, 2.0, 2.0])) == "nan, 2.0"
