"""Model calls run in at most ``model_threads`` threads per event loop; the others wait their turn, then answer."""

import asyncio
import threading
import time

import httpx
import pytest

from meddl.errors import ConfigError
from meddl.serving import ServedModel, ServeSettings
from meddl.serving.security import Refusal

from .conftest import PATIENTS, serve


def _concurrent_predictions(served, n: int) -> list:
    """``n`` predictions of one patient sent at once (one event loop, as a uvicorn worker has)."""
    async def load():
        transport = httpx.ASGITransport(app=served.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=served.headers()) as client:
            return await asyncio.gather(*(client.post("/v1/models/sepsis/predict", json=PATIENTS["sepsis"])
                                          for _ in range(n)))
    return asyncio.run(load())


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

    answers = _concurrent_predictions(served, 8)
    assert [a.status_code for a in answers] == [200] * 8
    assert most == 1
    assert served.app.state.audit.count() == 8 and served.app.state.audit.verify().ok


def test_model_threads_must_be_positive():
    with pytest.raises(ConfigError, match="'model_threads' setting must be a positive integer"):
        ServeSettings(model_threads=0)


def test_calls_queued_behind_a_timed_out_call_give_up_instead_of_running_the_model(run_dirs, tmp_path,
                                                                                  monkeypatch):
    served = serve({"sepsis": run_dirs["sepsis"]}, f"sqlite:///{tmp_path / 'serve.db'}", rate_limit_per_minute=0,
                   model_threads=4, request_timeout_s=0.3)
    model = served.app.state.models["sepsis"]
    assert model.lock_wait_s == 0.3
    release, started, original = threading.Event(), [], ServedModel._predict_frame

    def stuck(self, features):
        started.append(1)
        release.wait(20)
        return original(self, features)

    monkeypatch.setattr(ServedModel, "_predict_frame", stuck)

    try:
        answers = _concurrent_predictions(served, 3)
        assert [a.status_code for a in answers] == [503] * 3
        time.sleep(0.6)  # the two calls waiting for the model have given up by now
    finally:
        release.set()
    assert model._lock.acquire(timeout=20)  # the stuck call has finished
    model._lock.release()
    assert len(started) == 1  # only the first call ever ran the model
    rows = served.app.state.audit.latest(10)
    assert [r["status"] for r in rows] == [503] * 3 and served.app.state.audit.verify().ok


def test_a_model_busy_past_its_wait_refuses_with_503(run_dirs):
    model = ServedModel("sepsis", run_dirs["sepsis"], lock_wait_s=0.05)
    model._lock.acquire()
    try:
        with pytest.raises(Refusal, match="still busy with earlier requests after 0.05 s") as refused:
            model.predict_records([PATIENTS["sepsis"]])
    finally:
        model._lock.release()
    assert refused.value.status_code == 503
    assert model.predict_records([PATIENTS["sepsis"]])[0]["row_id"] is not None
