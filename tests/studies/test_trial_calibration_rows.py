"""A cross-validated tuning trial fits its calibration maps on validation rows; a one-fit trial keeps the setting."""

import optuna
import pytest

import meddl.runs.calibration_rows as calibration_rows
import meddl.studies.search_folds as search_folds
from meddl.studies.objective import TrialObjective
from tests.studies.conftest import small_config


@pytest.mark.parametrize("folds, expected", [(5, "validation"), (0, "auto")])
def test_trial_calibration_rows(noisy_table, folds, expected):
    objective = TrialObjective(small_config(noisy_table), metric="brier", direction="minimize", folds=folds)
    trial = optuna.create_study().ask()
    assert objective._trial_config(trial).evaluation.calibration_rows == expected


def test_runs_and_searches_call_the_same_validation_split_small():
    assert calibration_rows.SMALL_VALIDATION_ROWS == search_folds.SMALL_VALIDATION_ROWS
    assert calibration_rows.CALIBRATION_FOLDS == search_folds.DEFAULT_FOLDS
