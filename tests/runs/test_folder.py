"""The run folder has one owner: its format version, its manifest, and writes that never destroy anything."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import meddl
from meddl.errors import ModelFileError, RunFolderError
from meddl.runs import FORMAT_VERSION, RunFolder

FIXTURES = Path(__file__).parent / "fixtures" / "v0_1_0"
QUICK = {"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer",
                                      "positive_class": "malignant"},
         "training": {"epochs": 3}, "evaluation": {"n_resamples": 20}}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return meddl.train(QUICK, out=tmp_path_factory.mktemp("runs") / "quick").path


def _copy(run_dir, target):
    subprocess.run(["cp", "-r", str(run_dir), str(target)], check=True)
    return target


def test_run_json_carries_the_format_version_and_a_manifest_lists_every_needed_file(run_dir):
    info = json.loads((run_dir / "run.json").read_text())
    assert info["format_version"] == FORMAT_VERSION
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert {"run.json", "config.yaml", "metrics.json", "preprocessing.json", "model/model.json",
            "model/model.safetensors", "split.csv", "predictions_test.csv"} <= set(manifest["files"])
    assert "report.html" not in manifest["files"]  # rebuildable files stay outside


@pytest.mark.parametrize("name, edit", [
    ("run.json", lambda d: {**d, "threshold": 0.99}),
    ("preprocessing.json", lambda d: {**d, "mean": [0.0] * len(d.get("mean", []))}),
    ("model/model.json", lambda d: json.loads(json.dumps(d).replace('"relu"', '"sigmoid"'))),
])
def test_an_edited_file_is_refused_naming_it(run_dir, tmp_path, name, edit):
    copy = _copy(run_dir, tmp_path / "edited")
    path = copy / name
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    with pytest.raises(ModelFileError, match=f"'{name}' has changed since the run was written"):
        meddl.load_run(copy)
    verified = RunFolder(copy).verify()
    assert not verified.ok and name in verified.summary()


def test_a_missing_file_is_named(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "missing")
    (copy / "preprocessing.json").unlink()
    with pytest.raises(ModelFileError, match="'preprocessing.json' is missing"):
        meddl.load_run(copy)


def test_meddl_verify_exits_nonzero_on_any_difference(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "verify")
    ok = subprocess.run([sys.executable, "-m", "meddl", "verify", str(copy)], capture_output=True, text=True)
    assert ok.returncode == 0 and "match the manifest" in ok.stdout
    (copy / "metrics.json").write_text("{}")
    bad = subprocess.run([sys.executable, "-m", "meddl", "verify", str(copy)], capture_output=True, text=True)
    assert bad.returncode == 1 and "'metrics.json' has changed" in bad.stdout


def test_a_removed_or_emptied_manifest_does_not_switch_the_check_off(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "no_manifest")
    info = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**info, "threshold": 0.01}))  # edited, then the evidence removed
    (copy / "manifest.json").unlink()  # only meddl 0.1.0 (format 1) wrote folders without one
    with pytest.raises(ModelFileError, match=r"has no manifest.json, yet its run.json is of format 2"):
        meddl.load_run(copy)
    assert not RunFolder(copy).verify().ok
    (copy / "manifest.json").write_text(json.dumps({"format_version": 2, "algorithm": "sha256", "files": {}}))
    with pytest.raises(ModelFileError, match=r"'manifest.json' does not record 'run.json'"):
        meddl.load_run(copy)


@pytest.mark.parametrize("name", ["manifest.json", "run.json"])
def test_a_json_file_that_is_not_an_object_is_named(run_dir, tmp_path, name):
    copy = _copy(run_dir, tmp_path / "list")
    (copy / "manifest.json").unlink()
    (copy / name).write_text("[]")
    with pytest.raises(ModelFileError, match=f"'{copy / name}' is corrupted: expected a JSON object, got list"):
        RunFolder(copy).verify()
    with pytest.raises(ModelFileError, match="expected a JSON object"):
        meddl.load_run(copy)


def test_rebuildable_files_may_change(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "rebuilt")
    (copy / "report.html").write_text("<html>rebuilt</html>")
    (copy / "notes.txt").write_text("added by a person")
    verified = RunFolder(copy).verify()
    assert verified.ok and verified.added == ["notes.txt"]
    meddl.load_run(copy)


@pytest.mark.parametrize("task, dataset, column", [("diagnosis", "wisconsin-breast-cancer", "prob_malignant"),
                                                   ("survival", "gbsg2", "risk")])
def test_a_folder_written_by_meddl_0_1_0_loads_and_predicts_as_it_did(task, dataset, column, tmp_path):
    copy = _copy(FIXTURES / task, tmp_path / task)  # made by meddl 0.1.0's own code (see the fixtures' README)
    run = meddl.load_run(copy)
    assert run.run_info.format_version == 1 and run.task == task
    frame = meddl.data.load_builtin(dataset).frame
    split = pd.read_csv(copy / "split.csv", dtype={"row_id": str})
    test_ids = split.loc[split["split"] == "test", "row_id"]
    rows = frame.loc[frame.index.astype(str).isin(test_ids)]
    saved = pd.read_csv(copy / "predictions_test.csv", dtype={"row_id": str}).set_index("row_id")
    predicted = run.predict(rows).set_index("row_id")
    np.testing.assert_allclose(predicted.loc[saved.index, column], saved[column], rtol=1e-6, atol=1e-9)
    assert "no manifest.json" in RunFolder(copy).verify().summary()
    assert meddl.runs.rebuild_report(copy).is_file()


def test_a_folder_of_meddl_0_1_0_keeps_its_ensemble_size(tmp_path):
    run = meddl.load_run(_copy(FIXTURES / "survival", tmp_path / "survival"))
    assert run.config.ensemble_members == 2 and "ensemble" not in run.config.model.options


def test_a_folder_of_a_future_format_gives_a_clear_error(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "future")
    info = json.loads((copy / "run.json").read_text())
    info["format_version"] = FORMAT_VERSION + 1
    (copy / "run.json").write_text(json.dumps(info))
    with pytest.raises(ModelFileError, match=f"format {FORMAT_VERSION + 1}.*newer meddl.*Upgrade meddl"):
        meddl.load_run(copy)


# -- --out never destroys what is not a run -------------------------------------------------------------
def _csv_config(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    frame = meddl.data.load_builtin("wisconsin-breast-cancer").frame.head(120)
    frame.to_csv(data / "patients.csv", index=False)
    (data / "notes.txt").write_text("my notes")
    config = {"task": "diagnosis", "data": {"source": "csv", "path": "patients.csv", "label": "diagnosis",
                                           "positive_class": "1"},
              "training": {"epochs": 1}, "evaluation": {"n_resamples": 0}}
    (data / "config.yaml").write_text(yaml.safe_dump(config))
    return data


def test_out_refuses_a_folder_that_is_not_a_run(tmp_path):
    data = _csv_config(tmp_path)
    for target in (data, tmp_path):  # the data folder itself, and a folder holding it
        with pytest.raises(RunFolderError, match="not a meddl run|holds the run's own input"):
            meddl.train(data / "config.yaml", out=target)
    assert sorted(p.name for p in data.iterdir()) == ["config.yaml", "notes.txt", "patients.csv"]


def test_out_refuses_an_existing_file_and_the_cli_says_so_in_one_line(tmp_path):
    data = _csv_config(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    result = subprocess.run([sys.executable, "-m", "meddl", "train", str(data / "config.yaml"), "--out", str(victim)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"'{victim}' is an existing file" in result.stderr and victim.read_text() == "keep me"
    dot = subprocess.run([sys.executable, "-m", "meddl", "train", "config.yaml", "--out", "."], capture_output=True,
                         text=True, cwd=data)
    assert dot.returncode == 1 and "Traceback" not in dot.stderr
    assert "holds the run's own input" in dot.stderr and len(dot.stderr.strip().splitlines()) == 1


def test_out_replaces_a_run_folder_and_says_so(tmp_path):
    data = _csv_config(tmp_path)
    meddl.train(data / "config.yaml", out=tmp_path / "run")
    again = meddl.train(data / "config.yaml", out=tmp_path / "run")
    assert "is a meddl run folder: it will be replaced" in (again.path / "train.log").read_text()


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root can write to read-only folders, so this check cannot fail for root")
def test_a_read_only_target_is_refused_before_training(tmp_path):
    data = _csv_config(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(RunFolderError, match="cannot be written.*nothing was trained"):
            meddl.train(data / "config.yaml", out=locked / "run")
    finally:
        locked.chmod(stat.S_IRWXU)


def test_a_target_whose_parent_cannot_be_created_is_refused_before_training(tmp_path):
    data = _csv_config(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(RunFolderError, match="cannot be written.*nothing was trained"):
        meddl.train(data / "config.yaml", out=blocker / "sub" / "run")


def test_a_second_writer_of_the_same_target_is_refused_at_once(tmp_path):
    with RunFolder.reserve(tmp_path / "run"):
        with pytest.raises(RunFolderError, match="being written by another meddl process"):
            with RunFolder.reserve(tmp_path / "run"):
                pass
    with RunFolder.reserve(tmp_path / "run"):  # released when the first one finished
        pass


def test_stale_temporaries_of_the_target_are_cleaned_and_reported(tmp_path):
    stale = tmp_path / ".run.abc123.tmp"
    stale.mkdir()
    (stale / "split.csv").write_text("row_id,split,patient_id\n0,train,MRN-1\n")
    other = tmp_path / ".other.abc123.tmp"
    other.mkdir()
    lines = []
    with RunFolder.reserve(tmp_path / "run", log=lines.append):
        pass
    assert not stale.exists() and other.exists()
    assert any("left by an interrupted run" in line for line in lines)


def test_outputs_follow_the_umask(run_dir):
    for path in (run_dir / "run.json", run_dir / "model" / "model.safetensors"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o044 == 0o044, path  # readable by group and others (umask 022)
    assert stat.S_IMODE(run_dir.stat().st_mode) & 0o055 == 0o055
