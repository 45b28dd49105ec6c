"""No traceback from any CLI command on user error (issue 13, item 17).

Every command is run with bad invocations: missing files, a file where a folder is expected and the
reverse, read-only targets, corrupted run folders and malformed inputs. Each must exit non-zero with one
line on stderr that names the path or argument at fault. The sweep runs in-process (fast); two cases run
as a real subprocess to check that nothing reaches the terminal as a traceback.
"""

import os
import shutil
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml

import meddl
from meddl.cli import main
from meddl.errors import OutputPathError
from meddl.io import atomic_write_text, check_output_folder

from .runs.conftest import diagnosis_config, patient_table
from .runs.test_prognosis_treatment import survival_table


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    table = patient_table(n=120)
    table.to_csv(root / "patients.csv", index=False)
    (root / "dx.yaml").write_text(yaml.safe_dump(diagnosis_config("patients.csv")))
    run = root / "run"
    meddl.set_seed(0)
    meddl.train(root / "dx.yaml", out=run)
    (root / "empty.csv").write_text("")
    (root / "header_only.csv").write_text(",".join(table.columns) + "\n")
    table.drop(columns=["age", "label"]).to_csv(root / "wrong_columns.csv", index=False)
    (root / "garbage.csv").write_bytes(bytes(range(256)) * 8)
    (root / "garbage.yaml").write_bytes(bytes(range(128, 256)) * 4)
    (root / "truncated.yaml").write_text("task: diagnosis\ndata: {source: csv, path: [")
    for name in ("empty", "garbage", "wrong_columns", "missing"):
        (root / f"{name}_data.yaml").write_text(yaml.safe_dump(diagnosis_config(f"{name}.csv")))
    (root / "notes.txt").write_text("keep me")
    survival_table(n=200).to_csv(root / "s.csv", index=False)
    survival_table(n=100, seed=3).drop(columns="died").to_csv(root / "no_events.csv", index=False)
    meddl.train({"task": "survival", "data": {"source": "csv", "path": str(root / "s.csv"), "duration": "months",
                                              "event": "died"}, "model": "linear_cox", "training": {"ensemble": 1},
                 "evaluation": {"horizons": [30, 60], "n_resamples": 5}}, out=root / "survival_run")
    (root / "far_horizons.yaml").write_text(yaml.safe_dump({  # horizons in days, follow-up in months
        "task": "survival", "data": {"source": "csv", "path": "s.csv", "duration": "months", "event": "died"},
        "model": "linear_cox", "evaluation": {"horizons": [1825, 3650]}}))

    def damaged(name, damage):
        folder = root / name
        shutil.copytree(run, folder)
        damage(folder)
        return folder

    def flip_a_weight_byte(folder):
        weights = folder / "model" / "model.safetensors"
        data = bytearray(weights.read_bytes())
        data[-5] ^= 0xFF
        weights.write_bytes(bytes(data))

    return SimpleNamespace(
        root=root, run=run, config=root / "dx.yaml", data=root / "patients.csv", missing=root / "missing",
        survival_run=root / "survival_run", survival_data=root / "s.csv",
        file=root / "notes.txt",
        truncated_run=damaged("truncated_run", lambda f: (f / "run.json").write_text((f / "run.json").read_text()[:40])),
        no_model_run=damaged("no_model_run", lambda f: shutil.rmtree(f / "model")),
        no_manifest_run=damaged("no_manifest_run", lambda f: (f / "manifest.json").unlink()),
        tampered_run=damaged("tampered_run", flip_a_weight_byte))


