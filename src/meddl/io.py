"""Atomic file and folder writes: nothing a user saved is ever half-written.

Everything is written next to its destination under a temporary name, then
renamed into place (``os.replace`` is atomic on one file system).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from meddl.errors import ConfigError, OutputPathError

__all__ = ["check_output_folder", "atomic_text_writer", "atomic_write_text", "atomic_write_bytes", "atomic_write_json",
           "atomic_directory", "entries_lost", "replaceable_if_it_holds",
           "sha256_file", "current_umask", "atomic_writer", "json_safe", "json_float", "write_json", "read_yaml"]


def current_umask() -> int:
    """The process's umask (read without changing it where the system tells it, e.g. Linux's /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: the classic read-and-restore
    os.umask(mask)
    return mask


def _follow_umask(path: Path, mode: int) -> None:
    """Temporary files and folders are created private (0600/0700); the result gets the usual permissions.

    For a folder, everything inside it too (some writers, e.g. safetensors, create files 0600).
    """
    mask = current_umask()
    os.chmod(path, mode & ~mask)
    if path.is_dir():
        for root, folders, files in os.walk(path):
            for name in folders:
                os.chmod(os.path.join(root, name), 0o777 & ~mask)
            for name in files:
                os.chmod(os.path.join(root, name), 0o666 & ~mask)


def _create_beside(path: Path, create):
    """Make ``path``'s parent folder and a temporary beside ``path``; an OS refusal names the path."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return create()
    except OSError as exc:
        raise OutputPathError(f"'{path}' cannot be written ({exc.strerror or exc}). Choose a location you can "
                              "write to.") from None


#: errors of a write that only a full disk or quota gives (never raised by reading an input)
_NO_SPACE = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _no_space_error(path: Path, exc: OSError) -> OutputPathError:
    return OutputPathError(f"'{path}' could not be written: {exc.strerror or exc} (errno {exc.errno}). Nothing was "
                           f"left half-written and what was there before is unchanged; free some space (or choose "
                           f"another location) and try again.")


def check_output_folder(path: str | os.PathLike, *, holds: str | None = None) -> Path:
    """Before a long computation: refuse an output folder that is an existing file or cannot be written, or
    (with ``holds``, the document the writer's output always has) a non-empty folder without that document,
    which :func:`atomic_directory` with :func:`replaceable_if_it_holds` would refuse to replace at the end.

    Raises:
        OutputPathError: naming the path, so nothing is computed only to be thrown away.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"'{path}' is an existing file; a folder is written there. Choose another path.")
    if holds is not None and path.is_dir() and not (path / holds).is_file():
        held = sorted(entry.name for entry in path.iterdir() if not (entry.name.startswith(".") and entry.is_file()))
        if held:
            raise OutputPathError(f"'{path}' is a folder that holds {', '.join(repr(n) for n in held[:3])}"
                                  f"{', ...' if len(held) > 3 else ''} but no {holds}, so it is not an earlier "
                                  f"output of this command and would not be replaced; nothing was computed. "
                                  f"Choose a new or empty folder.")
    probe = _create_beside(path, lambda: tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent))
    os.close(probe[0])
    os.unlink(probe[1])
    return path


