"""Throwaway database servers for tests: a real PostgreSQL cluster on a free local port.

``postgres_url`` (a session fixture) runs ``initdb`` in a temporary folder and ``pg_ctl start``
on 127.0.0.1 (as the ``postgres`` system user when the tests run as root, since PostgreSQL
refuses to run as root), yields a SQLAlchemy URL, and stops the cluster afterwards. It skips,
saying why, only when no server can be started (no PostgreSQL binaries, or initdb/start fails).
Debian/Ubuntu: ``apt-get install postgresql`` (what ``.ci/run`` does).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

__all__ = ["postgres_url", "find_postgres_binaries", "start_postgres"]


def find_postgres_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(folder: Path) -> tuple[str, list[str]]:
    """Start a cluster in ``folder``; return (URL, the command that stops it). Raises RuntimeError saying why not."""
    binaries = find_postgres_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not found; install the 'postgresql' package")
    prefix = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if shutil.which("runuser") is None:
            raise RuntimeError("running as root without 'runuser' to start PostgreSQL as the postgres user")
        try:
            shutil.chown(folder, user="postgres", group=None)
        except (LookupError, PermissionError) as exc:
            raise RuntimeError(f"cannot hand the data folder to the 'postgres' user ({exc})") from None
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", _free_port()
    run = lambda args: subprocess.run(prefix + args, capture_output=True, text=True, timeout=120)  # noqa: E731
    done = run([str(binaries / "initdb"), "-D", str(data), "-U", "meddl", "--auth=trust", "-E", "UTF8",
                "--no-sync"])
    if done.returncode != 0:
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-500:]}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
    done = run([str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "server.log"), "-w",
                "-t", "60", "start"])
    if done.returncode != 0:
        log = (folder / "server.log").read_text() if (folder / "server.log").exists() else done.stderr
        raise RuntimeError(f"pg_ctl start failed: {log.strip()[-500:]}")
    stop = prefix + [str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
    return f"postgresql://meddl@127.0.0.1:{port}/postgres", stop


@pytest.fixture(scope="session")
def postgres_url():
    """A SQLAlchemy URL of a fresh PostgreSQL server for this test session (skips with the reason if none starts)."""
    pytest.importorskip("psycopg", reason="psycopg (meddl[postgres]) is needed to talk to PostgreSQL")
    folder = Path(tempfile.mkdtemp(prefix="meddl-pg-"))
    folder.chmod(0o755)
    try:
        url, stop = start_postgres(folder)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"No PostgreSQL server could be started: {exc}")
    yield url
    subprocess.run(stop, capture_output=True, timeout=60)
    shutil.rmtree(folder, ignore_errors=True)
