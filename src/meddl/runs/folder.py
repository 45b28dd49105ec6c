"""The run folder and its only owner, :class:`RunFolder`: every file name, the format, the manifest, safe writes.

A run folder holds everything needed to use a model later (the REST API and
the web page serve straight from it)::

    config.yaml            the resolved config (every default spelled out)
    run.json               task, class names, threshold, input schema, data summary, format version
    model/                 the network (model.json + model.safetensors); model_1/, ... for ensemble members
    preprocessing.json     the fitted preprocessing (tables or images)
    metrics.json           metrics with 95% CIs for the validation and test splits
    history.csv            loss and metrics per epoch
    split.csv              which rows went to train / val / test
    predictions_val.csv    validation predictions
    predictions_test.csv   test predictions
    train.log              what happened, with timestamps
    manifest.json          the sha256 of every file above: loading checks it, ``meddl verify`` too
    report.html            the report (self-contained; rebuilt by ``meddl report``)
    report_sections.json   task sections and explanations the report shows (rebuildable)
    explanations/          written by ``meddl explain`` (rebuildable)
    model.onnx             written by ``meddl export`` (rebuildable; its sha256 is recorded in model.onnx.json)

Beside the folder, ``.RUN.checkpoint/`` holds the checkpoints of a run in progress
(``meddl train --resume`` continues from them; removed once the run is written).

Writing is safe: a run is built under a temporary name and renamed into place;
only a folder that is a meddl run, and holds nothing else, is ever replaced; one
process at a time writes a target (a lock); the target is checked to be writable
before any training; and temporaries a killed run left behind are cleaned on the
next start (an old run a kill left moved aside is put back).

Reading is checked: :meth:`RunFolder.check_integrity` compares every file with the
manifest (which may name only files inside the folder); after it, every file read
is held to the manifest (one changed since, or one the manifest does not list, is
refused), and :meth:`RunFolder.confirm_unchanged` tells whether any file was
replaced while a run was being loaded.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
import yaml

from meddl.errors import ModelFileError, RunFolderError
from meddl.models import load_model
from meddl.io import atomic_directory, atomic_write_text, json_safe, sha256_file
from meddl.runs.result import FORMAT_VERSION, RunInfo, RunResult
from meddl.sections import Section

try:  # POSIX: a real lock that the operating system releases when the process dies
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["RunFolder", "Verification"]


@dataclass
class Verification:
    """What :meth:`RunFolder.verify` found: ``ok``, and one line per problem."""

    path: Path
    ok: bool
    checked: int
    problems: list[str] = field(default_factory=list)
    has_manifest: bool = True
    added: list[str] = field(default_factory=list)
    #: the manifest's sha256 of each file, and each file's (inode, size, mtime) as it was checked
    digests: dict[str, str] = field(default_factory=dict)
    signatures: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    #: the sha256 of the manifest's own bytes, as read for this check
    manifest_sha256: str | None = None

    def summary(self) -> str:
        if not self.has_manifest:
            return (f"'{self.path}' has no manifest.json (written by meddl 0.1.0): only the weights' checksums "
                    f"could be checked ({self.checked} file(s)).")
        if self.ok:
            extra = (f" Not part of the run (not checked): {', '.join(self.added[:5])}"
                     f"{', ...' if len(self.added) > 5 else ''}." if self.added else "")
            return f"'{self.path}': all {self.checked} files match the manifest.{extra}"
        return f"'{self.path}': " + "; ".join(self.problems)


def _signature(path: Path) -> tuple[int, int, int]:
    """What changes when a file is replaced or written: its inode, size and modification time."""
    stat = path.stat()
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _inside_folder(name: Any) -> bool:
    """Whether a manifest entry names a file inside the folder: a plain relative POSIX path, no '..'."""
    if not isinstance(name, str) or not name or "\\" in name or name.startswith("/"):
        return False
    path = PurePosixPath(name)
    return path.as_posix() == name and ".." not in path.parts and ":" not in path.parts[0]


class RunFolder:
    """One run folder: its file names, reading (with the format and manifest checked) and safe writing."""

    CONFIG = "config.yaml"
    INFO = "run.json"
    MODEL = "model"
    PREPROCESSING = "preprocessing.json"
    METRICS = "metrics.json"
    HISTORY = "history.csv"
    SPLIT = "split.csv"
    LOG = "train.log"
    MANIFEST = "manifest.json"
    REPORT = "report.html"
    SECTIONS = "report_sections.json"
    EXPLANATIONS = "explanations"
    ONNX = "model.onnx"
    ONNX_INT8 = "model.int8.onnx"
    EXPORT_REPORT = "model.onnx.json"
    AUGMENTATION_EXAMPLES = "augmentation_examples.png"
    #: training ranges and distance scale of a table run's inputs (meddl.runs.input_profile)
    INPUT_PROFILE = "input_profile.json"
    #: one patient of the run's data, written by ``meddl quickstart`` after the run (a CSV to try predict on)
    EXAMPLE_PATIENT = "example_patient.csv"
    #: files that tools rebuild after training: outside the manifest
    REBUILDABLE = (MANIFEST, REPORT, SECTIONS, EXPLANATIONS, ONNX, ONNX_INT8, EXPORT_REPORT, EXAMPLE_PATIENT)
    #: what a folder without a manifest (meddl 0.1.0) may hold to count as only a run (shell patterns)
    _RUN_NAMES = (CONFIG, INFO, MODEL, f"{MODEL}_*", PREPROCESSING, METRICS, "history*.csv", SPLIT,
                  "predictions_*.csv", LOG, AUGMENTATION_EXAMPLES, INPUT_PROFILE) + REBUILDABLE

    def __init__(self, path: str | os.PathLike):
        path = Path(path)
        # "." or "runs/..": the names beside it (lock, checkpoint, temporaries) need the folder's own name
        self.path = Path(os.path.abspath(path)) if path.name in ("", "..") else path
        # set by check_integrity: what every later read of the folder's files is held to
        self._checked: Verification | None = None

    def __repr__(self) -> str:
        return f"RunFolder('{self.path}')"

    # -- names --------------------------------------------------------------
    def file(self, name: str) -> Path:
        return self.path / name

    @property
    def model_dir(self) -> Path:
        return self.path / self.MODEL

    @property
    def checkpoint_dir(self) -> Path:
        """Hidden, beside the target: the checkpoints of a run being trained into it (meddl.runs.resume)."""
        return self.path.parent / f".{self.path.name}.checkpoint"

    def member_dir(self, index: int) -> Path:
        """Ensemble member ``index``: ``model/`` for 0 (so single-model tools keep working), ``model_<i>/`` else."""
        return self.path / (self.MODEL if index == 0 else f"{self.MODEL}_{index}")

    def load_members(self, n_members: int, first: Any = None) -> list:
        """An ensemble's networks (``first``: member 0, when already loaded)."""
        members = [first if first is not None else load_model(self.member_dir(0), device="cpu")]
        for index in range(1, n_members):
            folder = self.member_dir(index)
            if not folder.is_dir():
                raise ModelFileError(f"The run is an ensemble of {n_members} members but '{folder}' is missing.")
            members.append(load_model(folder, device="cpu"))
        return members

    def history_file(self, index: int = 0) -> Path:
        return self.path / (self.HISTORY if index == 0 else f"history_{index}.csv")

    def predictions_file(self, split: str) -> Path:
        return self.path / f"predictions_{split}.csv"

    @classmethod
    def is_run_folder(cls, path: str | os.PathLike) -> bool:
        """Whether ``path`` is a folder that meddl wrote (it holds run.json)."""
        path = Path(path)
        return path.is_dir() and (path / cls.INFO).is_file()

    def foreign_files(self) -> list[str]:
        """Files in the folder that are not part of the run (a user's notes, data copied in): those its
        manifest does not record, rebuildable files and hidden ones aside; in a folder without a readable
        manifest, every top-level name meddl does not write. Replacing the run would delete them."""
        with contextlib.suppress(ModelFileError, OSError):
            recorded = self.recorded_files()
            if recorded is not None:
                return [p.as_posix() for p in self._manifest_files() if p.as_posix() not in recorded]
        return sorted(entry.name for entry in self.path.iterdir() if not entry.name.startswith(".")
                      and not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in self._RUN_NAMES))

    @classmethod
    def _replace_problem(cls, old: Path, new: Path) -> str | None:
        """Why the folder ``old`` may not be replaced by a new run (``atomic_directory``'s rule for runs)."""
        if not any(old.iterdir()):
            return None
        if not cls.is_run_folder(old):
            shown = sorted(p.name for p in old.iterdir())
            return (f"it is a folder that is not a meddl run (it holds {', '.join(shown[:3])}"
                    f"{', ...' if len(shown) > 3 else ''}); meddl replaces only run folders")
        foreign = cls(old).foreign_files()
        if foreign:
            return (f"it is a meddl run folder, but it also holds {', '.join(repr(n) for n in foreign[:3])}"
                    f"{', ...' if len(foreign) > 3 else ''}, which {'is' if len(foreign) == 1 else 'are'} not "
                    f"part of the run: replacing the run would delete {'it' if len(foreign) == 1 else 'them'}")
        return None

    # -- reading ------------------------------------------------------------
    def require(self) -> "RunFolder":
        """Check that this is a complete run folder of a format this meddl reads."""
        if not self.path.is_dir():
            raise ModelFileError(f"No run folder at '{self.path}'.")
        self.read_info()
        return self

    def _read_bytes(self, name: str) -> bytes:
        """The bytes of one file; once the folder passed :meth:`check_integrity`, only if they are still the
        ones its manifest records (a file replaced since, or one the manifest does not list, is refused)."""
        path = self.path / name
        if not path.is_file():
            raise ModelFileError(f"'{path}' is missing: '{self.path}' is not a complete meddl run folder.")
        data = path.read_bytes()
        checked = self._checked
        if checked is None or not checked.has_manifest or PurePosixPath(name).parts[0] in self.REBUILDABLE:
            return data
        recorded = checked.digests.get(name)
        if recorded is None:
            raise ModelFileError(f"'{path}' is not part of the run: its {self.MANIFEST} does not record it, so it "
                                 f"was never checked and is not used. Remove it, or train the run again.")
        if hashlib.sha256(data).hexdigest() != recorded:
            raise ModelFileError(f"'{path}' changed after the run folder was checked (its sha256 no longer matches "
                                 f"{self.MANIFEST}); another process may be writing '{self.path}'. It is refused; "
                                 f"load the run again.")
        return data

    def read_json(self, name: str) -> dict[str, Any]:
        return self._parse_json(name, self._read_bytes(name))

    def _parse_json(self, name: str, data: bytes) -> dict[str, Any]:
        path = self.path / name
        try:
            content = json.loads(data.decode("utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"'{path}' is not valid JSON ({exc}); the run folder may be truncated.") from None
        if not isinstance(content, dict):  # every JSON file of a run folder holds one object
            raise ModelFileError(f"'{path}' is corrupted: expected a JSON object, got {type(content).__name__}.")
        return content

    def read_info(self) -> dict[str, Any]:
        """``run.json``, after checking that this meddl can read its format."""
        info = self.read_json(self.INFO)
        version = info.get("format_version", 1)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise ModelFileError(f"'{self.path}' is a run folder of format {version!r}, written by a newer meddl "
                                 f"({info.get('meddl_version', 'unknown version')}); this meddl reads formats up to "
                                 f"{FORMAT_VERSION}. Upgrade meddl (pip install -U meddl) to load it.")
        return info

    def read_run_info(self) -> RunInfo:
        return RunInfo.from_dict(self.read_info())

    def read_config(self) -> dict[str, Any]:
        path = self.path / self.CONFIG
        data = self._read_bytes(self.CONFIG)
        try:
            return yaml.safe_load(data.decode("utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ModelFileError(f"'{path}' is corrupted ({exc}).") from None

    def read_metrics(self) -> dict[str, Any]:
        return self.read_json(self.METRICS)

    def read_preprocessing(self) -> dict[str, Any] | None:
        return self.read_json(self.PREPROCESSING) if (self.path / self.PREPROCESSING).is_file() else None

    def read_input_profile(self) -> dict[str, Any] | None:
        """``input_profile.json`` (table runs since meddl 0.2), or ``None`` where the run has none."""
        return self.read_json(self.INPUT_PROFILE) if self.file(self.INPUT_PROFILE).is_file() else None

    def read_split(self) -> pd.DataFrame:
        return self._read_csv(self.path / self.SPLIT, dtype={"row_id": str})

    def read_predictions(self, split: str) -> pd.DataFrame | None:
        path = self.predictions_file(split)
        return self._read_csv(path) if path.is_file() else None

    def read_history(self, index: int = 0) -> pd.DataFrame | None:
        path = self.history_file(index)
        return self._read_csv(path) if path.is_file() else None

    def _read_csv(self, path: Path, **options) -> pd.DataFrame:
        data = self._read_bytes(path.relative_to(self.path).as_posix())
        try:
            return pd.read_csv(io.BytesIO(data), **options)
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise ModelFileError(f"'{path}' is corrupted ({exc}).") from None

    # -- report sections kept with the run ----------------------------------
    def read_sections(self) -> list[Section]:
        """Task-specific sections a run saved with itself (survival curves, propensity overlap, explanations)."""
        path = self.path / self.SECTIONS
        if not path.is_file():
            return []
        try:
            return [Section(str(title), str(body)) for title, body in json.loads(path.read_text(encoding="utf-8"))]
        except (ValueError, TypeError) as exc:
            raise ModelFileError(f"'{path}' is corrupted ({exc}).") from None

    def save_section(self, section: Section) -> None:
        """Add (or replace, by title) a section kept with the run, so report rebuilds keep it."""
        sections = [s for s in self.read_sections() if s.title != section.title] + [Section(*section)]
        atomic_write_text(self.path / self.SECTIONS, json.dumps([list(s) for s in sections]))

    # -- the manifest ---------------------------------------------------------
    def _manifest_files(self) -> list[Path]:
        files = []
        for path in sorted(self.path.rglob("*")):
            relative = path.relative_to(self.path)
            if path.is_file() and relative.parts[0] not in self.REBUILDABLE and not relative.name.startswith("."):
                files.append(relative)
        return files

    def write_manifest(self) -> None:
        """Record the sha256 of every file the run needs (rebuildable files excepted)."""
        entries = {path.as_posix(): sha256_file(self.path / path) for path in self._manifest_files()}
        atomic_write_text(self.path / self.MANIFEST, json.dumps({"format_version": FORMAT_VERSION, "algorithm": "sha256",
                                                                 "files": entries}, indent=2) + "\n")

    def recorded_files(self) -> set[str] | None:
        """The files the manifest lists (``None`` for a folder written before manifests)."""
        if not (self.path / self.MANIFEST).is_file():
            return None
        return set((self.read_json(self.MANIFEST).get("files") or {}))

    def verify(self) -> Verification:
        """Compare every file with the manifest: a changed or missing file is a problem.

        Files added later (notes, an example patient) are listed but are not part of the run.
        """
        if not self.path.is_dir():
            raise ModelFileError(f"No run folder at '{self.path}'.")
        manifest_path = self.path / self.MANIFEST
        if not manifest_path.is_file():
            info = self.read_info()  # at least a run folder of a readable format
            version = info.get("format_version", 1)
            if "format_version" not in info:  # meddl 0.1.0 wrote neither the key nor a manifest
                return Verification(self.path, ok=True, checked=0, has_manifest=False)
            # every later meddl writes both: a removed manifest (with run.json "downgraded" to format 1, too)
            # must not switch the check off
            return Verification(self.path, ok=False, checked=0, problems=[
                f"the folder has no {self.MANIFEST}, yet its {self.INFO} is of format {version!r} and says so (meddl "
                f"0.1.0, the only version that wrote no manifest, wrote no format_version either): it was removed"])
        manifest_bytes = self._read_bytes(self.MANIFEST)
        manifest = self._parse_json(self.MANIFEST, manifest_bytes)
        manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
        expected = manifest.get("files")
        if not isinstance(expected, dict):
            raise ModelFileError(f"'{manifest_path}' is corrupted (no 'files' mapping).")
        outside = [name for name in expected if not _inside_folder(name)]
        if outside:  # '../x' or '/etc/x' would make verify read, and a site update copy, files elsewhere
            raise ModelFileError(f"'{manifest_path}' is corrupted: it lists {outside[0]!r}, which is not a file "
                                 f"inside the run folder (expected a relative path like 'model/model.json'). "
                                 f"The run is refused.")
        problems = [] if self.INFO in expected else [f"'{self.MANIFEST}' does not record '{self.INFO}'"]
        signatures = {self.MANIFEST: _signature(manifest_path)}
        for name, digest in expected.items():
            path = self.path / name
            if not path.is_file():
                problems.append(f"'{name}' is missing")
                continue
            signatures[name] = _signature(path)  # before hashing: a change during the hash shows later
            if sha256_file(path) != digest:
                problems.append(f"'{name}' has changed since the run was written (sha256 differs)")
        added = [p.as_posix() for p in self._manifest_files() if p.as_posix() not in expected]
        return Verification(self.path, ok=not problems, checked=len(expected), problems=problems, added=added,
                            digests=dict(expected), signatures=signatures, manifest_sha256=manifest_sha256)

    def check_integrity(self) -> None:
        """Raise ``ModelFileError`` naming the file if anything differs from the manifest."""
        result = self.verify()
        if not result.ok:
            raise ModelFileError(f"The run folder '{self.path}' was modified or damaged after training: "
                                 + "; ".join(result.problems[:5])
                                 + ". It is refused; train it again or restore the original files.")
        self._checked = result

    @property
    def checked(self) -> Verification | None:
        """What :meth:`check_integrity` found (the manifest's digests, as checked), or ``None`` before it."""
        return self._checked

    def changed_since_check(self) -> list[str]:
        """The files replaced, written or removed since :meth:`check_integrity` (by inode, size and modification
        time: no file is read), e.g. for a server to say that the run on disk is no longer the one it serves."""
        if self._checked is None:
            return []
        changed = []
        for name, signature in self._checked.signatures.items():
            path = self.path / name
            try:
                if _signature(path) != signature:
                    changed.append(name)
            except OSError:
                changed.append(name)
        return changed

    def confirm_unchanged(self) -> None:
        """After reading a checked folder: raise ``ModelFileError`` if any file was replaced or written since
        the check (its inode, size or modification time differ), e.g. by a ``meddl train`` replacing the folder
        while it was being loaded, which could otherwise mix files of two runs."""
        changed = self.changed_since_check()
        if changed:
            raise ModelFileError(f"The run folder '{self.path}' changed while it was being loaded ("
                                 f"{', '.join(repr(n) for n in changed[:5])}{', ...' if len(changed) > 5 else ''}); "
                                 f"another process may be writing it. Nothing was loaded; load the run again once "
                                 f"it is finished.")

    def export_record(self) -> dict:
        """What ``meddl export`` records of its files, for :meth:`read_export`: their sha256 and this run's manifest's."""
        return {"sha256": {name: sha256_file(self.path / name) for name in (self.ONNX, self.ONNX_INT8)
                           if (self.path / name).is_file()},
                "run_manifest_sha256": self._manifest_sha256()}

    def _manifest_sha256(self) -> str | None:
        manifest = self.path / self.MANIFEST
        return sha256_file(manifest) if manifest.is_file() else None

    def read_export(self, name: str = ONNX) -> bytes:
        """The bytes of an ONNX export (``model.onnx``), checked against what ``meddl export`` recorded.

        The export is outside the manifest (it is rebuilt at will), so it is checked here: its sha256 must be
        the one recorded in ``model.onnx.json``, and that record must name this run's current manifest (an
        export copied from another run, or left from before the run was updated, is refused).

        Raises:
            ModelFileError: naming the file, when it is missing, unrecorded, changed or from another run.
        """
        path, report_path = self.path / name, self.path / self.EXPORT_REPORT
        again = f"Export it again: meddl export {self.path}"
        if not path.is_file():
            raise ModelFileError(f"No ONNX model at '{path}'. {again}")
        if not report_path.is_file():
            raise ModelFileError(f"'{path}' has no export record ('{self.EXPORT_REPORT}'), so it cannot be checked "
                                 f"and is refused. {again}")
        report = self.read_json(self.EXPORT_REPORT)
        data = path.read_bytes()
        recorded = (report.get("sha256") or {}).get(name) if isinstance(report, dict) else None
        if recorded is None:
            raise ModelFileError(f"'{report_path}' records no sha256 for '{name}' (an export by an older meddl), so "
                                 f"'{path}' cannot be checked and is refused. {again}")
        if hashlib.sha256(data).hexdigest() != recorded:
            raise ModelFileError(f"'{path}' has changed since it was exported (its sha256 differs from the one in "
                                 f"'{report_path}'); it is refused. {again}")
        if report.get("run_manifest_sha256") != self._manifest_sha256():
            raise ModelFileError(f"'{path}' was exported from another run, or from this run before it was changed "
                                 f"(the manifest named in '{report_path}' is not this run's); it is refused. {again}")
        return data

    # -- writing ------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def reserve(cls, out: str | os.PathLike, *, inputs: list[Path] = (),
                log: Callable[[str], None] = lambda line: None) -> Iterator["RunFolder"]:
        """Claim ``out`` for a new run before any training: checked, locked, and cleaned of stale temporaries.

        Refused (``RunFolderError``, before anything runs): an existing file; a non-empty folder that
        is not a meddl run (meddl replaces only run folders); a folder holding the run's own inputs;
        a target that cannot be written; a target another meddl process is writing now.
        """
        folder = cls(out)
        folder._check_target(inputs)
        with folder._lock():
            folder._clean_stale_temporaries(log)
            if cls.is_run_folder(folder.path):
                log(f"'{folder.path}' is a meddl run folder: it will be replaced when the new run is complete.")
            yield folder

    def _check_target(self, inputs: list[Path]) -> None:
        path = self.path
        if path.exists() and not path.is_dir():
            raise RunFolderError(f"--out '{path}' is an existing file; a run needs a folder. Choose another --out.")
        resolved = path.resolve()
        for source in inputs:
            source = Path(source).expanduser().resolve()
            if source == resolved or resolved in source.parents:
                raise RunFolderError(f"--out '{path}' holds the run's own input '{source}'; replacing it would "
                                     f"destroy the data. Choose an --out outside the data folder.")
            if source.is_dir() and source in resolved.parents:  # a new class of images, files in the original run
                raise RunFolderError(f"--out '{path}' lies inside the run's own input '{source}'; writing there "
                                     f"would change that folder. Choose an --out outside it.")
        problem = self._replace_problem(path, path) if path.is_dir() and not path.is_symlink() else None
        if problem:
            raise RunFolderError(f"--out '{path}': {problem}. Choose a new --out, or move those files out first.")
        parent = path.parent if path.parent != Path("") else Path(".")
        try:
            parent.mkdir(parents=True, exist_ok=True)
            probe = parent / f".{path.name}.write-test-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise RunFolderError(f"--out '{path}' cannot be written ({exc.strerror or exc}); nothing was trained. "
                                 f"Choose a folder you can write to.") from None

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        lock_path = self.path.parent / f".{self.path.name}.lock"
        while True:
            handle = open(lock_path, "a+")
            if fcntl is None:
                break
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                handle.seek(0)
                owner = handle.read().strip() or "unknown"
                handle.close()
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise
                raise RunFolderError(f"--out '{self.path}' is being written by another meddl process "
                                     f"(pid {owner}); wait for it to finish or choose another --out.") from None
            # The holder before us removes the lock file when it finishes: a lock taken on a file that is no
            # longer at lock_path locks nothing (a third process would lock the new file), so take it again.
            with contextlib.suppress(FileNotFoundError):
                if os.fstat(handle.fileno()).st_ino == os.stat(lock_path).st_ino:
                    break
            handle.close()
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield
        finally:
            with contextlib.suppress(OSError):  # removed while still held, so no one can lock it meanwhile
                lock_path.unlink()
            handle.close()

    def _clean_stale_temporaries(self, log: Callable[[str], None]) -> None:
        """Temporaries of this target left by a killed run (they may hold patient ids): removed, and said so."""
        stale_folders = [stale for stale in sorted(self.path.parent.glob(f".{self.path.name}.*"))
                         if stale.is_dir() and (stale.name.endswith(".tmp") or ".old-" in stale.name)]
        if not os.path.lexists(self.path):
            # killed between moving the old run aside and moving the new one in: the old run comes back whole
            for old in (stale for stale in stale_folders if ".old-" in stale.name and not stale.is_symlink()):
                with contextlib.suppress(ModelFileError, OSError):
                    if self.is_run_folder(old) and RunFolder(old).verify().ok:
                        os.replace(old, self.path)
                        stale_folders.remove(old)
                        log(f"Restored '{self.path}' from '{old}', where a run interrupted while replacing it "
                            f"had moved it.")
                        break
        for stale in stale_folders:
            if stale.is_symlink():
                stale.unlink()
            else:
                shutil.rmtree(stale, ignore_errors=True)
            log(f"Removed '{stale}', a temporary folder left by an interrupted run.")

    def write(self, result: RunResult, log_text: str, *,
              finish: Callable[["RunFolder"], None] | None = None) -> "RunFolder":
        """Write a finished run atomically: the folder appears (or replaces the old run) only when complete.

        ``finish`` gets the complete folder (under its temporary name) before the manifest is written,
        e.g. to build the report.
        """
        with atomic_directory(self.path, replaceable=self._replace_problem) as tmp:
            staged = RunFolder(tmp)
            staged._write_files(result, log_text)
            if finish is not None:
                finish(staged)
            staged.write_manifest()
        return self

    def write_copy(self, source: "RunFolder", *, replace: dict[str, Callable[[Path], Any]], log_line: str,
                   finish: Callable[["RunFolder"], None] | None = None) -> "RunFolder":
        """Write a new run from ``source``'s files with some of them replaced, atomically.

        Every file ``source``'s manifest records is copied and checked against it (a file that changed
        is refused, naming it); ``replace`` maps file names to functions that write the new version at
        the path they are given; ``log_line`` is added to the copied ``train.log``. Report sections
        are carried over; the other rebuildable files (report, explanations, ONNX export) are not.
        ``finish`` gets the complete folder before its manifest is written, e.g. to build the report.
        """
        if source.recorded_files() is None:
            raise ModelFileError(f"'{source.path}' has no {self.MANIFEST} (written by meddl 0.1.0), so its files "
                                 "cannot be verified while they are copied. Train the run again with this meddl.")
        digests = source.read_json(self.MANIFEST)["files"]
        with atomic_directory(self.path, replaceable=self._replace_problem) as tmp:
            staged = RunFolder(tmp)
            for name in sorted(set(digests) - set(replace)):
                target = tmp / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source.path / name, target)
                if sha256_file(target) != digests[name]:
                    raise ModelFileError(f"'{source.path / name}' changed since the run was written (sha256 "
                                         "differs from its manifest); nothing was written.")
            if source.file(self.SECTIONS).is_file():
                shutil.copyfile(source.file(self.SECTIONS), staged.file(self.SECTIONS))
            for name, writer in replace.items():
                writer(tmp / name)
            staged.append_log(log_line)
            if finish is not None:
                finish(staged)
            staged.write_manifest()
        return self

    def _write_files(self, result: RunResult, log_text: str) -> None:
        def write_json(name: str, value: Any) -> None:
            (self.path / name).write_text(json.dumps(json_safe(value), indent=2, allow_nan=False) + "\n",
                                          encoding="utf-8")

        (self.path / self.CONFIG).write_text(yaml.safe_dump(result.config.to_dict(), sort_keys=False), encoding="utf-8")
        write_json(self.INFO, result.info.to_dict())
        result.model.save(self.model_dir)
        if result.preprocessor is not None:
            write_json(self.PREPROCESSING, result.preprocessor.to_dict())
        write_json(self.METRICS, result.metrics)
        if result.history is not None:
            result.history.to_frame().to_csv(self.history_file(), index=False)
        if result.split is not None:
            result.split.to_csv(self.path / self.SPLIT, index=False)
        for index, (member, history) in enumerate(zip(result.members, result.member_histories), start=1):
            member.save(self.member_dir(index))
            if history is not None:
                history.to_frame().to_csv(self.history_file(index), index=False)
        for split, frame in result.predictions.items():
            frame.to_csv(self.predictions_file(split), index=False)
        for name, writer in result.extra_files.items():
            writer(self.path / name)
        if result.sections:
            (self.path / self.SECTIONS).write_text(json.dumps([list(s) for s in result.sections]), encoding="utf-8")
        (self.path / self.LOG).write_text(log_text, encoding="utf-8")

    def append_log(self, line: str) -> None:
        with open(self.path / self.LOG, "a", encoding="utf-8") as handle:
            handle.write(line.rstrip("\n") + "\n")