@contextlib.contextmanager
def atomic_writer(path: str | os.PathLike, *, binary: bool = False) -> Iterator[Any]:
    """An open handle on a temporary beside ``path``, renamed to ``path`` only when the block succeeds.

    Also for output written piece by piece (e.g. predictions of a large table, chunk after chunk): the file
    the user keeps is never half-written, and on an error ``path`` is left exactly as it was.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"'{path}' is a folder; expected the name of a file to write. Choose another path.")
    fd, tmp = _create_beside(path, lambda: tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        with (os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8", newline="")) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        _follow_umask(Path(tmp), 0o666)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            raise _no_space_error(path, exc) from exc
        raise


def atomic_text_writer(path: str | os.PathLike):
    """:func:`atomic_writer` for UTF-8 text."""
    return atomic_writer(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder, then rename."""
    with atomic_writer(path, binary=True) as handle:
        handle.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` as indented JSON to ``path`` atomically (NaN is refused: JSON has none)."""
    return atomic_write_text(path, json.dumps(data, indent=2, allow_nan=False) + "\n")


def entries_lost(old: Path, new: Path) -> str | None:
    """Why replacing folder ``old`` by ``new`` would destroy something (entries of ``old`` that ``new`` lacks,
    hidden files aside), or ``None``: the default rule of :func:`atomic_directory`."""
    lost = sorted(entry.name for entry in old.iterdir()  # hidden files (.DS_Store) aside; hidden folders (.git) count
                  if not (entry.name.startswith(".") and not entry.is_dir()) and not os.path.lexists(new / entry.name))
    if not lost:
        return None
    return (f"it holds {', '.join(repr(n) for n in lost[:3])}{', ...' if len(lost) > 3 else ''}, which the new "
            f"output does not: replacing the folder would delete {'it' if len(lost) == 1 else 'them'}")


def replaceable_if_it_holds(document: str) -> Callable[[Path, Path], str | None]:
    """An :func:`atomic_directory` rule for a writer whose output always holds ``document`` (``attributions.json``):
    a folder holding it is an earlier output and is replaced whole; any other only if nothing would be lost."""
    return lambda old, new: None if (old / document).is_file() else entries_lost(old, new)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike, *,
                     replaceable: Callable[[Path, Path], str | None] = entries_lost) -> Iterator[Path]:
    """Build a folder under a temporary name and move it to ``path`` only when the block succeeds.

    An existing folder at ``path`` is replaced only after the new one is complete, and only if
    ``replaceable(path, new)`` finds no reason against it (by default: nothing in the old folder would be
    lost, so a user's folder given as the output is never emptied); otherwise ``OutputPathError`` names
    the path and why. If the block raises, ``path`` is left exactly as it was.
    """
    path = Path(path)
    if path.name in ("", ".."):  # "." or "out/..": the temporary goes beside the folder, named after it
        path = Path(os.path.abspath(path))
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"'{path}' is an existing file; a folder is written there. Choose another path.")
    tmp = Path(_create_beside(path, lambda: tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp",
                                                             dir=path.parent)))
    try:
        yield tmp
        problem = replaceable(path, tmp) if path.is_dir() and not path.is_symlink() else None
        if problem:
            raise OutputPathError(f"'{path}' was left as it was and nothing was written: {problem}. Choose a new "
                                  f"or empty folder, or move those files out first.")
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in _NO_SPACE:
            raise _no_space_error(path, exc) from exc
        raise
    _follow_umask(tmp, 0o777)
    old = None
    if path.exists():
        old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(path, old)
    try:
        os.replace(tmp, path)
    except BaseException:
        if old is not None:
            os.replace(old, path)
        raise
    if old is not None:
        if old.is_symlink():  # --out was a link to a folder: the link is replaced, the folder it named is kept
            old.unlink()
        else:
            shutil.rmtree(old, ignore_errors=True)


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file (read in chunks): saved models record it, and loading checks it."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def json_float(value: object) -> float | None:
    """A plain Python float, or None for None/NaN/inf (so JSON stays strict)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def json_safe(obj: object) -> object:
    """Recursively convert numpy types to Python ones and NaN/inf to None."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return json_float(obj)
    return obj


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Write ``data`` (NumPy values and NaN made JSON-safe) as indented JSON, atomically."""
    return atomic_write_json(path, json_safe(data))


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (PyYAML keeps the last one silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:  # an unhashable key (a list or mapping): PyYAML reports it below
                continue
            if first is not key_node:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (lines {first.start_mark.line + 1} and "
                    f"{key_node.start_mark.line + 1}); keep one of them", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: str | os.PathLike) -> Any:
    """Read a YAML file safely (no Python objects), refusing duplicate keys.

    A config with ``epochs: 5`` and, further down, ``epochs: 500`` would otherwise
    train with the last value without a word.

    Raises:
        ConfigError: if the file is missing, not UTF-8 text, not valid YAML, or
            repeats a key; the message names the file (and line).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"YAML file '{path}' does not exist" + (" (it is a folder)." if path.is_dir() else "."))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"'{path}' is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8.") from None
    except OSError as exc:
        raise ConfigError(f"Could not read '{path}': {exc.strerror or exc}.") from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"'{path}' is not valid YAML: {_one_line(exc)}") from None
    except RecursionError:
        raise ConfigError(f"'{path}' is nested too deeply to be a config.") from None


def _one_line(error: Exception) -> str:
    """A PyYAML error as one line: 'line 8, column 3: <problem>' (its own text spans several lines)."""
    problem = getattr(error, "problem", None)
    mark = getattr(error, "problem_mark", None)
    if problem and mark is not None:
        context = getattr(error, "context", None)
        return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" + (f" ({context})" if context else "")
    return " ".join(str(error).split())
