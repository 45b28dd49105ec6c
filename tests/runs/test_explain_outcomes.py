"""Survival and treatment explanations carry trust checks: randomisation, deletion/insertion, completeness."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

import meddl
from meddl.cli import main
from meddl.explain import attribute, estimator_trust, randomized_estimator, trust_lines
from meddl.runs import explain_run
from meddl.runs.explain_outcomes import explain_outcome_run, outcome_section

from tests.explain_helpers import CoxRisk, TreatmentNet, one_thread


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


class CoxEstimator:
    """A survival estimator in the shape meddl's have: a torch network inside, a NumPy predict_risk."""

    def __init__(self, beta):
        self.network_ = CoxRisk(beta)

    def predict_risk(self, x):
        with torch.no_grad():
            return self.network_(torch.as_tensor(np.asarray(x), dtype=torch.float32)).double().numpy()


class EffectEstimator:
    def __init__(self):
        self.network_ = TreatmentNet()
        self.scale_ = torch.nn.Linear(1, 1)  # a weight the randomisation can reach

    def predict_effect(self, x):
        with torch.no_grad():
            z = torch.as_tensor(np.asarray(x), dtype=torch.float32)
            return (self.network_.effect(z) * self.scale_.weight[0, 0] + self.scale_.bias[0]).double().numpy()


def shap_of(method_name):
    def explain(estimator, rows):
        def f(tensor):
            return torch.as_tensor(getattr(estimator, method_name)(tensor.detach().numpy()))
        return attribute(f, rows, "kernel_shap", baseline=np.zeros(rows.shape[1]), n_samples=64, seed=0)
    return explain


def test_survival_risk_explanations_are_checked():
    estimator = CoxEstimator([1.5, -1.0, 0.0, 0.0])
    x = np.random.default_rng(0).normal(size=(16, 4))
    explain = shap_of("predict_risk")
    checks = estimator_trust(lambda m, rows: m.predict_risk(rows), estimator, x, explain(estimator, x), explain,
                             baseline=np.zeros(4))
    assert checks["randomization"]["status"] == "passed" and checks["randomization"]["networks_randomized"] == 1
    assert checks["faithfulness"]["status"] == "passed"  # removing the top columns moves the risk fastest
    assert checks["faithfulness"]["deletion_gain"]["ci_low"] > 0
    assert checks["completeness"]["status"] == "passed"  # Shapley values add up to risk(x) - risk(reference)
    clone, count = randomized_estimator(estimator, seed=1)
    assert count == 1 and torch.equal(estimator.network_.beta, torch.tensor([1.5, -1.0, 0.0, 0.0]))


def test_treatment_effect_explanations_are_checked_and_an_estimator_without_weights_is_undefined():
    estimator = EffectEstimator()
    with torch.no_grad():
        estimator.scale_.weight.fill_(1.0)
        estimator.scale_.bias.zero_()
    x = np.random.default_rng(1).normal(size=(16, 3))
    explain = shap_of("predict_effect")
    checks = estimator_trust(lambda m, rows: m.predict_effect(rows), estimator, x, explain(estimator, x), explain,
                             baseline=np.zeros(3))
    assert checks["randomization"]["status"] in ("passed", "failed") and checks["completeness"]["passed"]
    assert checks["deletion_insertion"]["status"] == checks["faithfulness"]["status"]

    class Linear:  # no neural network: the randomisation test does not apply, and says so
        def predict_effect(self, rows):
            return np.asarray(rows) @ np.array([1.0, 0.0, 0.0])

    plain = Linear()
    checks = estimator_trust(lambda m, rows: m.predict_effect(rows), plain, x, explain(plain, x), explain,
                             baseline=np.zeros(3))
    assert checks["randomization"]["status"] == "undefined" and "no neural-network weights" in checks["randomization"]["reason"]
    assert checks["completeness"]["status"] == "passed"


def survival_table(n=240, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    risk = 1.2 * x[:, 0] - 0.8 * x[:, 1]
    time = rng.exponential(np.exp(-risk) * 100)
    censor = rng.exponential(150, n)
    return pd.DataFrame({"age": x[:, 0], "marker": x[:, 1], "noise": x[:, 2],
                         "months": np.minimum(time, censor).round(2), "died": (time <= censor).astype(int)})


def test_a_survival_run_writes_its_trust_checks(tmp_path):
    survival_table().to_csv(tmp_path / "s.csv", index=False)
    meddl.set_seed(0)
    run = meddl.train({"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "s.csv"),
                                                    "duration": "months", "event": "died"},
                       "model": {"preset": "deepsurv", "options": {"hidden_units": [8], "epochs": 30,
                                                                   "learning_rate": 0.01}},
                       "evaluation": {"n_resamples": 20}}, out=tmp_path / "run")
    result = explain_outcome_run(run, max_rows=12, n_samples=64)
    assert set(result["trust"]) == {"randomization", "faithfulness", "deletion_insertion", "completeness"}
    saved = json.loads((run.path / "explanations" / "attributions.json").read_text())
    assert saved["trust_checks"]["randomization"]["status"] in ("passed", "failed")
    assert saved["trust_checks"]["faithfulness"]["score"]["n"] == 12
    lines = trust_lines({"kernel_shap": result["trust"]})  # what `meddl explain` prints for this run
    assert lines[0].startswith("  KernelSHAP: randomisation") and "completeness" in lines[0]
    _, html = outcome_section(result)
    assert "Can the explanations be trusted?" in html and "deletion gain" in html


@pytest.mark.parametrize("positive", [None, "normal"])
def test_target_defaults_to_the_named_positive_class_and_is_taken_by_name(image_run, tmp_path, capsys, positive):
    if positive is not None:
        image_run.info["positive_class"] = positive
    try:
        result = explain_run(image_run, out_dir=tmp_path / "t", methods=["grad_cam"], n_cases=1,
                                           trust_images=8)
    finally:
        image_run.info.pop("positive_class", None)
    expected = positive or image_run.class_names[-1]
    assert result.target == f"the positive class {expected!r}"
    assert set(result.predictions["target_class"]) == {expected}
    assert main(["explain", str(image_run.path), "--method", "grad_cam", "--target", "normal",
                 "--out", str(tmp_path / "cli")]) == 0
    out = capsys.readouterr().out
    assert "Explaining the class 'normal' with grad_cam." in out and "Trust checks:" in out
    assert "Grad-CAM: randomisation" in out
