"""Load through real worker processes: `meddl serve --workers 2` on SQLite, 8 threads × 50 requests."""

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
    process.terminate()
    process.wait(timeout=60)
    log.close()


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
