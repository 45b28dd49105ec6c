"""A run folder attacked as real life does: downgraded, pointed outside itself, changed while read, replaced under a
reader, killed mid-replacement, the disk full, a user's files where meddl writes. Each test fails without its fix."""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pytest

import meddl
from meddl.errors import ModelFileError, OutputPathError, RunFolderError
from meddl.io import sha256_file
from meddl.runs import RunFolder
from meddl.runs import folder as folder_module
from meddl.runs.registry import get_task

QUICK = {"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer",
                                      "positive_class": "malignant"},
         "training": {"epochs": 1}, "evaluation": {"n_resamples": 0}}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return meddl.train(QUICK, out=tmp_path_factory.mktemp("attacks") / "quick").path


def _copy(run_dir: Path, target: Path) -> Path:
    return Path(shutil.copytree(run_dir, target))


def _edit_json(path: Path, **changes) -> None:
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text())


# -- the manifest cannot be talked out of its job --------------------------------------------------------------
def test_a_run_json_downgraded_to_format_1_with_its_manifest_removed_is_refused(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "downgraded")
    _edit_json(copy / "run.json", format_version=1, threshold=0.999)  # meddl 0.1.0 had no manifest to check
    (copy / "manifest.json").unlink()
    with pytest.raises(ModelFileError, match="has no manifest.json, yet its run.json is of format 1 and says so"):
        meddl.load_run(copy)
    assert not RunFolder(copy).verify().ok


@pytest.mark.parametrize("entry", ["../outside.txt", "/etc/hostname", "model/../../outside.txt", "./run.json", ""])
def test_a_manifest_naming_a_file_outside_the_folder_is_refused(run_dir, tmp_path, entry):
    copy = _copy(run_dir, tmp_path / "run")
    (tmp_path / "outside.txt").write_text("not part of the run")
    manifest = _manifest(copy)
    outside = (copy / entry) if entry else copy
    manifest["files"][entry] = sha256_file(outside) if outside.is_file() else "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=f"it lists {entry!r}, which is not a file inside the run folder"):
        meddl.load_run(copy)


def test_a_file_the_manifest_does_not_record_is_not_used(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "unrecorded")
    manifest = _manifest(copy)
    del manifest["files"]["input_profile.json"]  # a run saved without an input profile ...
    (copy / "manifest.json").write_text(json.dumps(manifest))
    profile = json.loads((copy / "input_profile.json").read_text())
    (copy / "input_profile.json").write_text(json.dumps(profile))  # ... and one copied in from elsewhere
    with pytest.raises(ModelFileError, match="input_profile.json' is not part of the run: its manifest.json does "
                                             "not record it"):
        meddl.load_run(copy)
    (copy / "input_profile.json").unlink()
    assert meddl.load_run(copy).input_profile is None


@pytest.mark.parametrize("name, read", [("metrics.json", lambda run: run.metrics),
                                        ("split.csv", lambda run: run.folder.read_split())])
def test_a_file_changed_after_loading_is_refused_when_it_is_read(run_dir, tmp_path, name, read):
    copy = _copy(run_dir, tmp_path / "later")
    run = meddl.load_run(copy)
    read(run)  # fine while unchanged
    path = copy / name
    path.write_text(path.read_text().replace("0", "1"))
    with pytest.raises(ModelFileError, match=f"'{path}' changed after the run folder was checked"):
        read(run)


def test_a_folder_changed_while_it_is_loaded_is_refused(run_dir, tmp_path, monkeypatch):
    copy = _copy(run_dir, tmp_path / "racing")
    task = get_task("diagnosis")
    load_model = type(task).load_model

    def load_then_replaced(self, folder, info):  # another process replaces the weights just after they are read
        model = load_model(self, folder, info)
        weights = folder.model_dir / "model.safetensors"
        replaced = weights.with_name(".new")
        replaced.write_bytes(weights.read_bytes()[:-1] + b"\0")
        os.replace(replaced, weights)
        return model

    monkeypatch.setattr(type(task), "load_model", load_then_replaced)
    with pytest.raises(ModelFileError, match=r"changed while it was being loaded \('model/model.safetensors'\)"):
        meddl.load_run(copy)


