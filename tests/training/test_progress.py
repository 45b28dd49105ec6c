"""Long runs show progress when stdout is not a terminal: one line per epoch on stderr (issue 13, item 15)."""

import re

import numpy as np
import pytest
import yaml

import meddl
from meddl.cli import main
from meddl.layers import Dense
from meddl.training.hooks import without_training_callbacks
from meddl.training.progress import EpochProgress, epoch_lines, format_epoch_line

from ..runs.conftest import diagnosis_config, patient_table

EPOCH_LINE = re.compile(r"^meddl: epoch (\d+)/8  loss \d+\.\d{4}  val_loss \d+\.\d{4}  val_\w+ \d+\.\d{4}  "
                        r"elapsed \d+\.\d s$")


def _config(tmp_path):
    patient_table(n=160).to_csv(tmp_path / "patients.csv", index=False)
    path = tmp_path / "dx.yaml"
    path.write_text(yaml.safe_dump(diagnosis_config("patients.csv", positive_class="sepsis")))
    return path


def test_cli_train_prints_one_line_per_epoch_on_stderr_when_stdout_is_not_a_terminal(tmp_path, capsys):
    config = _config(tmp_path)
    assert main(["train", str(config), "--out", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("meddl: epoch")]
    assert lines, captured.err
    assert all(EPOCH_LINE.match(line) for line in lines), lines
    assert [int(EPOCH_LINE.match(line).group(1)) for line in lines] == list(range(1, len(lines) + 1))
    assert "meddl: epoch" not in captured.out  # stdout keeps only the results

    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--verbose"]) == 0
    assert "meddl: epoch" not in capsys.readouterr().err  # --verbose shows the run log instead


def test_python_api_stays_quiet_by_default(tmp_path, capsys):
    meddl.train(_config(tmp_path), out=tmp_path / "run")
    assert "epoch" not in capsys.readouterr().err


def test_epoch_lines_reach_every_fit_inside_the_block_only(capsys):
    model = meddl.Sequential([Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.default_rng(0).normal(size=(40, 3)).astype("float32"), np.zeros((40, 1), "float32")
    with epoch_lines() as progress:
        assert isinstance(progress, EpochProgress)
        model.fit(x, y, epochs=2, verbose=0)
    model.fit(x, y, epochs=2, verbose=0)
    err = capsys.readouterr().err
    assert err.count("meddl: epoch") == 2 and "epoch 2/2  loss" in err


def test_epoch_line_shows_validation_loss_and_first_metric_only():
    line = format_epoch_line(2, 10, {"loss": 0.5, "auroc": 0.8, "val_loss": 0.6, "val_auroc": 0.75,
                                     "val_accuracy": 0.7}, 3.21)
    assert line == "epoch 3/10  loss 0.5000  val_loss 0.6000  val_auroc 0.7500  elapsed 3.2 s"


@pytest.mark.parametrize("command", [["cv", "--folds", "2"], ["learning-curve", "--fractions", "0.5,1.0"]])
def test_cv_and_learning_curve_print_epoch_lines_for_every_model_they_train(tmp_path, capsys, command):
    config = _config(tmp_path)
    assert main([command[0], str(config), "--out", str(tmp_path / "out"), *command[1:]]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("meddl: epoch")]
    assert all(EPOCH_LINE.match(line) for line in lines), lines
    assert sum(line.startswith("meddl: epoch 1/8") for line in lines) == 2  # two models, one line per epoch each


def test_without_training_callbacks_hides_the_enclosing_ones_inside_the_block_only(capsys):
    model = meddl.Sequential([Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    x, y = np.random.default_rng(0).normal(size=(40, 3)).astype("float32"), np.zeros((40, 1), "float32")
    with epoch_lines():
        with without_training_callbacks():
            model.fit(x, y, epochs=2, verbose=0)
        assert capsys.readouterr().err.count("meddl: epoch") == 0
        model.fit(x, y, epochs=2, verbose=0)
    assert capsys.readouterr().err.count("meddl: epoch") == 2
