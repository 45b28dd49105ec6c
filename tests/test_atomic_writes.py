"""Atomic writes never destroy what they replace: a user's folder given as an output, a folder behind a link, a file
being replaced when the disk is full. Each test fails without its fix in meddl.io."""

from __future__ import annotations

import errno
import importlib
from pathlib import Path

import pytest

import meddl
from meddl.errors import OutputPathError
from meddl.io import atomic_directory, atomic_writer

QUICK = {"task": "diagnosis", "data": {"source": "builtin", "name": "wisconsin-breast-cancer",
                                      "positive_class": "malignant"},
         "training": {"epochs": 1}, "evaluation": {"n_resamples": 0}}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    return meddl.train(QUICK, out=tmp_path_factory.mktemp("atomic") / "quick").path


def test_a_users_folder_given_as_an_output_is_never_emptied(run_dir, tmp_path):
    users = tmp_path / "Documents"
    users.mkdir()
    (users / "patients.csv").write_text("id,age\n1,70\n")
    with pytest.raises(OutputPathError, match="it holds 'patients.csv', which the new output does not"):
        meddl.load_run(run_dir).explain(out_dir=users, methods=["integrated_gradients"])
    model = meddl.models.load_model(run_dir / "model")
    with pytest.raises(OutputPathError, match="holds 'patients.csv'"):
        model.save(users)
    assert sorted(p.name for p in users.iterdir()) == ["patients.csv"]
    model.save(tmp_path / "saved")
    model.save(tmp_path / "saved")  # a folder of the same files is still replaced



def test_an_earlier_output_of_the_same_writer_is_replaced_whole(run_dir, tmp_path):
    run = meddl.load_run(run_dir)
    out = tmp_path / "explanations"
    run.explain(out_dir=out, methods=["integrated_gradients", "gradient_shap"])
    assert (out / "attributions_gradient_shap.csv").is_file()
    run.explain(out_dir=out, methods=["integrated_gradients"])  # fewer files than before: still its own output
    assert not (out / "attributions_gradient_shap.csv").exists()


def test_a_folder_is_replaced_when_the_new_one_has_everything_it_had(tmp_path):
    out = tmp_path / "out"
    for text in ("first", "second"):
        with atomic_directory(out) as tmp:
            (tmp / "result.txt").write_text(text)
    assert (out / "result.txt").read_text() == "second"


def test_a_full_disk_while_a_file_is_written_names_it_and_leaves_the_old_one(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("old")
    with pytest.raises(OutputPathError, match="predictions.csv' could not be written: No space left"):
        with atomic_writer(path) as handle:
            handle.write("new")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["predictions.csv"]


def test_an_output_that_is_a_link_to_a_folder_keeps_the_folder(tmp_path):
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "a.txt").write_text("mine")
    link = tmp_path / "link"
    link.symlink_to(kept)
    with atomic_directory(link) as tmp:
        (tmp / "b.txt").write_text("new")
    assert (kept / "a.txt").read_text() == "mine" and not link.is_symlink() and (link / "b.txt").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept", "link"]


def test_a_hidden_folder_counts_as_something_to_lose_a_hidden_file_does_not(tmp_path):
    out = tmp_path / "out"
    (out / ".git").mkdir(parents=True)
    with pytest.raises(OutputPathError, match="it holds '.git'"):
        with atomic_directory(out) as tmp:
            (tmp / "result.txt").write_text("new")
    (out / ".git").rmdir()
    (out / ".DS_Store").write_text("")
    with atomic_directory(out) as tmp:
        (tmp / "result.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["result.txt"]


@pytest.mark.parametrize("study", ["cross_validate", "learning_curve"])
def test_a_study_refuses_a_users_folder_before_any_training(tmp_path, monkeypatch, study):
    users = tmp_path / "Documents"
    users.mkdir()
    (users / "patients.csv").write_text("id,age\n1,70\n")
    trained = []
    for module in ("meddl.studies.cross_validation", "meddl.studies.learning_curve"):
        monkeypatch.setattr(importlib.import_module(module), "train_supervised", lambda *a, **k: trained.append(1))
    with pytest.raises(OutputPathError, match="holds 'patients.csv' but no .*nothing was computed"):
        getattr(importlib.import_module("meddl.studies"), study)(QUICK, out=users)
    assert trained == [] and sorted(p.name for p in users.iterdir()) == ["patients.csv"]
