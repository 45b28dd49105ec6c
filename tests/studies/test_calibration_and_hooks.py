"""Calibration chosen by cross-fitting; callbacks that join every training loop; the tune command's errors."""

import numpy as np
import pytest

from meddl.cli import main
from meddl.evaluation.calibration_choice import (
    CALIBRATION_METHODS,
    CalibrationChoice,
    choose_calibration,
)
from meddl.layers import Dense
from meddl.models import Sequential
from meddl.training.callbacks import Callback
from meddl.training.hooks import active_callbacks, training_callbacks


def _logits(scale: float, n: int = 400, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    margin = (y - 0.5) * 2.0 + rng.normal(0, 1.0, n)  # a well-calibrated logit times `scale`
    return np.column_stack([np.zeros(n), scale * margin]), y


def test_overconfident_logits_get_recalibrated():
    logits, y = _logits(scale=6.0)
    choice = choose_calibration(logits, y)
    assert choice.method in ("temperature", "platt") and choice.calibrator is not None
    assert choice.cross_fitted_log_loss[choice.method] < choice.cross_fitted_log_loss["none"]
    assert choice.to_dict()["folds"] == 5


def test_well_calibrated_logits_stay_as_they_are():
    logits, y = _logits(scale=2.0)  # 2 * margin is the true log-odds here
    choice = choose_calibration(logits, y, tolerance=0.01)
    assert choice.method == "none" and choice.calibrator is None


def test_multiclass_never_uses_platt_and_tiny_classes_skip():
    rng = np.random.default_rng(1)
    logits, y = rng.normal(size=(90, 3)) * 5, rng.integers(0, 3, 90)
    assert "platt" not in choose_calibration(logits, y).cross_fitted_log_loss
    tiny = choose_calibration(np.zeros((5, 2)), np.array([0, 0, 0, 0, 1]))
    assert isinstance(tiny, CalibrationChoice) and tiny.method == "none" and "fewer than 2" in tiny.reason
    assert CALIBRATION_METHODS == ("none", "temperature", "platt")


class _Counter(Callback):
    def __init__(self):
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def test_training_callbacks_join_every_fit_inside_the_block():
    model = Sequential([Dense(1, input_shape=(2,))])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.zeros((8, 2), np.float32), np.zeros(8, np.float32)
    counter = _Counter()
    with training_callbacks(counter):
        assert active_callbacks() == [counter]
        model.fit(x, y, epochs=3, verbose=0)
    model.fit(x, y, epochs=2, verbose=0)
    assert counter.epochs == 3 and active_callbacks() == []


def test_tune_command_errors_are_one_line(tmp_path, capsys):
    assert main(["tune", str(tmp_path / "missing.yaml"), "--out", str(tmp_path / "out")]) == 1
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["tune", "x.yaml", "--out", "o", "--time-budget", "soon"])


@pytest.mark.parametrize("folds", ["1", "0"])
def test_tune_command_refuses_too_few_nested_folds_before_searching(tmp_path, capsys, folds):
    config = tmp_path / "dx.yaml"
    config.write_text("task: diagnosis\ndata: {source: builtin, name: wisconsin-breast-cancer}\n")
    assert main(["tune", str(config), "--out", str(tmp_path / "out"), "--nested", folds]) == 1
    assert f"--nested must be at least 2 outer folds; got {folds}." in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # no search ran
