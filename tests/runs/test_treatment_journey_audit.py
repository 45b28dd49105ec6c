"""A treatment run used as a clinical data scientist would: arms coded as text, binary outcomes, new patients."""

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl import DataError
from meddl.cli import main

FAST_EFFECT = {"representation_units": [16], "head_units": [8], "max_epochs": 5}


def trial_table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    age = rng.normal(60, 10, n)
    sex = rng.choice(["F", "M"], n)
    treated = rng.binomial(1, 0.5, n)
    score = 0.05 * age - treated * 1.0 + rng.normal(0, 1, n)
    relapse = rng.binomial(1, 1 / (1 + np.exp(-(score - 2))))
    return pd.DataFrame({"age": age.round(1), "sex": sex, "treated": treated, "score": score, "relapse": relapse})


def config(path, **data):
    return {"task": "treatment", "data": {"source": "csv", "path": str(path), "treatment": "treated",
                                          "outcome": "score", "exclude": ["relapse"], **data},
            "model": {"preset": "tarnet", "options": FAST_EFFECT}, "training": {"ensemble": 1},
            "evaluation": {"n_resamples": 10}}


@pytest.mark.parametrize("arms", [{1: "drug", 0: "placebo"}, {1: "yes", 0: "no"}])
def test_text_arms_say_how_to_recode(tmp_path, arms):
    trial_table().assign(treated=lambda f: f["treated"].map(arms)).to_csv(tmp_path / "t.csv", index=False)
    # was: "must hold 0 (control) and 1 (treated); rows [...] hold [...]", without what to do
    with pytest.raises(DataError, match=r"The column holds '(yes|no|drug|placebo)' \(\d+\), '(yes|no|drug|placebo)' "
                                        r"\(\d+\): recode it as 1 for the treated arm"):
        meddl.train(config(tmp_path / "t.csv"))


def test_third_arm_and_single_arm_are_explained(tmp_path):
    frame = trial_table()
    frame.loc[:2, "treated"] = 2
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"The column holds 3 values, .*2 \(3\); a treatment run compares two arms"):
        meddl.train(config(tmp_path / "t.csv"))
    trial_table().assign(treated=1).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"holds only arm 1: all 300 patients are treated \(1\)"):
        meddl.train(config(tmp_path / "t.csv"))


def test_outcome_that_is_text_shows_its_values(tmp_path):
    # was: "rows [0, 1, 2, 3, 4] are not", without the values or how to code a binary outcome
    frame = trial_table().assign(relapse=lambda f: f["relapse"].map({1: "yes", 0: "no"}))
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"Outcome column 'relapse' must be numeric and finite; rows \[0, 1, 2, 3, 4\] "
                                        r"hold \['(yes|no)'.* code a binary outcome as 1"):
        meddl.train(config(tmp_path / "t.csv", outcome="relapse", exclude=["score"]))


def test_binary_outcome_run_records_its_outcome_and_covariates(tmp_path):
    trial_table().to_csv(tmp_path / "t.csv", index=False)
    run = meddl.train(config(tmp_path / "t.csv", outcome="relapse", exclude=["score"]), out=tmp_path / "run")
    assert run.info["outcome"] == "binary"  # was "continuous" for every outcome that is not a time to event
    log = (run.path / "train.log").read_text()
    assert "Covariates (2): age, sex (data.exclude or data.features to change them)." in log
    # a file missing a covariate: the error names the file, as meddl predict's do
    trial_table(n=5, seed=1).drop(columns=["sex"]).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(DataError, match=r"Table file '.*new.csv': Columns \['sex'\]"):
        run.recommend(str(tmp_path / "new.csv"))
    trial_table(n=5, seed=1).to_csv(tmp_path / "new.csv", index=False)
    assert main(["recommend", str(run.path), str(tmp_path / "new.csv"), "--out", str(tmp_path / "r.csv")]) == 0
    table = pd.read_csv(tmp_path / "r.csv")
    assert len(table) == 5 and table["outcome_if_treated"].between(0, 1).all()
