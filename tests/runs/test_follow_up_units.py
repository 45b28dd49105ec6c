"""New patients' durations in another unit than the training data's are warned about, not scored silently."""

import warnings

import pytest

import meddl
from meddl.cli import main
from meddl.errors import UnlikeTrainingDataWarning
from meddl.runs.survival_evaluation import FOLLOW_UP_RATIO, follow_up_summary
from tests.runs.test_prognosis_treatment import survival_table
from tests.serving.runs import SURVIVAL_OPTIONS


@pytest.fixture(scope="module")
def months_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("follow_up")
    table = survival_table(n=300)
    table.to_csv(root / "s.csv", index=False)
    run = meddl.train({"task": "survival", "data": {"source": "csv", "path": str(root / "s.csv"),
                                                    "duration": "months", "event": "died"},
                       "model": {"preset": "deepsurv", "options": SURVIVAL_OPTIONS}, "training": {"ensemble": 1},
                       "evaluation": {"horizons": [30, 60], "n_resamples": 10}}, out=root / "run")
    return run, table, root


def test_the_run_records_its_training_follow_up(months_run):
    run, table, _ = months_run
    follow_up = run.info["follow_up"]
    assert set(follow_up) == {"median", "longest", "n"} and follow_up["n"] < len(table)  # the training split only
    assert 0 < follow_up["median"] < follow_up["longest"] <= table["months"].max()
    assert follow_up_summary([1.0, 2.0, 9.0]) == {"median": 2.0, "longest": 9.0, "n": 3}


def test_durations_in_days_for_a_run_in_months_are_warned_about(months_run):
    run, table, root = months_run
    same_units = table.tail(150)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnlikeTrainingDataWarning)
        run.evaluate(same_units, n_resamples=10)
    in_days = same_units.assign(months=same_units["months"] * 30.4)
    with pytest.warns(UnlikeTrainingDataWarning, match=r"Duration column 'months': the median follow-up of these "
                                                       r"150 patients is .* times the training patients'"):
        run.evaluate(in_days, n_resamples=10)
    assert FOLLOW_UP_RATIO < 30.4


def test_the_cli_prints_the_warning_in_its_own_words(months_run, capsys):
    run, table, root = months_run
    table.tail(150).assign(months=lambda t: t["months"] * 30.4).to_csv(root / "days.csv", index=False)
    assert main(["evaluate", str(run.path), "--data", str(root / "days.csv"), "--resamples", "10"]) == 0
    assert "meddl evaluate: warning: Duration column 'months'" in capsys.readouterr().err