# (case, argv built from the paths, text the message must contain)
CASES = [
    ("train: missing config", lambda p: ["train", p.missing, "--out", p.root / "o"], "missing"),
    ("train: config is a folder", lambda p: ["train", p.root, "--out", p.root / "o"], "is a folder"),
    ("train: config is binary garbage", lambda p: ["train", p.root / "garbage.yaml", "--out", p.root / "o"],
     "garbage.yaml' is not UTF-8 text"),
    ("train: truncated YAML", lambda p: ["train", p.root / "truncated.yaml", "--out", p.root / "o"],
     "truncated.yaml' is not valid YAML"),
    ("train: data file missing", lambda p: ["train", p.root / "missing_data.yaml", "--out", p.root / "o"],
     "missing.csv"),
    ("train: empty CSV", lambda p: ["train", p.root / "empty_data.yaml", "--out", p.root / "o"], "empty.csv"),
    ("train: binary CSV", lambda p: ["train", p.root / "garbage_data.yaml", "--out", p.root / "o"], "garbage.csv"),
    ("train: wrong columns", lambda p: ["train", p.root / "wrong_columns_data.yaml", "--out", p.root / "o"],
     "'label'"),
    ("train: --out is a file", lambda p: ["train", p.config, "--out", p.file], "notes.txt"),
    ("train: horizons beyond the follow-up", lambda p: ["train", p.root / "far_horizons.yaml", "--out", p.root / "o"],
     "evaluation.horizons: 1825, 3650 lie(s) beyond the longest follow-up"),
    ("predict: missing run", lambda p: ["predict", p.missing, p.data], "missing"),
    ("predict: run is a file", lambda p: ["predict", p.file, p.data], "notes.txt"),
    ("predict: run is a data folder", lambda p: ["predict", p.root, p.data], "not a complete meddl run folder"),
    ("predict: missing input", lambda p: ["predict", p.run, p.missing], "missing"),
    ("predict: input is a folder", lambda p: ["predict", p.run, p.root], "is a folder"),
    ("predict: empty CSV", lambda p: ["predict", p.run, p.root / "empty.csv"], "empty.csv"),
    ("predict: binary CSV", lambda p: ["predict", p.run, p.root / "garbage.csv"], "garbage.csv"),
    ("predict: wrong columns", lambda p: ["predict", p.run, p.root / "wrong_columns.csv"], "'age'"),
    ("predict: wrong columns names the file", lambda p: ["predict", p.run, p.root / "wrong_columns.csv"],
     "wrong_columns.csv': Columns ['age']"),
    ("predict: header only", lambda p: ["predict", p.run, p.root / "header_only.csv"],
     "header_only.csv' has a header (6 columns) but no data rows"),
    ("predict: manifest removed", lambda p: ["predict", p.no_manifest_run, p.data],
     "has no manifest.json, yet its run.json is of format 2"),
    ("predict: --out is a folder", lambda p: ["predict", p.run, p.data, "--out", p.root], "is a folder"),
    ("predict: truncated run.json", lambda p: ["predict", p.truncated_run, p.data], "run.json"),
    ("predict: model missing", lambda p: ["predict", p.no_model_run, p.data], "model.safetensors' is missing"),
    ("predict: tampered weights", lambda p: ["predict", p.tampered_run, p.data], "model.safetensors' has changed"),
    ("recalibrate: missing run", lambda p: ["recalibrate", p.missing, "--data", p.data, "--out", p.root / "r"],
     "missing"),
    ("recalibrate: missing data", lambda p: ["recalibrate", p.run, "--data", p.missing, "--out", p.root / "r"],
     "missing"),
    ("recalibrate: empty data", lambda p: ["recalibrate", p.run, "--data", p.root / "empty.csv", "--out",
                                           p.root / "r"], "empty.csv"),
    ("recalibrate: no label column", lambda p: ["recalibrate", p.run, "--data", p.root / "wrong_columns.csv",
                                                "--out", p.root / "r"], "'label'"),
    ("recalibrate: --out is a file", lambda p: ["recalibrate", p.run, "--data", p.data, "--update", "intercept",
                                                "--out", p.file], "notes.txt"),
    ("recalibrate: --out is the run", lambda p: ["recalibrate", p.run, "--data", p.data, "--update", "intercept",
                                                 "--out", p.run], "holds the run's own input"),
    ("recalibrate: tampered weights", lambda p: ["recalibrate", p.tampered_run, "--data", p.data, "--out",
                                                 p.root / "r"], "model.safetensors' has changed"),
    ("recalibrate: bad alpha", lambda p: ["recalibrate", p.run, "--data", p.data, "--alpha", "2", "--out",
                                          p.root / "r"], "'alpha'"),
    ("recalibrate: survival run, two-class update", lambda p: ["recalibrate", p.survival_run, "--data",
                                                               p.survival_data, "--update", "intercept", "--out",
                                                               p.root / "r"], "auto, baseline, slope"),
    ("recalibrate: survival run, --label", lambda p: ["recalibrate", p.survival_run, "--data", p.survival_data,
                                                      "--label", "died", "--out", p.root / "r"], "does not apply"),
    ("recalibrate: survival data without events", lambda p: ["recalibrate", p.survival_run, "--data",
                                                             p.root / "no_events.csv", "--out", p.root / "r"],
     "'died'"),
    ("recommend: diagnosis run", lambda p: ["recommend", p.run, p.data], "not available for 'diagnosis' runs"),
    ("recommend: missing run", lambda p: ["recommend", p.missing, p.data], "missing"),
    ("evaluate: missing data", lambda p: ["evaluate", p.run, "--data", p.missing], "missing"),
    ("evaluate: empty data", lambda p: ["evaluate", p.run, "--data", p.root / "empty.csv"], "empty.csv"),
    ("evaluate: no label column", lambda p: ["evaluate", p.run, "--data", p.root / "wrong_columns.csv"], "'label'"),
    ("evaluate: header only", lambda p: ["evaluate", p.run, "--data", p.root / "header_only.csv"], "no data rows"),
    ("evaluate: --out is a folder", lambda p: ["evaluate", p.run, "--data", p.data, "--resamples", "5", "--out",
                                               p.root], "is a folder"),
    ("evaluate: truncated run.json", lambda p: ["evaluate", p.truncated_run, "--data", p.data], "run.json"),
    ("evaluate: survival data without events", lambda p: ["evaluate", p.survival_run, "--data",
                                                          p.root / "no_events.csv"], "'died'"),
    ("export: missing run", lambda p: ["export", p.missing], "missing"),
    ("export: tampered weights", lambda p: ["export", p.tampered_run], "model.safetensors' has changed"),
    ("cv: missing config", lambda p: ["cv", p.missing, "--out", p.root / "cv"], "missing"),
    ("cv: binary config", lambda p: ["cv", p.root / "garbage.yaml", "--out", p.root / "cv"], "garbage.yaml"),
    ("cv: --out is a file", lambda p: ["cv", p.config, "--out", p.file], "notes.txt' is an existing file"),
    ("learning-curve: config is a folder", lambda p: ["learning-curve", p.root, "--out", p.root / "lc"], "is a folder"),
    ("learning-curve: --out is a file", lambda p: ["learning-curve", p.config, "--out", p.file], "notes.txt"),
    ("learning-curve: bad fractions", lambda p: ["learning-curve", p.config, "--out", p.root / "lc", "--fractions",
                                                 "a,b"], "'fractions'"),
    ("pretrain: missing config", lambda p: ["pretrain", p.missing, "--out", p.root / "pre"], "missing"),
    ("pretrain: table config", lambda p: ["pretrain", p.config, "--out", p.root / "pre"], "data.source"),
    ("explain: missing run", lambda p: ["explain", p.missing], "missing"),
    ("explain: binary input", lambda p: ["explain", p.run, p.root / "garbage.csv"], "garbage.csv"),
    ("explain: truncated run.json", lambda p: ["explain", p.truncated_run], "run.json"),
    ("explain: --out is a file", lambda p: ["explain", p.run, "--out", p.file, "--steps", "4"], "notes.txt"),
    ("explain: unknown method", lambda p: ["explain", p.run, "--method", "bogus"], "'bogus'"),
    ("explain: --steps 0", lambda p: ["explain", p.run, "--steps", "0"], "'n_steps'"),
    ("explain: header only", lambda p: ["explain", p.run, p.root / "header_only.csv"], "no data rows"),
    ("compare: missing run", lambda p: ["compare", p.run, p.missing], "missing"),
    ("compare: survival runs", lambda p: ["compare", p.survival_run, p.survival_run], "is a survival run"),
    ("compare: --out is a folder", lambda p: ["compare", p.run, p.run, "--resamples", "5", "--out", p.root],
     "is a folder"),
    ("report: missing run", lambda p: ["report", p.missing], "missing"),
    ("report: run is a file", lambda p: ["report", p.file], "notes.txt"),
    ("report: truncated run.json", lambda p: ["report", p.truncated_run], "run.json"),
    ("verify: missing run", lambda p: ["verify", p.missing], "missing"),
    ("verify: data folder", lambda p: ["verify", p.root], "not a complete meddl run folder"),
    ("quickstart: --out is a file", lambda p: ["quickstart", "--out", p.file], "notes.txt"),
]