# -- writes that must not destroy ----------------------------------------------------------------------------------
def test_a_run_folder_holding_a_users_files_is_not_replaced(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "run")
    (copy / "notes.txt").write_text("my notes on this model")
    (copy / "model" / "licence.txt").write_text("kept with the weights")
    with pytest.raises(RunFolderError, match="also holds 'model/licence.txt', 'notes.txt', which are not part of "
                                             "the run"):
        with RunFolder.reserve(copy):
            pass
    assert (copy / "notes.txt").read_text() == "my notes on this model"


def test_a_folder_without_a_manifest_is_replaced_only_if_it_holds_nothing_but_run_files(tmp_path):
    folder = tmp_path / "legacy"
    (folder / "model").mkdir(parents=True)
    (folder / "run.json").write_text(json.dumps({"task": "diagnosis", "meddl_version": "0.1.0"}))
    (folder / "predictions_test.csv").write_text("row_id\n")
    with RunFolder.reserve(folder):
        pass
    (folder / "patients.xlsx").write_text("a user's data beside a stray run.json")
    with pytest.raises(RunFolderError, match="also holds 'patients.xlsx'"):
        with RunFolder.reserve(folder):
            pass


def test_a_run_killed_between_moving_the_old_run_aside_and_the_new_one_in_gets_the_old_one_back(run_dir, tmp_path):
    target = tmp_path / "run"
    old = tmp_path / ".run.old-1a2b3c4d"
    _copy(run_dir, old)  # atomic_directory moved the old run aside ...
    half = tmp_path / ".run.x1y2.tmp"
    half.mkdir()  # ... and was killed before the new one moved in
    lines = []
    with RunFolder.reserve(target, log=lines.append):
        pass
    assert RunFolder(target).verify().ok and not old.exists() and not half.exists()
    assert any("Restored" in line for line in lines)


def test_a_lock_taken_on_a_lock_file_its_holder_just_removed_is_taken_again(tmp_path, monkeypatch):
    flock = folder_module.fcntl.flock
    calls = []

    def late_flock(fd, operation):  # the holder before us released (and removed) the file we had just opened
        if not calls:
            os.unlink(tmp_path / ".run.lock")
        calls.append(fd)
        return flock(fd, operation)

    monkeypatch.setattr(folder_module.fcntl, "flock", late_flock)
    with RunFolder.reserve(tmp_path / "run"):
        monkeypatch.setattr(folder_module.fcntl, "flock", flock)
        with pytest.raises(RunFolderError, match="being written by another meddl process"):
            with RunFolder.reserve(tmp_path / "run"):
                pass
    assert len(calls) == 2


# -- a full disk ----------------------------------------------------------------------------------------------------
def test_a_full_disk_while_the_run_folder_is_written_keeps_the_old_run_and_the_checkpoint(run_dir, tmp_path,
                                                                                          monkeypatch):
    target = _copy(run_dir, tmp_path / "run")
    before = _manifest(target)
    write_files = RunFolder._write_files

    def full(self, result, log_text):
        write_files(self, result, log_text)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunFolder, "_write_files", full)
    with pytest.raises(OutputPathError, match=f"'{target}' could not be written: No space left on device"):
        meddl.train(QUICK, out=target)
    assert _manifest(target) == before and RunFolder(target).verify().ok
    assert sorted(p.name for p in tmp_path.iterdir()) == [".run.checkpoint", "run"]  # nothing half-written


def test_out_dot_inside_a_run_folder_replaces_it_with_its_lock_and_checkpoint_beside_it(run_dir, tmp_path,
                                                                                         monkeypatch):
    copy = _copy(run_dir, tmp_path / "run")
    monkeypatch.chdir(copy)
    assert RunFolder(".").checkpoint_dir == copy.parent / ".run.checkpoint"  # was '..checkpoint', inside the run
    run = meddl.train(QUICK, out=".")
    assert run.path == copy and RunFolder(copy).verify().ok and RunFolder(copy).verify().added == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_out_inside_an_input_folder_is_refused(run_dir, tmp_path):
    copy = _copy(run_dir, tmp_path / "run")
    for inside in (copy / "site", copy / "model" / "x"):  # a site update written into the original run
        with pytest.raises(RunFolderError, match="lies inside the run's own input"):
            with RunFolder.reserve(inside, inputs=[copy]):
                pass
    assert RunFolder(copy).verify().added == []
    with RunFolder.reserve(tmp_path / "site", inputs=[copy]):  # beside it is fine
        pass
