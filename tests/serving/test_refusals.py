"""Every refusal: sign-in, roles, revoked keys, each limit, each bad input (422 per field, never 500), tampered runs."""

import shutil

import pytest
from fastapi.testclient import TestClient

from meddl import ConfigError, ModelFileError
from meddl.serving import ServeSettings, create_app

from .conftest import PATIENTS, png_bytes, serve

PROTECTED = [("GET", "/ready"), ("GET", "/v1/models"), ("GET", "/v1/models/sepsis"),
             ("POST", "/v1/models/sepsis/predict"), ("POST", "/v1/models/treatment/recommend"),
             ("GET", "/v1/audit"), ("GET", "/v1/audit/verify"), ("GET", "/v1/users"), ("GET", "/v2"),
             ("GET", "/v2/health/live"), ("GET", "/v2/health/ready"), ("GET", "/v2/models/sepsis"),
             ("GET", "/v2/models/sepsis/ready"), ("POST", "/v2/models/sepsis/infer")]


@pytest.mark.parametrize("method, path", PROTECTED)
def test_every_endpoint_but_health_needs_a_key(served, method, path):
    for headers in ({}, {"Authorization": "Bearer mdl_0000_wrong"}, {"Authorization": "Basic abc"}):
        answer = served.client.request(method, path, headers=headers, json=PATIENTS["sepsis"])
        assert answer.status_code == 401, (path, answer.text)
        assert answer.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/v1/audit", "/v1/audit/verify", "/v1/users"])
def test_admin_endpoints_refuse_clinicians(served, path):
    assert served.client.get(path, headers=served.headers("clinician")).status_code == 403
    assert served.client.get(path, headers=served.headers("admin")).status_code == 200


def test_revoked_key_is_refused_at_once(fresh):
    assert fresh.client.get("/v1/models", headers=fresh.headers()).status_code == 200
    fresh.app.state.users.revoke("dr.lee")
    answer = fresh.client.post("/v1/models/sepsis/predict", headers=fresh.headers(), json=PATIENTS["sepsis"])
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]


def test_unknown_model_is_404(served):
    answer = served.client.post("/v1/models/sepsiss/predict", headers=served.headers(), json=PATIENTS["sepsis"])
    assert answer.status_code == 404 and "sepsis" in answer.json()["detail"]


def _bad(served, body=None, content=None, name="sepsis"):
    answer = served.client.post(f"/v1/models/{name}/predict", headers={**served.headers(), "Content-Type":
                                                                        "application/json"} if content is not None
                                else served.headers(), json=body, content=content)
    assert answer.status_code == 422, answer.text
    return {d["field"]: d["message"] for d in answer.json()["detail"]}


def test_bad_records_get_a_message_per_field(served):
    patient = PATIENTS["sepsis"]
    missing = {k: v for k, v in patient.items() if k != "crp"}
    assert "Column 'crp' is required but missing" in _bad(served, missing)["records[0].crp"]
    extra = _bad(served, {**patient, "crpp": 1.0})["records[0].crpp"]
    assert "not an input of this model" in extra and "Did you mean 'crp'?" in extra
    assert "must be numeric" in _bad(served, {**patient, "age": "old"})["records[0].age"]
    assert "must be numeric" in _bad(served, {**patient, "age": [1, 2]})["records[0].age"]
    unknown = _bad(served, {**patient, "sex": "unknown"})["records[0].sex"]
    assert "not seen in training" in unknown and "'female', 'male'" in unknown
    nan = _bad(served, content=b'{"age": NaN, "crp": 1, "noise": 0, "sex": "male", "site": "A"}')
    assert "finite number" in nan["records[0].age"]
    several = _bad(served, {"records": [patient, {**patient, "age": "x"}, 5]})
    assert set(several) == {"records[1].age", "records[2]"}


@pytest.mark.parametrize("content, message", [
    (b"", "The request body is empty"),
    (b"   ", "The request body is empty"),
    (b'{"age": 70,', "not valid JSON"),
    (b"[]", "at least one record"),
    (b'{"records": "all"}', "at least one record"),
    (b"42", "at least one record"),
])
def test_empty_and_malformed_bodies(served, content, message):
    assert message in _bad(served, content=content)["records" if b"records" in content or content in (b"[]", b"42")
                                                    else "body"]


