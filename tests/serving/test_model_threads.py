"""Model calls run in at most ``model_threads`` threads per event loop; the others wait their turn, then answer."""

import asyncio
import threading
import time

import httpx
import pytest

from meddl.errors import ConfigError
from meddl.serving import ServedModel, ServeSettings

from .conftest import PATIENTS, serve


def test_concurrent_calls_share_one_model_thread_and_all_get_answers_and_audit_rows(run_dirs, tmp_path, monkeypatch):
    served = serve({"sepsis": run_dirs["sepsis"]}, f"sqlite:///{tmp_path / 'serve.db'}", rate_limit_per_minute=0,
                   model_threads=1)
    running, most, lock = 0, 0, threading.Lock()
    original = ServedModel.predict_records

    def counted(self, records, explain=False):
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01)  # long enough for the other calls to arrive meanwhile
        try:
            return original(self, records, explain)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(ServedModel, "predict_records", counted)

    async def load():
        transport = httpx.ASGITransport(app=served.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=served.headers()) as client:
            return await asyncio.gather(*(client.post("/v1/models/sepsis/predict", json=PATIENTS["sepsis"])
                                          for _ in range(8)))

    answers = asyncio.run(load())
    assert [a.status_code for a in answers] == [200] * 8
    assert most == 1
    assert served.app.state.audit.count() == 8 and served.app.state.audit.verify().ok


def test_model_threads_must_be_positive():
    with pytest.raises(ConfigError, match="'model_threads' setting must be a positive integer"):
        ServeSettings(model_threads=0)
