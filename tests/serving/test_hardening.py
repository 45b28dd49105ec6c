"""Inputs that once broke the server or slipped through: each is now a clear refusal, never a 500 or a wrong answer."""

import json
import shutil

import pytest
from fastapi.testclient import TestClient

from meddl.serving import ServeSettings, create_app
from meddl.serving.web.forms import FieldSpec, check_patient_form
from tests.serving.web.conftest import csrf_token, sign_in

from .conftest import PATIENTS, png_bytes


@pytest.fixture
def app(trained, tmp_path):
    """An app over copies of the diagnosis and image runs (so a test may edit their files), with two users."""
    runs = {name: shutil.copytree(trained(name), tmp_path / name) for name in ("sepsis", "xray")}
    app = create_app(runs, db_url=f"sqlite:///{tmp_path / 'serve.db'}",
                     settings=ServeSettings(rate_limit_per_minute=0, max_image_pixels=300))
    app.state.keys = {"clinician": app.state.users.add("dr.lee", "clinician"), "admin": app.state.users.add("root",
                                                                                                            "admin")}
    return app


@pytest.fixture
def client(app):
    return TestClient(app, raise_server_exceptions=False)


def _headers(app, role="clinician", **extra):
    return {"Authorization": f"Bearer {app.state.keys[role]}", **extra}


def _problems(answer, status=422):
    assert answer.status_code == status, answer.text
    return {d["field"]: d["message"] for d in answer.json()["detail"]}


@pytest.mark.parametrize("content, field, message", [
    (b"[" * 100_000 + b"]" * 100_000, "body", "nested too deeply"),
    (b'{"age": ' + b"9" * 5000 + b', "crp": 3, "noise": 0, "sex": "male", "site": "A"}', "body", "not valid JSON"),
    (b'{"age": ' + b"9" * 400 + b', "crp": 3, "noise": 0, "sex": "male", "site": "A"}', "records[0].age",
     "finite number"),
    (b'{"age": "7_0", "crp": 3, "noise": 0, "sex": "male", "site": "A"}', "records[0].age", "non-numeric"),
])
def test_bodies_that_broke_the_json_parser_or_float_are_422(app, client, content, field, message):
    answer = client.post("/v1/models/sepsis/predict", content=content,
                         headers=_headers(app, **{"Content-Type": "application/json"}))
    assert message in _problems(answer)[field]


def test_a_damaged_multipart_upload_names_the_file_field(app, client):
    answer = client.post("/v1/models/xray/predict", content=b"garbage",
                         headers=_headers(app, **{"Content-Type": "multipart/form-data; boundary=zz"}))
    assert "multipart upload cannot be read" in _problems(answer, 400)["file"]


def test_open_inference_protocol_refuses_repeated_names_bad_pixels_and_big_images(app, client):
    columns = [{"name": n, "shape": [1], "datatype": "BYTES" if n in ("sex", "site") else "FP64", "data": [v]}
               for n, v in PATIENTS["sepsis"].items()]
    repeated = columns + [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1]}]
    answer = client.post("/v2/models/sepsis/infer", json={"inputs": repeated}, headers=_headers(app))
    assert "'age'" in _problems(answer)["inputs"]        # not the second age silently replacing the first

    def image(data, side):
        return {"inputs": [{"name": "image", "shape": [1, side, side], "datatype": "FP32", "data": data}]}

    words = client.post("/v2/models/xray/infer", json=image(["a"] * 256, 16), headers=_headers(app))
    assert "must be numbers" in _problems(words)["inputs[0].data"]
    huge = client.post("/v2/models/xray/infer", content=json.dumps(image([10 ** 400] + [0] * 255, 16)),
                       headers=_headers(app, **{"Content-Type": "application/json"}))
    assert "must be numbers" in _problems(huge)["inputs[0].data"]
    big = client.post("/v2/models/xray/infer", json=image([0.5] * 400, 20), headers=_headers(app))
    assert "limit is 300" in _problems(big, 413)["inputs[0].shape"]  # --max-image-pixels holds here too
    assert client.post("/v2/models/xray/infer", json=image([0.5] * 256, 16), headers=_headers(app)).status_code == 200


def test_audit_dates_are_parsed_not_compared_as_text(app, client):
    client.post("/v1/models/sepsis/predict", json=PATIENTS["sepsis"], headers=_headers(app))
    assert "query.since" in _problems(client.get("/v1/audit?since=yesterday", headers=_headers(app, "admin")))
    assert client.get("/v1/audit?since=2000-01-01", headers=_headers(app, "admin")).json()
    assert not client.get("/v1/audit?until=2000-01-01T00:00:00%2B02:00", headers=_headers(app, "admin")).json()


