"""``meddl train --resume``: a training process killed mid-run and resumed writes what an uninterrupted one writes."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
import yaml
from safetensors import safe_open

import meddl
from meddl.cli import main
from meddl.errors import ConfigError, MeddlError
from meddl.io import sha256_file
from meddl.runs import RunFolder
from meddl.runs.registry import load_config
from meddl.runs.resume import OVERHEAD_VARIABLE, checkpoint_overhead, run_fingerprint
from meddl.training.checkpoint import CheckpointStore
from tests.runs.conftest import patient_table
from tests.runs.test_prognosis_treatment import survival_table

EPOCHS = 12


def write_config(tmp_path, task):
    if task == "diagnosis":
        patient_table(n=240).to_csv(tmp_path / "patients.csv", index=False)
        config = {"task": "diagnosis",
                  "data": {"source": "csv", "path": "patients.csv", "label": "label", "positive_class": "sepsis"},
                  "training": {"epochs": EPOCHS, "batch_size": 32, "early_stopping": {"patience": EPOCHS},
                               "ensemble": 2, "seed": 0},
                  "evaluation": {"n_resamples": 20}}
    else:
        survival_table(n=240).to_csv(tmp_path / "cohort.csv", index=False)
        config = {"task": "survival",
                  "data": {"source": "csv", "path": "cohort.csv", "duration": "months", "event": "died"},
                  "model": {"preset": "deepsurv", "options": {"hidden_units": [16]}},
                  "training": {"epochs": EPOCHS, "seed": 0, "ensemble": 2},
                  "evaluation": {"n_resamples": 20}}
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def train_command(config, out, *extra):
    return [sys.executable, "-m", "meddl", "train", str(config), "--out", str(out), *extra]


# A fresh process on one torch thread (as the in-process runs: float sums in one order), saving every epoch
# (by default short epochs are saved only every ~0.2 s, and these fits are shorter than that).
ENVIRONMENT = {**os.environ, "OMP_NUM_THREADS": "1", OVERHEAD_VARIABLE: "0"}


def run_meddl(*command, cwd):
    return subprocess.run(list(command), check=False, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=ENVIRONMENT)


@pytest.fixture
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def saved_epoch(path):
    """The epoch a fit's checkpoint file holds mid-fit (-1 while it has none, or once the fit is finished)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            state = json.loads(handle.metadata()["meddl_checkpoint"])
    except (OSError, ValueError, KeyError):
        return -1
    return -1 if state["finished"] else state["epoch"]