@pytest.mark.parametrize("filename, data, message", [
    ("ct.dcm", b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00garbage" * 5, "DICOM"),
    ("empty.png", b"", "empty"),
    ("notes.txt", b"hello, not an image", "not a PNG, JPEG or DICOM"),
    ("anim.gif", png_bytes(fmt="GIF"), "GIF image"),
    ("cut.png", png_bytes(size=64)[:60], "damaged"),
])
def test_bad_images_get_422(served, filename, data, message):
    answer = served.client.post("/v1/models/xray/predict", headers=served.headers(),
                                files={"file": (filename, data, "application/octet-stream")})
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["detail"][0]["message"] and answer.json()["detail"][0]["field"] == "file"


def test_wrong_kind_of_input(served):
    no_file = served.client.post("/v1/models/xray/predict", headers=served.headers(), files={"other": ("a", b"x")})
    assert no_file.status_code == 422 and no_file.json()["detail"][0]["field"] == "file"
    table_to_image = served.client.post("/v1/models/xray/predict", headers=served.headers(), json=PATIENTS["sepsis"])
    assert table_to_image.status_code == 415
    image_to_table = served.client.post("/v1/models/sepsis/predict", headers=served.headers(),
                                        files={"file": ("a.png", png_bytes(), "image/png")})
    assert image_to_table.status_code == 415
    bad_query = served.client.post("/v1/models/sepsis/predict?explain=maybe", headers=served.headers(),
                                   json=PATIENTS["sepsis"])
    assert bad_query.status_code == 422 and bad_query.json()["detail"][0]["field"] == "query.explain"
    # after all of this the server still answers
    ok = served.client.post("/v1/models/sepsis/predict", headers=served.headers(), json=PATIENTS["sepsis"])
    assert ok.status_code == 200


@pytest.fixture(scope="module")
def limited(run_dirs, tmp_path_factory):
    return serve(run_dirs, f"sqlite:///{tmp_path_factory.mktemp('limits') / 'serve.db'}", max_body_bytes=3000,
                 max_rows=3, max_image_pixels=300, rate_limit_per_minute=1000, explain_max_rows=2)


def test_limits(limited):
    h = limited.headers()
    big = limited.client.post("/v1/models/sepsis/predict", headers=h, json={"records": [PATIENTS["sepsis"]] * 80})
    assert big.status_code == 413 and "3000 bytes" in big.json()["detail"]
    assert big.headers["x-content-type-options"] == "nosniff"
    chunked = limited.client.post("/v1/models/sepsis/predict", headers={**h, "Content-Type": "application/json"},
                                  content=iter([b'{"records": [' + b" " * 2000, b" " * 2000 + b"]}"]))
    assert chunked.status_code == 413
    rows = limited.client.post("/v1/models/sepsis/predict", headers=h, json={"records": [PATIENTS["sepsis"]] * 4})
    assert rows.status_code == 413 and "limit is 3" in rows.json()["detail"][0]["message"]
    explained = limited.client.post("/v1/models/sepsis/predict?explain=true", headers=h,
                                    json={"records": [PATIENTS["sepsis"]] * 3})
    assert explained.status_code == 413 and explained.json()["detail"][0]["field"] == "explain"
    pixels = limited.client.post("/v1/models/xray/predict", headers=h,
                                 files={"file": ("big.png", png_bytes(size=20), "image/png")})
    assert pixels.status_code == 413 and "400 pixels" in pixels.json()["detail"][0]["message"]
    assert limited.client.post("/v1/models/xray/predict", headers=h,
                               files={"file": ("ok.png", png_bytes(size=16), "image/png")}).status_code == 200


def test_rate_limit_per_key(run_dirs, tmp_path):
    app = serve(run_dirs, f"sqlite:///{tmp_path / 'serve.db'}", rate_limit_per_minute=3)
    statuses = [app.client.get("/v1/models", headers=app.headers()).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = app.client.get("/v1/models", headers=app.headers())
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert app.client.get("/v1/models", headers=app.headers("admin")).status_code == 200  # another key: its own bucket


def test_slow_requests_time_out_with_503(run_dirs, tmp_path):
    app = serve(run_dirs, f"sqlite:///{tmp_path / 'serve.db'}", request_timeout_s=0.001, rate_limit_per_minute=0)
    answer = app.client.post("/v1/models/sepsis/predict?explain=true", headers=app.headers(),
                             json={"records": [PATIENTS["sepsis"]] * 5})
    assert answer.status_code == 503 and "longer than" in answer.json()["detail"]
    assert app.app.state.audit.latest(1)[0]["status"] == 503


def test_security_headers_and_closed_cors(served, run_dirs, tmp_path):
    answer = served.client.get("/health", headers={"Origin": "https://evil.example"})
    assert answer.headers["x-frame-options"] == "DENY" and answer.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in answer.headers
    preflight = {"Origin": "https://ward.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in served.client.options("/v1/models/sepsis/predict",
                                                                      headers=preflight).headers
    opened = create_app({"sepsis": run_dirs["sepsis"]}, db_url=f"sqlite:///{tmp_path / 'c.db'}",
                        settings=ServeSettings(cors_origins=("https://ward.example",)))
    allowed = TestClient(opened).options("/v1/models/sepsis/predict", headers=preflight)
    assert allowed.headers["access-control-allow-origin"] == "https://ward.example"


def test_insecure_mode_only_on_loopback(run_dirs, tmp_path):
    app = create_app({"sepsis": run_dirs["sepsis"]}, db_url=f"sqlite:///{tmp_path / 'i.db'}", insecure_no_auth=True)
    answer = TestClient(app).post("/v1/models/sepsis/predict", json=PATIENTS["sepsis"])
    assert answer.status_code == 200 and app.state.audit.latest(1)[0]["user"] == "anonymous"
    with pytest.raises(ConfigError, match="only on a loopback host"):
        ServeSettings(insecure_no_auth=True, host="0.0.0.0")


def test_any_edited_file_of_the_run_is_refused(run_dirs, tmp_path):
    copy = shutil.copytree(run_dirs["sepsis"], tmp_path / "sepsis")
    (copy / "preprocessing.json").write_text((copy / "preprocessing.json").read_text().replace("0", "1", 1))
    with pytest.raises(ModelFileError, match="preprocessing.json"):
        create_app({"sepsis": copy}, db_url=f"sqlite:///{tmp_path / 't.db'}")


@pytest.mark.parametrize("damage", ["flip", "truncate", "remove"])
def test_tampered_run_refuses_to_load(run_dirs, tmp_path, damage):
    copy = shutil.copytree(run_dirs["sepsis"], tmp_path / "sepsis")
    weights = copy / "model" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    if damage == "flip":
        data[-10] ^= 0xFF
        weights.write_bytes(bytes(data))
    elif damage == "truncate":
        weights.write_bytes(bytes(data[: len(data) // 2]))
    else:
        weights.unlink()
    with pytest.raises(ModelFileError, match="model.safetensors"):
        create_app({"sepsis": copy}, db_url=f"sqlite:///{tmp_path / 't.db'}")


def test_api_docs_can_be_switched_off(run_dirs, tmp_path):
    app = create_app({"sepsis": run_dirs["sepsis"]}, db_url=f"sqlite:///{tmp_path / 'd.db'}",
                     settings=ServeSettings(api_docs=False))
    client = TestClient(app)
    assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404


def test_no_database_no_answer(run_dirs, tmp_path):
    app = serve({"sepsis": run_dirs["sepsis"]}, f"sqlite:///{tmp_path / 'gone.db'}")
    app.app.state.engine.dispose()
    for file in tmp_path.glob("gone.db*"):
        file.unlink()  # a fresh empty file appears on the next connection: no tables, no users
    answer = app.client.post("/v1/models/sepsis/predict", headers=app.headers(), json=PATIENTS["sepsis"])
    assert answer.status_code == 503 and "database cannot be reached" in answer.json()["detail"]
    assert app.client.get("/health").status_code == 200


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="'max_rows' setting must be a positive integer"):
        ServeSettings(max_rows=0)
    with pytest.raises(ConfigError, match="'runtime' setting must be 'torch' or 'onnx'"):
        ServeSettings(runtime="tensorrt")


def test_onnx_runtime_needs_an_exported_model_and_then_matches_torch(run_dirs, tmp_path):
    from meddl.cli import main

    copy = shutil.copytree(run_dirs["age"], tmp_path / "age")
    settings = ServeSettings(runtime="onnx")
    with pytest.raises(ModelFileError, match="meddl export"):
        create_app({"age": copy}, db_url=f"sqlite:///{tmp_path / 'o.db'}", settings=settings)
    assert main(["export", str(copy)]) == 0
    exported = (copy / "model.onnx").read_bytes()
    (copy / "model.onnx").write_bytes(exported + b"\0")  # not the file meddl export wrote: refused at start
    with pytest.raises(ModelFileError, match="model.onnx' has changed since it was exported"):
        create_app({"age": copy}, db_url=f"sqlite:///{tmp_path / 'o1.db'}", settings=settings)
    (copy / "model.onnx").write_bytes(exported)
    app = serve({"age": copy}, f"sqlite:///{tmp_path / 'o2.db'}", runtime="onnx")
    (copy / "model.onnx").write_bytes(b"swapped while serving")  # the checked copy in memory answers
    torch_app = serve({"age": copy}, f"sqlite:///{tmp_path / 'o3.db'}")
    answers = [a.client.post("/v1/models/age/predict", headers=a.headers(), json=PATIENTS["age"]).json()
               for a in (app, torch_app)]
    assert answers[0]["predictions"][0]["predicted"] == pytest.approx(answers[1]["predictions"][0]["predicted"],
                                                                      rel=1e-4)
