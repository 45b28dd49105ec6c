"""A cross-validated tuning trial fits its calibration maps on validation rows; a one-fit trial keeps the setting."""

import optuna
import pytest

from meddl.studies.objective import TrialObjective
from tests.studies.conftest import small_config


@pytest.mark.parametrize("folds, expected", [(5, "validation"), (0, "auto")])
def test_trial_calibration_rows(noisy_table, folds, expected):
    objective = TrialObjective(small_config(noisy_table), metric="brier", direction="minimize", folds=folds)
    trial = optuna.create_study().ask()
    assert objective._trial_config(trial).evaluation.calibration_rows == expected
