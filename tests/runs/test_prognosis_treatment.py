"""Survival and treatment tasks end to end: config → run folder → predict / recommend."""


import numpy as np
import pandas as pd
import pytest

import meddl
from meddl import ConfigError, DataError
from meddl.cli import main

FAST_EFFECT = {"representation_units": [32], "head_units": [16], "max_epochs": 60}
FAST_SURVIVAL = {"hidden_units": [16], "epochs": 60, "learning_rate": 0.01}


def survival_table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    risk = 0.9 * x[:, 0] - 0.6 * x[:, 1]
    time = rng.exponential(np.exp(-risk) * 100)
    censor = rng.exponential(150, n)
    return pd.DataFrame({"age": x[:, 0], "marker": x[:, 1], "noise": x[:, 2], "stage": rng.choice(["I", "II"], n),
                         "months": np.minimum(time, censor).round(2), "died": (time <= censor).astype(int)})


def test_survival_run_predicts_risk_median_and_horizons_with_intervals(tmp_path):
    survival_table().to_csv(tmp_path / "s.csv", index=False)
    run = meddl.train({"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "s.csv"),
                                                    "duration": "months", "event": "died"},
                       "model": {"preset": "deepsurv", "options": FAST_SURVIVAL}, "training": {"ensemble": 2},
                       "evaluation": {"horizons": [30, 60], "n_resamples": 30}}, out=tmp_path / "run")
    metrics = run.metrics["test"]["metrics"]
    assert metrics["c_index"]["value"] > 0.65 and metrics["c_index"]["ci95"] is not None
    assert {"uno_c_index", "auroc@30", "auroc@60", "integrated_brier_score"} <= set(metrics)
    predictions = run.predict(survival_table(n=5, seed=1))
    for column in ("risk", "risk_lower", "risk_upper", "median_survival", "survival@30", "survival@60_upper"):
        assert column in predictions.columns
    assert (predictions["survival@30"] >= predictions["survival@60"]).all()
    assert (predictions["risk_lower"] <= predictions["risk_upper"]).all()
    explained = run.explain(max_rows=20, n_samples=128)  # which features raise the risk score?
    assert set(explained["importance"]["feature"].head(2)) == {"age", "marker"}
    assert (run.path / "explanations" / "attributions.csv").is_file()


def test_survival_rejects_bad_durations_and_events(tmp_path):
    frame = survival_table()
    frame.loc[[3, 7], "months"] = -1.0
    frame.to_csv(tmp_path / "s.csv", index=False)
    config = {"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "s.csv"),
                                           "duration": "months", "event": "died"}}
    with pytest.raises(DataError, match="months"):
        meddl.train(config)
    frame = survival_table()
    frame.loc[5, "died"] = 2
    frame.to_csv(tmp_path / "s.csv", index=False)
    with pytest.raises(DataError, match="died"):
        meddl.train(config)
    with pytest.raises(ConfigError, match="data.duration and data.event"):
        meddl.train({"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "s.csv")}})


def treatment_table(n=500, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    t = rng.binomial(1, 1 / (1 + np.exp(-1.5 * x[:, 0])))
    y = x[:, 0] + x[:, 2] + t * (1 + 2 * x[:, 1]) + rng.normal(0, 0.3, n)
    return pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(treated=t, score=y)


def test_treatment_run_recommends_safely_and_reports_policy_value(tmp_path):
    treatment_table().to_csv(tmp_path / "t.csv", index=False)
    run = meddl.train({"task": "treatment",
                       "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "treatment": "treated", "outcome": "score"},
                       "model": {"preset": "tarnet", "options": FAST_EFFECT}, "training": {"ensemble": 2},
                       "evaluation": {"n_resamples": 30, "support": [0.1, 0.9]}},
                      out=tmp_path / "run")
    test = run.metrics["test"]
    assert test["ate_aipw"]["ci95"][0] < test["ate_aipw"]["value"] < test["ate_aipw"]["ci95"][1]
    assert {"as_recommended", "treat_all", "treat_none"} <= set(test["policy_value"])
    table = run.recommend(treatment_table(n=50, seed=3))
    assert {"outcome_if_control", "outcome_if_treated", "effect", "recommended_arm", "expected_benefit",
            "recommendation", "propensity"} <= set(table.columns)
    outside = (table["propensity"] < 0.1) | (table["propensity"] > 0.9)
    assert (table.loc[outside, "recommendation"] == "no recommendation: outside the data's support").all()
    assert table.loc[~outside, "recommended_arm"].notna().all()
    assert main(["recommend", str(run.path), str(tmp_path / "t.csv"), "--out", str(tmp_path / "r.csv")]) == 0
    explained = run.explain(max_rows=20, n_samples=128)  # the effect is 1 + 2 b: b makes patients benefit
    assert explained["importance"]["feature"].iloc[0] == "b"
    assert main(["explain", str(run.path), "--report"]) == 0
    assert "Explanations" in (run.path / "report.html").read_text()


def test_ihdp_layout_reports_pehe(tmp_path):
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=(n, 25))
    t = rng.binomial(1, 0.4, n)
    mu0 = x[:, 0]
    mu1 = mu0 + 4 + x[:, 1]
    y = np.where(t == 1, mu1, mu0) + rng.normal(0, 0.5, n)
    ycf = np.where(t == 1, mu0, mu1)
    pd.DataFrame(np.column_stack([t, y, ycf, mu0, mu1, x])).to_csv(tmp_path / "ihdp.csv", header=False, index=False)
    run = meddl.train({"task": "treatment", "data": {"source": "ihdp", "path": str(tmp_path / "ihdp.csv")},
                       "model": {"preset": "tarnet", "options": FAST_EFFECT}, "training": {"ensemble": 2},
                       "evaluation": {"n_resamples": 20}}, out=tmp_path / "run")
    pehe = run.metrics["test"]["effect_metrics"]["sqrt_pehe"]["value"]
    assert pehe < np.std(mu1 - mu0) + 0.5 and "within_sample" in run.metrics
    log = (run.path / "train.log").read_text()
    assert f"Early stopping on the {run.metrics['val']['n']} validation patients." in log


def test_treatment_errors(tmp_path):
    frame = treatment_table()
    frame.loc[4, "treated"] = 3
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = {"task": "treatment", "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "treatment": "treated",
                                            "outcome": "score"}}
    with pytest.raises(DataError, match=r"Treatment column 'treated' must hold 0 \(control\) and 1 \(treated\); rows \[4\]"):
        meddl.train(config)
    treatment_table().assign(treated=1).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match="holds only arm 1"):
        meddl.train(config)
    with pytest.raises(ConfigError, match="Unknown treatment model"):
        meddl.train({**config, "model": "tarnett"})


