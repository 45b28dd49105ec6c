"""A survival run used as a clinical data scientist would: configs, event codes and new patients' follow-up."""

import json

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl import ConfigError, DataError
from meddl.cli import main
from meddl.survival.metrics import survival_metrics

DATA = {"source": "csv", "duration": "days", "event": "died"}


def follow_up_table(n=240, seed=0):
    """Days to death or censoring, with a categorical column, as a hospital export would hold them."""
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    stage = rng.choice(["I", "II", "III"], n)
    risk = 0.05 * (age - 60) + (stage == "III") * 0.8
    time = rng.exponential(900 * np.exp(-risk))
    censor = rng.uniform(200, 2500, n)
    return pd.DataFrame({"age": age.round(1), "stage": stage, "days": np.minimum(time, censor).round(),
                         "died": (time <= censor).astype(int)})


@pytest.fixture(scope="module")
def survival_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("survival_journey")
    follow_up_table().to_csv(root / "s.csv", index=False)
    run = meddl.train({"task": "survival", "data": {**DATA, "path": str(root / "s.csv")}, "model": "linear_cox",
                       "training": {"ensemble": 1},
                       "evaluation": {"horizons": [365, 730], "n_resamples": 20, "calibration": "none"}},
                      out=root / "run")
    return run, root


def survival_config(horizons):
    return {"task": "survival", "data": {**DATA, "path": "s.csv"}, "evaluation": {"horizons": horizons}}


def test_repeated_horizon_is_refused_and_horizons_are_sorted():
    # [1095, 365, 365] trained and wrote run.json horizons [1095, 365, 365], metrics and columns collapsing
    with pytest.raises(ConfigError, match=r"evaluation.horizons: each horizon must be given once; 365 is repeated"):
        meddl.load_config(survival_config([1095, 365, 365]))
    assert meddl.load_config(survival_config([1095, 365])).evaluation.horizons == [365, 1095]


@pytest.mark.parametrize("horizon", [float("nan"), float("inf")])
def test_horizon_must_be_finite(horizon):
    # a NaN horizon passed `min(value) <= 0` and reached the metrics
    with pytest.raises(ConfigError, match="evaluation.horizons: must be a non-empty list of positive, finite times"):
        meddl.load_config(survival_config([horizon]))


def test_text_event_codes_say_how_to_recode(tmp_path):
    frame = follow_up_table(n=60)
    frame["died"] = frame["died"].map({1: "dead", 0: "alive"})
    frame.to_csv(tmp_path / "s.csv", index=False)
    config = {"task": "survival", "data": {**DATA, "path": str(tmp_path / "s.csv")}}
    with pytest.raises(DataError, match=r"Event column 'died' must hold 0/1 .* Recode text values as numbers: 1 "
                                        r"where the event happened"):
        meddl.train(config)
    frame["died"] = np.where(frame["died"] == "dead", 1, 0)
    frame.loc[[2, 5], "died"] = 2
    frame.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match=r"got 2 at rows 2, 5\. Other codes \(2 often marks a competing event\)"):
        meddl.train(config)


def test_evaluation_durations_in_another_unit_are_refused(survival_run, tmp_path):
    # months against a run trained in days: every metric was clipped to the last follow-up under the horizons'
    # names, and recalibrate wrote a run multiplying the cumulative hazard by thousands
    run, root = survival_run
    months = follow_up_table(n=80, seed=1).assign(days=lambda f: (f["days"] / 30.44).round(1))
    with pytest.raises(DataError, match=r"Duration column 'days': the longest follow-up of these 80 patients is "
                                        r"[\d.]+, shorter than every horizon of the run \(365, 730"):
        run.evaluate(months, n_resamples=10)
    months.to_csv(tmp_path / "months.csv", index=False)
    with pytest.raises(DataError, match="Give the durations in the training units"):
        run.recalibrate(tmp_path / "months.csv", tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_horizon_past_the_follow_up_is_said_to_be_taken_earlier(survival_run, tmp_path, capsys):
    run, root = survival_run
    short = follow_up_table(n=150, seed=2)
    short = short[short["days"] < 600]
    short.to_csv(tmp_path / "short.csv", index=False)
    assert main(["evaluate", str(run.path), "--data", str(tmp_path / "short.csv"),
                 "--out", str(tmp_path / "m.json")]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if "@" in line}
    assert "taken at" in lines["auroc@730"] and "the follow-up ends before this horizon" in lines["auroc@730"]
    assert "taken at" not in lines["auroc@365"]
    metrics = json.loads((tmp_path / "m.json").read_text())["metrics"]
    assert metrics["auroc@730"]["evaluated_at"] < 600 and "evaluated_at" not in metrics["auroc@365"]


def test_survival_metrics_record_where_a_clipped_horizon_was_taken():
    rng = np.random.default_rng(0)
    risk = rng.normal(size=120)
    time = np.minimum(rng.exponential(np.exp(-risk) * 50), 80)
    out = survival_metrics(time, (time < 80).astype(int), risk, horizons=[20, 500], n_resamples=0)
    assert "evaluated_at" not in out["auroc@20"] and out["auroc@500"]["evaluated_at"] < 80
