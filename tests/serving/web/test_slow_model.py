"""A slow model on the web page: the event loop keeps answering, the page says 503 at the time limit, audited."""

import asyncio
import re
import threading

import httpx

from meddl.serving import ServedModel, ServeSettings
from meddl.serving.app import create_app
from tests.serving.web.conftest import csrf_token

PATIENT = {"age": "61", "crp": "2.5", "sex": "male", "site": "A", "noise": "0.1"}


def _form_data(html: str) -> dict:
    fields = {label.strip().split()[0]: name
              for name, label in re.findall(r'<label for="(field-\d+)">([^<]*)', html)}
    return {"csrf_token": csrf_token(html), "action": "predict", "predict_anyway": "yes",
            **{fields[column]: value for column, value in PATIENT.items()}}


def test_a_slow_model_call_leaves_the_server_answering_and_the_page_times_out_with_503(web_runs, tmp_path,
                                                                                       monkeypatch):
    app = create_app({"sepsis": str(web_runs["sepsis"])}, db_url=f"sqlite:///{tmp_path / 'serve.db'}",
                     settings=ServeSettings(request_timeout_s=0.5))
    key = app.state.users.add("clinician", "clinician")
    release, original = threading.Event(), ServedModel.predict_records

    def stuck(self, records, explain=False):
        release.wait(20)
        return original(self, records, explain)

    monkeypatch.setattr(ServedModel, "predict_records", stuck)
    finished = []

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            signin = (await client.get("/web/signin")).text
            await client.post("/web/signin", data={"user": "clinician", "secret": key, "next": "/web/models",
                                                   "csrf_token": csrf_token(signin)})
            form = _form_data((await client.get("/web/models/sepsis/patient")).text)

            async def patient():
                answer = await client.post("/web/models/sepsis/patient", data=form)
                finished.append("patient")
                return answer

            async def health():
                await asyncio.sleep(0.1)  # the patient's model call has started
                answer = await client.get("/health")
                finished.append("health")
                return answer

            return await asyncio.gather(patient(), health())

    try:
        answer, health = asyncio.run(scenario())
    finally:
        release.set()
    assert health.status_code == 200 and finished == ["health", "patient"]  # the loop was never blocked
    assert answer.status_code == 503 and "longer than the server&#39;s limit of 0.5 s" in answer.text
    row = app.state.audit.latest(1)[0]
    assert (row["endpoint"], row["status"], row["user"]) == ("web/patient", 503, "clinician")
    assert row["message"] == "The model took longer than the server's limit of 0.5 s."