def kill_during_second_fit(command, checkpoint, cwd, fit=1, epoch=2):
    """Start ``command``; SIGKILL it once fit ``fit`` (default the second, fit_1) has saved epoch ``epoch``."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=ENVIRONMENT)
    deadline = time.monotonic() + 240
    while saved_epoch(checkpoint / f"fit_{fit}.safetensors") < epoch:
        assert process.poll() is None, "the run ended before the second fit saved an epoch"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    return process.returncode


@pytest.mark.parametrize("task, resume_with", [("diagnosis", "cli"), ("survival", "api")])
def test_a_killed_run_resumed_is_identical_to_an_uninterrupted_one(tmp_path, task, resume_with, one_thread):
    config = write_config(tmp_path, task)
    checkpoint = RunFolder(tmp_path / "resumed").checkpoint_dir
    assert kill_during_second_fit(train_command(config, "resumed"), checkpoint, tmp_path) == -signal.SIGKILL
    assert not (tmp_path / "resumed").exists() and checkpoint.is_dir()
    if resume_with == "cli":  # meddl train --resume in a fresh process
        resumed = run_meddl(*train_command(config, "resumed", "--resume"), cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
    else:  # meddl.train(resume=True) in this process (a process other than the killed one, all the same)
        meddl.train(config, out=tmp_path / "resumed", resume=True)
    meddl.train(config, out=tmp_path / "straight")  # uninterrupted, in this process

    a, b = RunFolder(tmp_path / "straight"), RunFolder(tmp_path / "resumed")
    log = b.file(RunFolder.LOG).read_text(encoding="utf-8")
    assert "Resuming from checkpoint: fit 1 finished, fit 2 after epoch" in log
    assert not checkpoint.exists()  # removed once the run folder is written
    weights = sorted(p.relative_to(a.path) for p in a.path.rglob("*.safetensors"))
    assert len(weights) >= 2  # both ensemble members
    for name in weights:
        assert sha256_file(a.path / name) == sha256_file(b.path / name), name
    assert a.predictions_file("test").read_bytes() == b.predictions_file("test").read_bytes()
    assert a.read_metrics() == b.read_metrics()
    histories = sorted(p.name for p in a.path.glob("history*.csv"))
    assert histories == sorted(p.name for p in b.path.glob("history*.csv"))
    for name in histories:
        assert a.file(name).read_bytes() == b.file(name).read_bytes(), name


def test_a_snapshot_ensemble_killed_mid_cycle_resumes_to_the_same_members(tmp_path, one_thread):
    config = write_config(tmp_path, "diagnosis")
    settings = yaml.safe_load(config.read_text())
    settings["training"].update({"ensemble": 3, "ensemble_method": "snapshots"})
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    checkpoint = RunFolder(tmp_path / "resumed").checkpoint_dir
    # killed in the second cosine cycle: the first snapshot lives only in the checkpoint
    assert kill_during_second_fit(train_command(config, "resumed"), checkpoint, tmp_path, fit=0,
                                  epoch=EPOCHS // 3 + 1) == -signal.SIGKILL
    resumed = run_meddl(*train_command(config, "resumed", "--resume"), cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    meddl.train(config, out=tmp_path / "straight")
    a, b = RunFolder(tmp_path / "straight"), RunFolder(tmp_path / "resumed")
    assert "Resuming from checkpoint: fit 1 after epoch" in b.file(RunFolder.LOG).read_text(encoding="utf-8")
    weights = sorted(p.relative_to(a.path) for p in a.path.rglob("*.safetensors"))
    assert len(weights) >= 3  # the three snapshots
    for name in weights:
        assert sha256_file(a.path / name) == sha256_file(b.path / name), name
    assert a.predictions_file("test").read_bytes() == b.predictions_file("test").read_bytes()


def test_resume_with_a_changed_config_is_refused_in_one_line(tmp_path, capsys):
    config = write_config(tmp_path, "diagnosis")
    checkpoint = CheckpointStore(RunFolder(tmp_path / "run").checkpoint_dir)
    checkpoint.open(run_fingerprint(load_config(config)), resume=False)  # as a killed run leaves it
    changed = yaml.safe_load(config.read_text())
    changed["training"]["learning_rate"] = 0.01
    config.write_text(yaml.safe_dump(changed), encoding="utf-8")
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--resume"]) == 1
    message = capsys.readouterr().err.strip()
    assert len(message.splitlines()) == 1
    assert "--resume" in message and "changed: config" in message
    assert checkpoint.exists()  # kept: the right config can still resume it


def test_resume_needs_the_run_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "cfg.yaml", "--resume"])
    assert exit_.value.code == 2 and "--out" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="resume=True needs 'out'"):
        meddl.train({"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer"}},
                    resume=True)


def test_resume_is_refused_for_an_auto_preset(tmp_path):
    with pytest.raises(ConfigError, match="not available with model.preset 'auto'"):
        meddl.train({"task": "diagnosis", "model": "auto",
                     "data": {"source": "builtin", "name": "wisconsin-breast-cancer"}}, out=tmp_path / "r", resume=True)


def test_run_fingerprint_changes_with_the_data_and_the_config(tmp_path):
    config_path = write_config(tmp_path, "diagnosis")
    first = run_fingerprint(load_config(config_path))
    assert first == run_fingerprint(load_config(config_path))
    with open(tmp_path / "patients.csv", "a", encoding="utf-8") as handle:
        handle.write("70,1.0,male,A,0.1,sepsis\n")
    second = run_fingerprint(load_config(config_path))
    assert second["data"] != first["data"] and second["config"] == first["config"]


def test_resume_without_a_checkpoint_trains_from_the_start_and_says_so(tmp_path):
    run = meddl.train({"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer"},
                       "training": {"epochs": 2}, "evaluation": {"n_resamples": 10}}, out=tmp_path / "r", resume=True)
    assert "--resume: no checkpoint at" in (run.path / RunFolder.LOG).read_text(encoding="utf-8")
    assert not RunFolder(tmp_path / "r").checkpoint_dir.exists()


def test_a_checkpoint_survives_the_stale_temporary_cleanup(tmp_path):
    folder = RunFolder(tmp_path / "run")
    folder.checkpoint_dir.mkdir()
    with RunFolder.reserve(folder.path):
        pass
    assert folder.checkpoint_dir.is_dir()


def test_an_unreadable_checkpoint_file_is_refused_naming_the_file(tmp_path):
    config_path = write_config(tmp_path, "diagnosis")
    folder = RunFolder(tmp_path / "run")
    folder.checkpoint_dir.mkdir()
    index = {"format": 1, "fingerprint": run_fingerprint(load_config(config_path))}
    (folder.checkpoint_dir / "checkpoint.json").write_text(json.dumps(index), encoding="utf-8")
    (folder.checkpoint_dir / "fit_0.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(MeddlError, match=r"fit_0.safetensors' is unreadable .*run without --resume"):
        meddl.train(config_path, out=folder.path, resume=True)


def test_the_checkpoint_overhead_comes_from_the_environment_and_is_checked(monkeypatch):
    monkeypatch.delenv(OVERHEAD_VARIABLE, raising=False)
    assert checkpoint_overhead() == 0.02
    monkeypatch.setenv(OVERHEAD_VARIABLE, "0")
    assert checkpoint_overhead() == 0.0
    monkeypatch.setenv(OVERHEAD_VARIABLE, "lots")
    with pytest.raises(ConfigError, match="MEDDL_CHECKPOINT_OVERHEAD must be a number in \\[0, 1\\).*'lots'"):
        checkpoint_overhead()


def test_an_interrupted_train_command_says_how_to_resume(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("meddl.cli.train", interrupted)
    assert main(["train", "cfg.yaml", "--out", "runs/dx"]) == 130
    assert capsys.readouterr().err.strip() == ("interrupted; continue it with: meddl train cfg.yaml --out runs/dx "
                                               "--resume")
