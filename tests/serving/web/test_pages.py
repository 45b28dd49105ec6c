"""The web page over HTTP (FastAPI's test client): sign-in, sessions, CSRF, escaping, forms, uploads, audit."""

import csv
import io
import re

import pytest

from tests.serving.web.conftest import SCRIPT_CLASS, SCRIPT_COLUMN, csrf_token, sign_in


@pytest.fixture
def client(web_app):
    from fastapi.testclient import TestClient

    with TestClient(web_app, base_url="https://testserver") as client:
        yield client


def _field_names(html):
    return dict(re.findall(r'<label for="(field-\d+)">([^<]*)', html))


def test_every_page_but_sign_in_needs_a_session(client):
    for path in ("/web/models", "/web/models/sepsis/patient", "/web/models/xray/image", "/web/audit"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/web/signin?next=")
    response = client.post("/web/models/sepsis/patient", data={"field-0": "61"}, follow_redirects=False)
    assert response.status_code == 303


def test_wrong_key_is_refused_and_the_right_one_sets_a_strict_http_only_secure_cookie(client, web_app):
    refused = sign_in(client, "clinician", "mdl_wrong_key")
    assert refused.status_code == 401 and "wrong key or password" in refused.text
    assert 'value="clinician"' in refused.text                     # the user name is kept, the secret is not
    assert "meddl_session" not in client.cookies
    response = sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    cookie = response.history[0].headers["set-cookie"]
    assert response.status_code == 200 and response.url.path == "/web/models"
    assert all(flag in cookie for flag in ("HttpOnly", "SameSite=strict", "Secure", "Max-Age=1800"))
    assert sign_in(client, "clinician", "correct horse battery").status_code == 200   # password works too


def test_session_cookie_is_not_secure_over_plain_http(web_app):
    from fastapi.testclient import TestClient

    with TestClient(web_app, base_url="http://testserver") as plain:
        response = sign_in(plain, "admin", web_app.state.test_keys["admin"])
    assert "Secure" not in response.history[0].headers["set-cookie"]


def test_forms_without_the_csrf_token_are_refused(client, web_app):
    sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    response = client.post("/web/models/sepsis/patient", data={"field-0": "61", "action": "predict"})
    assert response.status_code == 403
    response = client.post("/web/signout", data={"csrf_token": "forged"})
    assert response.status_code == 403 and "meddl_session" in client.cookies
    login = client.post("/web/signin", data={"user": "clinician", "secret": web_app.state.test_keys["clinician"],
                                             "csrf_token": "forged"})
    assert login.status_code == 401 and "expired" in login.text


def test_column_and_class_names_holding_script_are_shown_as_text(client, web_app):
    sign_in(client, "admin", web_app.state.test_keys["admin"])
    pages = [client.get("/web/models").text, client.get("/web/models/escape/patient").text]
    form = pages[1]
    values = {name: "" for name in _field_names(form)}
    pages.append(client.post("/web/models/escape/patient",
                             data={"csrf_token": csrf_token(form), "action": "predict", **values}).text)
    for html in pages:
        assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;column&#39;)&lt;/script&gt;" in pages[1]
    assert "&lt;script&gt;alert(&#39;class&#39;)" in pages[0] and "&lt;script&gt;alert(&#39;class&#39;)" in pages[2]
    assert SCRIPT_COLUMN not in pages[2] and SCRIPT_CLASS not in pages[2]


def test_out_of_range_value_is_refused_once_with_everything_typed_kept_then_predicted_with_a_warning(client, web_app):
    sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    form = client.get("/web/models/sepsis/patient").text
    fields = {label.strip().split()[0]: name for name, label in _field_names(form).items()}
    typed = {fields["age"]: "400", fields["crp"]: "not a number", fields["sex"]: "female"}
    response = client.post("/web/models/sepsis/patient", data={"csrf_token": csrf_token(form), "action": "predict",
                                                               **typed})
    assert response.status_code == 422
    assert 'value="400"' in response.text and 'value="not a number"' in response.text
    assert re.search(r'<option value="female"\s+selected', response.text)
    assert "outside the training range of age" in response.text and "crp must be a number" in response.text
    assert 'id="answer"' not in response.text
    typed[fields["crp"]] = "3.1"
    response = client.post("/web/models/sepsis/patient", data={"csrf_token": csrf_token(form), "action": "predict",
                                                               "predict_anyway": "yes", **typed})
    assert response.status_code == 200 and 'id="answer"' in response.text
    assert "is outside the training range" in response.text and 'value="400"' in response.text
    assert "400" not in str(response.url)                       # patient values never travel in the URL


def test_example_values_fill_the_empty_fields(client, web_app):
    sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    form = client.get("/web/models/sepsis/patient").text
    response = client.post("/web/models/sepsis/patient", data={"csrf_token": csrf_token(form), "action": "examples",
                                                               "field-0": "77"})
    assert 'value="77"' in response.text
    assert re.search(r'name="field-1" value="\d', response.text)   # crp got its training median


def test_csv_upload_predicts_good_rows_and_lists_bad_rows_by_number(client, web_app):
    sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    page = client.get("/web/models/sepsis/batch").text
    upload = ("age,crp,sex,site,noise,extra\n61,2.5,male,A,0.1,x\n70,abc,female,B,0.0,y\n55,,female,C,-0.2,z\n"
              "48,1.0,unknown-sex,A,0.3,w\n")
    response = client.post("/web/models/sepsis/batch", data={"csrf_token": csrf_token(page)},
                           files={"file": ("batch.csv", upload.encode(), "text/csv")})
    assert response.status_code == 200
    assert "2 of 4 rows predicted" in response.text
    assert re.search(r"Row 2: .*crp", response.text) and re.search(r"Row 4: .*sex", response.text)
    assert "Ignored columns: extra" in response.text
    link = re.search(r'href="(/web/downloads/[^"]+)"', response.text).group(1)
    rows = list(csv.DictReader(io.StringIO(client.get(link).text)))
    assert [r["row"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[0]["prob_sepsis"] and not rows[1]["prob_sepsis"] and "crp" in rows[1]["error"]
    client.cookies.clear()
    assert client.get(link, follow_redirects=False).status_code == 303   # downloads need the session


def test_clinician_cannot_open_the_audit_page_and_admin_sees_requests_filters_and_chain(client, web_app):
    sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    form = client.get("/web/models/sepsis/patient").text
    client.post("/web/models/sepsis/patient", data={"csrf_token": csrf_token(form), "action": "predict",
                                                    "field-0": "60"})
    assert client.get("/web/audit").status_code == 403
    assert client.get("/web/audit.csv").status_code == 403
    sign_in(client, "admin", web_app.state.test_keys["admin"])
    page = client.get("/web/audit", params={"user": "clinician", "model": "sepsis"})
    assert page.status_code == 200 and "web/patient" in page.text
    assert "hash chain verified" in page.text
    assert "Give a date as YYYY-MM-DD" in client.get("/web/audit", params={"since": "yesterday"}).text
    exported = list(csv.DictReader(io.StringIO(client.get("/web/audit.csv", params={"user": "clinician"}).text)))
    assert exported and {row["user"] for row in exported} == {"clinician"} and "row_hash" in exported[0]


def test_sign_out_ends_the_session(client, web_app):
    page = sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    response = client.post("/web/signout", data={"csrf_token": csrf_token(page.text)}, follow_redirects=False)
    assert response.status_code == 303 and 'meddl_session=""' in response.headers["set-cookie"]
    assert client.get("/web/models", follow_redirects=False).status_code == 303


def test_pages_forbid_caching_and_foreign_resources(client, web_app):
    page = sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert not re.search(r'(src|href)="(https?:)?//', page.text)         # nothing from another host
    assert client.get("/web/static/web.css").status_code == 200


def test_dicom_upload_is_predicted_with_its_grad_cam_panels(client, web_app):
    from pydicom.data import get_testdata_file

    sign_in(client, "clinician", web_app.state.test_keys["clinician"])
    page = client.get("/web/models/xray/image").text
    dicom = open(get_testdata_file("CT_small.dcm"), "rb").read()
    response = client.post("/web/models/xray/image", data={"csrf_token": csrf_token(page)},
                           files={"file": ("ct.dcm", dicom, "application/dicom")})
    assert response.status_code == 200 and "Probability of opacity" in response.text
    assert 'class="overlay" src="data:image/png;base64,' in response.text
    assert re.search(r'<img src="data:image/png;base64,[^"]+" alt="The uploaded image ct.dcm"', response.text)
    response = client.post("/web/models/xray/image", data={"csrf_token": csrf_token(page)},
                           files={"file": ("notes.png", b"not an image", "image/png")})
    assert response.status_code == 422 and 'id="file-error"' in response.text


def test_an_expired_or_forged_session_sends_back_to_sign_in(client, web_app):
    import time

    from meddl.serving.web.sessions import SESSION_COOKIE, Session

    signer = web_app.state.web.signer
    key_id = web_app.state.users.active_user("admin").key_id  # a session is bound to the key its user holds
    valid = signer.dumps(Session("admin", "admin", "token", time.time() + 600, key_id))
    body, signature = valid.split(".")
    forged = signer.dumps(Session("admin2", "admin", "token", time.time() + 600, key_id)).split(".")[0] + "." + signature
    expired = signer.dumps(Session("admin", "admin", "token", time.time() - 1, key_id))
    statuses = {}
    for name, value in (("valid", valid), ("forged", forged), ("expired", expired)):
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, value)
        statuses[name] = client.get("/web/audit", follow_redirects=False).status_code
    assert statuses == {"valid": 200, "forged": 303, "expired": 303}


def test_a_session_signed_by_another_worker_over_the_same_database_is_accepted(client, web_app, monkeypatch):
    import time

    from meddl.serving.web.secret import SECRET_VARIABLE, shared_secret
    from meddl.serving.web.sessions import SESSION_COOKIE, Session, SessionSigner

    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    other_worker = SessionSigner(shared_secret(web_app.state.engine))
    key_id = web_app.state.users.active_user("admin").key_id
    client.cookies.set(SESSION_COOKIE, other_worker.dumps(Session("admin", "admin", "t", time.time() + 60, key_id)))
    assert client.get("/web/audit", follow_redirects=False).status_code == 200


def test_insecure_demo_mode_signs_in_as_anonymous_admin_without_a_key(web_runs, tmp_path):
    from fastapi.testclient import TestClient

    from meddl.serving.app import create_app

    app = create_app({"sepsis": str(web_runs["sepsis"])}, db_url=f"sqlite:///{tmp_path / 'demo.db'}",
                     insecure_no_auth=True)
    with TestClient(app) as demo:
        assert "--insecure-no-auth" in demo.get("/web/signin").text
        response = sign_in(demo, "anyone", "")
        assert response.status_code == 200 and "Signed in as anonymous (admin)" in response.text
