"""Data-parallel training with 2 CPU processes (torchrun + DDP, gloo) matches one process."""

import json
import subprocess
import sys

import pytest
import yaml

from ..runs.conftest import patient_table


def test_two_processes_match_one_process(tmp_path):
    patient_table(n=250).to_csv(tmp_path / "t.csv", index=False)
    config = {"task": "diagnosis", "data": {"source": "csv", "path": "t.csv", "label": "label"},
              "model": {"preset": "default", "options": {"dropout": 0.0}},
              "training": {"epochs": 6, "batch_size": 24, "early_stopping": None},  # 175 training rows: last batch of 7 → shares 3 and 4
              "evaluation": {"n_resamples": 0}}
    (tmp_path / "dx.yaml").write_text(yaml.safe_dump(config))
    results = {}
    for nproc in (1, 2):
        out = tmp_path / f"run{nproc}"
        done = subprocess.run([sys.executable, "-m", "meddl", "train", str(tmp_path / "dx.yaml"), "--out", str(out),
                               "--nproc", str(nproc)], capture_output=True, text=True, timeout=280)
        assert done.returncode == 0, done.stderr[-3000:]
        results[nproc] = json.loads((out / "metrics.json").read_text())
        history = (out / "history.csv").read_text()
        results[f"history{nproc}"] = history
        assert ("data-parallel on 2 processes" in (out / "train.log").read_text()) == (nproc == 2)
    one, two = results[1]["test"]["metrics"], results[2]["test"]["metrics"]
    assert two["auroc"]["value"] == pytest.approx(one["auroc"]["value"], abs=0.02)
    assert two["accuracy"]["value"] == pytest.approx(one["accuracy"]["value"], abs=0.05)
    loss_one = [float(r.split(",")[1]) for r in results["history1"].splitlines()[1:]]
    loss_two = [float(r.split(",")[1]) for r in results["history2"].splitlines()[1:]]
    assert loss_two == pytest.approx(loss_one, rel=1e-3)  # same global batches, same updates
