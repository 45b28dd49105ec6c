"""Load through real worker processes: `meddl serve --workers 2` on SQLite, 8 threads × 50 requests."""

import glob
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from meddl.serving import AuditTrail, UserStore, make_engine

from .conftest import PATIENTS

STARTUP_S = 240  # two workers each import torch and load the runs; generous on a busy 2-core machine


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(trained, tmp_path):
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    key = UserStore(make_engine(db)).add("dr.lee", "clinician")
    port = _free_port()
    log = open(tmp_path / "server.log", "w")
    process = subprocess.Popen([sys.executable, "-m", "meddl", "serve", f"sepsis={trained('sepsis')}", "--port",
                                str(port), "--workers", "2", "--db", db, "--rate-limit", "0", "--log-level",
                                "warning"], stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", headers={"Authorization": f"Bearer {key}"}, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.5)
    else:
        process.terminate()
        pytest.fail(f"meddl serve did not become ready in {STARTUP_S} s:\n{(tmp_path / 'server.log').read_text()}")
    if process.poll() is not None:
        pytest.fail(f"meddl serve exited:\n{(tmp_path / 'server.log').read_text()}")
    yield url, key, db
    workers = _children(process.pid)
    process.terminate()
    process.wait(timeout=60)
    log.close()
    deadline = time.monotonic() + 30  # multiprocessing's helper process ends just after its parent
    while [pid for pid in workers if os.path.exists(f"/proc/{pid}")] and time.monotonic() < deadline:
        time.sleep(0.2)
    left = []
    for pid in workers:
        try:
            left.append(open(f"/proc/{pid}/cmdline").read())
        except OSError:  # gone
            pass
    assert not left, f"processes of meddl serve outlived it: {left}"


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux /proc; empty elsewhere)."""
    found = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        found += [int(child) for child in open(task).read().split()]
    return found


def test_two_workers_answer_every_request_and_audit_each_once(server):
    url, key, db = server

    def client_thread(_):
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
            return [client.post("/v1/models/sepsis/predict", json=PATIENTS["sepsis"]).status_code for _ in range(50)]

    with ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(client_thread, range(8)) for s in batch]
    assert statuses == [200] * 400
    trail = AuditTrail(make_engine(db))
    assert trail.count() == 400
    result = trail.verify()
    assert result.ok and result.n_rows == 400, result.message