def test_survival_run_evaluates_new_patients_and_says_which_update_they_need(tmp_path, capsys):
    survival_table().to_csv(tmp_path / "s.csv", index=False)
    run = meddl.train({"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "s.csv"),
                                                    "duration": "months", "event": "died"},
                       "model": {"preset": "deepsurv", "options": FAST_SURVIVAL}, "training": {"ensemble": 2},
                       "evaluation": {"horizons": [30, 60], "n_resamples": 30}}, out=tmp_path / "run")
    same = survival_table(n=400, seed=5)
    worse = same.copy()  # the same patients with a 3x higher hazard: every time divided by 3
    worse["months"] = (worse["months"] / 3).round(3)
    same.to_csv(tmp_path / "same.csv", index=False)
    result = run.evaluate(tmp_path / "same.csv", n_resamples=30)
    assert result["n"] == 400 and result["n_events"] == int(same["died"].sum())
    assert result["metrics"]["c_index"]["value"] > 0.65
    assert {"auroc@30", "calibration_slope@60"} <= set(result["metrics"])
    assert result["recalibration"]["end"] == 60 and result["recalibration"]["recommended"] in ("none", "baseline")
    shifted = run.evaluate(worse, n_resamples=30)
    assert shifted["recalibration"]["recommended"] in ("baseline", "slope")
    assert shifted["recalibration"]["observed_expected"]["ratio"] > 1.5
    assert shifted["metrics"]["c_index"]["value"] == pytest.approx(result["metrics"]["c_index"]["value"], abs=0.02)
    by_config = run.evaluate({"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "same.csv"),
                                                           "duration": "months", "event": "died"}}, n_resamples=30)
    assert by_config["metrics"]["c_index"]["value"] == pytest.approx(result["metrics"]["c_index"]["value"])
    with pytest.raises(DataError, match=r"\['months', 'died'\].*no \['died'\]"):
        run.evaluate(same.drop(columns="died"))
    with pytest.raises(ConfigError, match="'label' does not apply"):
        run.evaluate(same, label="died")
    assert main(["evaluate", str(run.path), "--data", str(tmp_path / "same.csv"), "--resamples", "20"]) == 0
    out = capsys.readouterr().out
    assert "c_index" in out and "Recalibration (closed testing):" in out and "observed / expected" in out