def _assert_one_line_error(argv, expected, code, err):
    command = argv[0]
    lines = [line for line in err.splitlines() if line.strip() and not line.startswith("meddl: epoch")]
    assert code not in (0, None), f"{argv} exited 0"
    assert "Traceback" not in err, err
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"meddl {command}: error: "), lines[0]
    assert expected in lines[0], lines[0]


@pytest.mark.parametrize("argv, expected", [pytest.param(build, text, id=case) for case, build, text in CASES])
def test_every_command_gives_a_one_line_error_naming_the_path_without_a_traceback(paths, argv, expected, capsys):
    argv = [str(part) for part in argv(paths)]
    code = main(argv)
    _assert_one_line_error(argv, expected, code, capsys.readouterr().err)
    assert paths.file.read_text() == "keep me"  # nothing given by mistake is replaced


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="read-only folders bind only non-root users")
@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "cv"])
def test_read_only_targets_are_refused_with_the_path(paths, command, capsys):
    locked = paths.root / f"read_only_{command}"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        argv = {"train": ["train", paths.config, "--out", locked / "run"],
                "predict": ["predict", paths.run, paths.data, "--out", locked / "p.csv"],
                "evaluate": ["evaluate", paths.run, "--data", paths.data, "--resamples", "5", "--out", locked / "m.json"],
                "cv": ["cv", paths.config, "--out", locked / "cv", "--folds", "2"]}[command]
        argv = [str(part) for part in argv]
        _assert_one_line_error(argv, str(locked), main(argv), capsys.readouterr().err)
    finally:
        locked.chmod(0o755)


@pytest.mark.parametrize("argv, expected", [
    (lambda p: ["train", p.root / "garbage.yaml", "--out", p.root / "o"], "garbage.yaml"),
    (lambda p: ["predict", p.tampered_run, p.data, "--out", p.root], "model.safetensors"),
])
def test_a_subprocess_shows_the_one_line_error_and_no_traceback(paths, argv, expected):
    argv = [str(part) for part in argv(paths)]
    done = subprocess.run([sys.executable, "-m", "meddl", *argv], check=False, capture_output=True, text=True,
                          timeout=120)
    _assert_one_line_error(argv, expected, done.returncode, done.stderr)


def test_output_helpers_refuse_a_folder_for_a_file_and_a_file_for_a_folder(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(OutputPathError, match=r"is a folder; expected the name of a file"):
        atomic_write_text(tmp_path, "text")
    with pytest.raises(OutputPathError, match=r"a.txt' is an existing file; a folder is written there"):
        check_output_folder(tmp_path / "a.txt")
    assert check_output_folder(tmp_path / "new") == tmp_path / "new" and not (tmp_path / "new").exists()
    assert (tmp_path / "a.txt").read_text() == "x"
