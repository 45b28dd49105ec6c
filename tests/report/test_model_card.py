"""The model card is filled for every task: no ``None``, ``?`` or dash where a value belongs."""

import re

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.report.model_card import ModelCard, model_card

TINY = {"epochs": 3, "batch_size": 64, "early_stopping": {"patience": 2}}
TINY_SURVIVAL = {"hidden_units": [8], "epochs": 5}
TINY_EFFECT = {"representation_units": [8], "head_units": [8], "max_epochs": 5}
PLACEHOLDER = re.compile(r"\bNone\b|\?|—|\bnan\b|\(\s*parameters\)")


def _treatment_csv(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    t = rng.binomial(1, 0.5, n)
    pd.DataFrame(x, columns=["a", "b", "c"]).assign(drug=t, score=x[:, 0] + t + rng.normal(0, 0.3, n)).to_csv(
        path, index=False)
    return path


CONFIGS = {
    "diagnosis": lambda tmp: {"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer"},
                              "training": TINY, "evaluation": {"n_resamples": 20}},
    "regression": lambda tmp: {"task": "regression", "data": {"source": "builtin", "name": "diabetes-progression"},
                               "training": TINY, "evaluation": {"n_resamples": 20}},
    "survival": lambda tmp: {"task": "survival", "data": {"source": "builtin", "name": "gbsg2"},
                             "model": {"preset": "deepsurv", "options": TINY_SURVIVAL}, "training": {"ensemble": 2},
                             "evaluation": {"n_resamples": 20}},
    "treatment": lambda tmp: {"task": "treatment",
                              "data": {"source": "csv", "path": str(_treatment_csv(tmp / "t.csv")),
                                       "treatment": "drug", "outcome": "score"},
                              "model": {"preset": "tarnet", "options": TINY_EFFECT}, "training": {"ensemble": 2},
                              "evaluation": {"n_resamples": 20}},
}


@pytest.mark.parametrize("task", sorted(CONFIGS))
def test_model_card_of_every_task_names_what_is_predicted_and_has_no_placeholder(task, tmp_path):
    run = meddl.train(CONFIGS[task](tmp_path), out=tmp_path / "run")
    card = model_card(run.info, run.metrics)
    assert isinstance(card, ModelCard)
    for name, value in card.rows():
        for text in value if isinstance(value, list) else [value]:
            assert text and not PLACEHOLDER.search(text), f"{task}: {name} reads {text!r}"
    assert "trained parameters" in card.model
    expected = {"diagnosis": "probability of 'malignant'", "regression": "the value of",
                "survival": "time until the event", "treatment": "under each arm of the treatment 'drug'"}[task]
    assert expected in card.intended_use
    if task != "treatment":  # treatment CIs come from the influence function, not resamples
        assert "20 resamples" in card.evaluation
    report = (run.path / "report.html").read_text(encoding="utf-8")
    card_html = report[report.index('id="model-card"'):]
    assert card.intended_use.replace("'", "&#x27;") in card_html
    assert not PLACEHOLDER.search(re.sub(r"<[^>]+>", " ", card_html))
    assert "missing files" not in report


def test_model_card_says_not_recorded_instead_of_placeholders():
    card = model_card({"task": "diagnosis", "problem": "binary", "class_names": ["no", "yes"]}, {})
    assert "parameter count not recorded" in card.model
    assert card.evaluation == "Not evaluated (no test metrics were saved)."
    assert card.created == "not recorded"
    assert "the probability of 'yes'" in card.intended_use


def test_count_parameters_walks_networks_members_and_wrappers():
    from meddl import Sequential
    from meddl.layers import Dense
    from meddl.runs.model_size import count_parameters

    network = Sequential([Dense(3, input_shape=(4,))])
    assert count_parameters(network) == 15

    class Member:
        network_ = network

    class Ensemble:
        members_ = [Member(), Member()]

    class Wrapper:
        risk_model_ = Ensemble()

    assert count_parameters(Wrapper()) == 30
    assert count_parameters(object()) is None


def test_only_tasks_trained_epoch_by_epoch_keep_a_history():
    from meddl.runs.registry import task_keeps_history

    assert task_keeps_history("diagnosis") and task_keeps_history("regression")
    assert not task_keeps_history("survival") and not task_keeps_history("treatment")
    assert task_keeps_history("a task from elsewhere")


def test_limitations_name_a_shifted_test_split_and_a_calibration_intercept_off_zero():
    from meddl.report.model_card import coverage_shift_note

    test = {"n": 624, "metrics": {"calibration_intercept": {"value": -2.8, "ci95": [-3.3, -2.4]}},
            "conformal": {"target_coverage": 0.9, "coverage": 0.76, "n_calibration": 524}}
    notes = " ".join(model_card({"task": "diagnosis", "problem": "binary", "class_names": ["no", "yes"]},
                                {"test": test}).limitations)
    assert "Conformal sets covered 76%" in notes and "chance allows 87% to 93%" in notes
    assert "intercept -2.80 (95% CI -3.30 to -2.40)" in notes and "on average too high" in notes
    steady = {"n": 624, "metrics": {"calibration_intercept": {"value": 0.1, "ci95": [-0.2, 0.4]}},
              "conformal": {"target_coverage": 0.9, "coverage": 0.91, "n_calibration": 524}}
    notes = " ".join(model_card({"task": "diagnosis"}, {"test": steady}).limitations)
    assert "Conformal sets covered" not in notes and "intercept" not in notes
    assert coverage_shift_note({"n": 624}) == ""
    assert "fitted for on the local cases of the site update" in coverage_shift_note(
        test, fitted_on="the local cases of the site update")
    notes = " ".join(model_card({"task": "diagnosis", "problem": "binary", "site_recalibration": {"cases": {"n": 300}}},
                                {"test": test}).limitations)
    assert "fitted for on the local cases of the site update" in notes and "updated on 300 local cases" in notes
    bare = model_card({"task": "diagnosis", "problem": "binary", "site_recalibration": {"update": "intercept"}},
                      {"test": test})  # a partial record is worded, never a crash or a None
    assert "local cases (their number not recorded) from a source not recorded: a new intercept" in bare.evaluation
    assert "None" not in bare.evaluation + " ".join(bare.limitations)


def test_limitations_name_survival_horizons_whose_calibration_slope_excludes_1():
    test = {"n": 300, "metrics": {"calibration_slope@426": {"value": 0.79, "ci95": [0.24, 1.81]},
                                  "calibration_slope@1093": {"value": 0.38, "ci95": [0.04, 0.79]}}}
    notes = " ".join(model_card({"task": "survival"}, {"test": test}).limitations)
    assert "at time 1093: 0.38 (0.04 to 0.79)" in notes and "426" not in notes


def test_survival_evaluation_says_how_the_risks_were_recalibrated():
    test = {"n": 686, "n_events": 299, "metrics": {}}
    recalibrated = {"task": "survival", "recalibration": {
        "method": "slope", "factor": 1.161, "fitted_on": {"description": "5-fold out-of-fold predictions on 1546 "
                                                                         "development rows"}}}
    card = model_card(recalibrated, {"test": test})
    assert ("Risks recalibrated: rescaled by 1.16, the calibration slope over follow-up on 5-fold out-of-fold "
            "predictions on 1546 development rows; the test rows were not used.") in card.evaluation
    left = model_card({"task": "survival", "recalibration": {"method": "none", "reason": "p = 0.16"}}, {"test": test})
    assert "recalibrated" not in left.evaluation
