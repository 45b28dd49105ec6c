"""The CLI is a thin layer: parse, call the API, print; MeddlError → exit code 1."""

import json
import subprocess
import sys

import pandas as pd
import pytest

from meddl import __version__
from meddl.cli import main

from .runs.conftest import diagnosis_config, patient_table


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and f"meddl {__version__}" in capsys.readouterr().out
    assert main([]) == 0
    assert "quickstart" in capsys.readouterr().out


def test_console_script_is_installed_or_module_runs():
    result = subprocess.run([sys.executable, "-m", "meddl", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "train" in result.stdout


def test_quickstart_trains_and_explains_how_to_predict(tmp_path, capsys):
    out = tmp_path / "qs"
    assert main(["quickstart", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "auroc" in printed and "[" in printed and f"meddl predict {out}" in printed
    assert (out / "model" / "model.safetensors").is_file() and (out / "report.html").is_file()
    assert main(["predict", str(out), str(out / "example_patient.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert list(predictions.columns[:3]) == ["row_id", "prob_benign", "prob_malignant"]


def test_train_predict_evaluate_report(tmp_path, capsys):
    import yaml

    data = tmp_path / "patients.csv"
    patient_table().to_csv(data, index=False)
    config = tmp_path / "dx.yaml"
    config.write_text(yaml.safe_dump(diagnosis_config("patients.csv")))
    run_dir = tmp_path / "run"
    assert main(["train", str(config), "--out", str(run_dir)]) == 0
    assert main(["evaluate", str(run_dir), "--data", str(data), "--out", str(tmp_path / "m.json"),
                 "--resamples", "20"]) == 0
    evaluation = json.loads((tmp_path / "m.json").read_text())
    assert evaluation["n"] == 300 and evaluation["recalibration"]["recommended"] in ("none", "intercept", "logistic")
    assert "Recalibration (closed testing): " in capsys.readouterr().out
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir)]) == 0 and (run_dir / "report.html").is_file()
    assert main(["predict", str(run_dir), str(data)]) == 0
    assert "prob_sepsis" in capsys.readouterr().out
    assert main(["explain", str(run_dir), "--report", "--steps", "16"]) == 0
    assert "randomisation" in capsys.readouterr().out
    (run_dir / "report.html").unlink()
    assert main(["report", str(run_dir)]) == 0  # a rebuild keeps the saved Explanations section
    assert "Explanations" in (run_dir / "report.html").read_text()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["test"]["n"] = 10_000  # a number edited after training never reaches a report
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    assert main(["report", str(run_dir)]) == 1
    assert "'metrics.json' has changed since the run was written" in capsys.readouterr().err


def test_errors_are_one_line_and_exit_code_1(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "missing-run"), "x.csv"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("meddl predict: error: No run folder at") and "Traceback" not in err
    config = tmp_path / "bad.yaml"
    config.write_text("task: diagnosis\ndata: {source: csv, path: a.csv, lable: y}\n")
    assert main(["train", str(config), "--out", str(tmp_path / "r")]) == 1
    assert "data.lable: unknown key. Did you mean 'label'?" in capsys.readouterr().err


def test_compare_two_runs_on_the_same_test_set(tmp_path, capsys):
    data = tmp_path / "patients.csv"
    patient_table().to_csv(data, index=False)
    import meddl

    run_a = meddl.train(diagnosis_config(data), out=tmp_path / "a")
    run_b = meddl.train({**diagnosis_config(data), "model": "seed-mlp"}, out=tmp_path / "b")
    assert main(["compare", str(run_a.path), str(run_b.path), "--resamples", "50", "--out", str(tmp_path / "c.json")]) == 0
    printed = capsys.readouterr().out
    assert "auroc" in printed and "delong" in printed
    result = json.loads((tmp_path / "c.json").read_text())
    assert result["metrics"]["auroc"]["difference"] == pytest.approx(
        result["metrics"]["auroc"]["a"] - result["metrics"]["auroc"]["b"])


def test_a_split_without_a_metrics_table_prints_every_figure_by_name(capsys):
    from meddl.cli import print_metrics

    treatment_test = {"n": 90, "n_without_recommendation": 0,  # a treatment run's metrics.json['test']
                      "ate_aipw": {"value": 1.06, "ci95": [0.67, 1.45], "se": 0.2, "n": 90},
                      "policy_value": {"treat_all": {"value": 1.37, "ci95": [1.07, 1.66]}, "n": 90},
                      "factual_rmse": 0.77}
    print_metrics(treatment_test, "Test set")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Test set") and len(lines) == 4, lines
    assert "ate_aipw" in lines[1] and "1.060  [0.670, 1.450]" in lines[1]
    assert "policy_value.treat_all" in lines[2] and "1.370  [1.070, 1.660]" in lines[2]
    assert "factual_rmse" in lines[3] and "0.770" in lines[3]