def test_metrics_edited_or_deleted_while_serving_are_not_served(app, client, tmp_path):
    original = client.get("/v1/models/sepsis", headers=_headers(app)).json()["metrics"]
    metrics = tmp_path / "sepsis" / "metrics.json"
    edited = json.loads(metrics.read_text())
    edited["test"]["metrics"]["auroc"]["value"] = 0.999
    metrics.write_text(json.dumps(edited))
    assert client.get("/v1/models/sepsis", headers=_headers(app)).json()["metrics"] == original
    metrics.unlink()
    answer = client.get("/v1/models/sepsis", headers=_headers(app))
    assert answer.status_code == 200 and answer.json()["metrics"] == original
    with TestClient(app, base_url="https://testserver") as web:
        sign_in(web, "dr.lee", app.state.keys["clinician"])
        page = web.get("/web/models")
    auroc = original["test"]["metrics"]["auroc"]["value"]
    assert page.status_code == 200 and f"{auroc:.3f}" in page.text and "0.999" not in page.text


def test_a_revoked_user_is_signed_out_of_the_web_page_at_once(app):
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as web:
        sign_in(web, "dr.lee", app.state.keys["clinician"])
        form = web.get("/web/models/sepsis/patient")
        assert form.status_code == 200
        app.state.users.revoke("dr.lee")
        assert web.get("/web/models").status_code == 303
        answer = web.post("/web/models/sepsis/patient", data={"csrf_token": csrf_token(form.text), "field-0": "70"})
        assert answer.status_code == 303 and answer.headers["location"].startswith("/web/signin")
    assert [row["user"] for row in app.state.audit.latest()].count("dr.lee") == 0


def test_a_session_does_not_come_back_when_its_user_is_re_added(app):
    """Revoked, then added again with the same name and role: the old cookie must not sign the new user in."""
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as web:
        sign_in(web, "dr.lee", app.state.keys["clinician"])
        assert web.get("/web/models").status_code == 200
        app.state.users.revoke("dr.lee")
        new_key = app.state.users.add("dr.lee", "clinician")
        assert web.get("/web/models").status_code == 303
        sign_in(web, "dr.lee", new_key)  # the new key signs in afresh
        assert web.get("/web/models").status_code == 200


def test_an_upload_form_without_a_file_asks_for_one(app):
    with TestClient(app, base_url="https://testserver") as web:
        sign_in(web, "dr.lee", app.state.keys["clinician"])
        page = web.get("/web/models/xray/image")
        answer = web.post("/web/models/xray/image", data={"csrf_token": csrf_token(page.text)})
    assert answer.status_code == 422 and "Choose a PNG, JPEG or DICOM file" in answer.text


@pytest.mark.parametrize("text", ["1,000", "12,345", "7_0"])
def test_form_numbers_that_could_be_read_two_ways_are_refused(text):
    weight = FieldSpec(0, "weight", "numeric", minimum=0.5, maximum=20000.0)
    check = check_patient_form([weight], {"field-0": text})
    assert not check.ok and "field-0" in check.errors
    assert check_patient_form([weight], {"field-0": "1,5"}).record == {"weight": 1.5}   # a decimal comma still works


def test_image_upload_is_still_answered(app, client):
    answer = client.post("/v1/models/xray/predict", files={"file": ("a.png", png_bytes(), "image/png")},
                         headers=_headers(app))
    assert answer.status_code == 200


def test_audit_export_with_a_mistyped_date_is_refused_not_exported_whole(app):
    with TestClient(app, base_url="https://testserver") as web:
        sign_in(web, "root", app.state.keys["admin"])
        refused = web.get("/web/audit.csv?since=2026-13-01")
        assert refused.status_code == 422 and "YYYY-MM-DD" in refused.text
        assert web.get("/web/audit.csv?since=2000-01-01").status_code == 200


def test_a_server_whose_audit_table_is_gone_is_not_ready(app, client):
    """Predictions fail closed (503) without the audit table, so readiness must say so too, naming the table."""
    assert client.get("/ready", headers=_headers(app)).json()["database"] == "reachable"
    with app.state.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE meddl_audit_log")
    answer = client.get("/ready", headers=_headers(app))
    assert answer.status_code == 503
    assert answer.json()["status"] == "not ready" and answer.json()["database"] == "missing tables: meddl_audit_log"
    assert client.get("/v2/health/ready", headers=_headers(app)).json() == {"ready": False}
