"""Every endpoint and every task through FastAPI's test client: status, body, and one audit row per model call."""

import base64
import json

import pytest
from fastapi.testclient import TestClient

from meddl.io import sha256_file
from meddl.runs import recalibrate_run
from meddl.serving import ServedModel, ServeSettings, create_app
from meddl.serving.models import weights_digest
from meddl.serving.web.answers import answer_view

from tests.runs.test_survival_site_update import sicker_site

from .conftest import PATIENTS, png_bytes


def test_health_needs_no_sign_in_and_ready_reports_models_and_database(served):
    assert served.client.get("/health").json() == {"status": "ok"}
    ready = served.client.get("/ready", headers=served.headers())
    assert ready.status_code == 200
    assert ready.json()["models"] == ["age", "sepsis", "survival", "treatment", "xray"]
    assert ready.json()["database"] == "reachable"


def test_model_list_and_description(served, run_dirs):
    listed = {m["name"]: m for m in served.client.get("/v1/models", headers=served.headers()).json()}
    assert {name: m["task"] for name, m in listed.items()} == {
        "sepsis": "diagnosis", "age": "regression", "survival": "survival", "treatment": "treatment",
        "xray": "diagnosis"}
    described = served.client.get("/v1/models/sepsis", headers=served.headers()).json()
    assert described["class_names"] == ["no sepsis", "sepsis"] and 0 < described["threshold"] < 1
    columns = {c["name"]: c for c in described["input"]["columns"]}
    assert columns["sex"]["type"] == "categorical" and columns["sex"]["categories"] == ["female", "male"]
    assert columns["age"]["training_range"]["low"] < 60 < columns["age"]["training_range"]["high"]
    assert "median" in columns["crp"]["missing_values"] and "flagged" in columns["crp"]["missing_values"]
    assert described["metrics"]["test"]["metrics"]["auroc"]["ci95"] is not None
    assert described["model_card"]["intended_use"] and described["model_card"]["limitations"]
    assert described["weights_sha256"] == weights_digest(run_dirs["sepsis"])[0]
    assert described["run_sha256"] == sha256_file(run_dirs["sepsis"] / "manifest.json")
    assert described["weights_files"]["model/model.safetensors"] and described["meddl_version"]
    image = served.client.get("/v1/models/xray", headers=served.headers()).json()
    assert image["input"]["input_shape"] == [16, 16, 1] and "DICOM" in image["input"]["formats"]


@pytest.mark.parametrize("name, expected", [
    ("sepsis", {"prob_sepsis", "prob_no sepsis", "predicted", "prediction_set"}),
    ("age", {"predicted"}),
    ("survival", {"risk", "median_survival", "survival@30", "survival@60"}),
    ("treatment", {"outcome_if_control", "outcome_if_treated", "effect", "recommendation"}),
])
def test_predict_one_patient_for_every_table_task(served, name, expected):
    answer = served.client.post(f"/v1/models/{name}/predict", headers=served.headers(), json=PATIENTS[name])
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()["predictions"]
    assert expected <= set(row) and row["warnings"] == []


def test_predict_batch_with_warnings_and_explanations(served):
    patients = [PATIENTS["sepsis"], {**PATIENTS["sepsis"], "crp": None}, {**PATIENTS["sepsis"], "age": 400}]
    answer = served.client.post("/v1/models/sepsis/predict?explain=true", headers=served.headers(),
                                json={"records": patients})
    rows = answer.json()["predictions"]
    assert [r["predicted"] in ("sepsis", "no sepsis") for r in rows] == [True] * 3
    assert abs(rows[0]["prob_sepsis"] + rows[0]["prob_no sepsis"] - 1) < 1e-6
    assert rows[0]["warnings"] == [] and "'crp' is missing: imputed" in rows[1]["warnings"][0]
    assert any("outside the training range" in w for w in rows[2]["warnings"])
    assert any("unlike the training data" in w for w in rows[2]["warnings"])
    top = rows[2]["explanation"]["top"]
    assert top[0]["column"] == "age" and top[0]["value"] == 400  # the extreme age drives this prediction
    assert {t["column"] for t in top} <= {"age", "crp", "noise", "sex", "site"}


def test_prediction_matches_the_library(served, run_dirs):
    import meddl
    import pandas as pd

    expected = meddl.load_run(run_dirs["age"]).predict(pd.DataFrame([PATIENTS["age"]]))["predicted"][0]
    answer = served.client.post("/v1/models/age/predict", headers=served.headers(), json=PATIENTS["age"]).json()
    assert answer["predictions"][0]["predicted"] == pytest.approx(expected)


@pytest.mark.parametrize("fmt, mode", [("PNG", "L"), ("JPEG", "RGB")])
def test_predict_image_upload_with_grad_cam(served, fmt, mode):
    upload = {"file": (f"chest.{fmt.lower()}", png_bytes(mode=mode, fmt=fmt), f"image/{fmt.lower()}")}
    answer = served.client.post("/v1/models/xray/predict?explain=true", headers=served.headers(), files=upload)
    assert answer.status_code == 200, answer.text
    row = answer.json()
    assert row["predicted"] in ("normal", "opacity") and row["row_id"] == f"chest.{fmt.lower()}"
    assert base64.b64decode(row["explanation"]["overlay_png_base64"])[:4] == b"\x89PNG"


def test_predict_dicom_upload(served):
    from pydicom.data import get_testdata_file

    data = open(get_testdata_file("CT_small.dcm"), "rb").read()
    answer = served.client.post("/v1/models/xray/predict", headers=served.headers(),
                                files={"file": ("ct.dcm", data, "application/dicom")})
    assert answer.status_code == 200, answer.text
    assert any("resized from 128x128 to 16x16" in w for w in answer.json()["warnings"])


def test_recommend_for_treatment_runs(served):
    outside = {"a": 4.0, "b": 1.0, "c": 0.0, "d": 0.0}  # propensity near 1: outside the data's support
    answer = served.client.post("/v1/models/treatment/recommend", headers=served.headers(),
                                json={"records": [PATIENTS["treatment"], outside]})
    inside_row, outside_row = answer.json()["recommendations"]
    assert inside_row["recommended_arm"] in ("treated", "control") and inside_row["effect"] is not None
    assert outside_row["recommendation"] == "no recommendation: outside the data's support"
    assert outside_row["recommended_arm"] is None
    refused = served.client.post("/v1/models/sepsis/recommend", headers=served.headers(), json=PATIENTS["sepsis"])
    assert refused.status_code == 404 and "treatment models" in refused.json()["detail"][0]["message"]


def test_openapi_schema_and_docs(served):
    schema = served.client.get("/openapi.json").json()
    assert {"/v1/models/{name}/predict", "/v1/models/{name}/recommend", "/v2/models/{name}/infer"} <= set(
        schema["paths"])
    body = schema["paths"]["/v1/models/{name}/predict"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data"} <= set(body)
    assert served.client.get("/docs").status_code == 200


def test_open_inference_protocol(served):
    h = served.headers()
    assert served.client.get("/v2/health/ready", headers=h).json() == {"ready": True}
    meta = served.client.get("/v2/models/sepsis", headers=h).json()
    assert [i["name"] for i in meta["inputs"]] == ["age", "crp", "noise", "sex", "site"]
    assert meta["inputs"][3]["datatype"] == "BYTES"
    tensors = [{"name": k, "shape": [2], "datatype": "BYTES" if isinstance(v, str) else "FP64", "data": [v, v]}
               for k, v in PATIENTS["sepsis"].items()]
    answer = served.client.post("/v2/models/sepsis/infer", headers=h, json={"id": "r1", "inputs": tensors}).json()
    outputs = {o["name"]: o for o in answer["outputs"]}
    assert answer["id"] == "r1" and outputs["prob_sepsis"]["datatype"] == "FP64"
    assert outputs["prob_sepsis"]["shape"] == [2] and outputs["predicted"]["datatype"] == "BYTES"
    v1 = served.client.post("/v1/models/sepsis/predict", headers=h, json=PATIENTS["sepsis"]).json()
    assert outputs["prob_sepsis"]["data"][0] == pytest.approx(v1["predictions"][0]["prob_sepsis"])
    matrix = {"name": "input", "shape": [1, 4], "datatype": "FP64", "data": list(PATIENTS["treatment"].values())}
    effect = served.client.post("/v2/models/treatment/infer", headers=h, json={"inputs": [matrix]}).json()
    assert {o["name"] for o in effect["outputs"]} >= {"effect", "recommendation"}
    pixels = {"name": "image", "shape": [1, 16, 16], "datatype": "UINT8", "data": [200] * 256}
    image = served.client.post("/v2/models/xray/infer", headers=h, json={"inputs": [pixels]}).json()
    assert image["outputs"][0]["shape"] == [1]
    bad = served.client.post("/v2/models/sepsis/infer", headers=h, json={"inputs": [{"name": "age"}]})
    assert bad.status_code == 422 and "error" in bad.json()


def test_one_audit_row_per_model_call(fresh):
    h = fresh.headers()
    fresh.client.post("/v1/models/sepsis/predict", headers=h, json=PATIENTS["sepsis"])
    fresh.client.post("/v1/models/sepsis/predict", headers=h, json={"records": [PATIENTS["sepsis"]] * 3})
    fresh.client.post("/v1/models/sepsis/predict", headers=h, json={"age": "old"})
    fresh.client.post("/v1/models/sepsis/predict", json=PATIENTS["sepsis"])  # no key: refused, still audited
    fresh.client.get("/health")  # reaches no model: not audited
    rows = fresh.client.get("/v1/audit", headers=fresh.headers("admin")).json()
    assert [r["status"] for r in rows] == [401, 422, 200, 200]
    assert [r["n_rows"] for r in rows[2:]] == [3, 1] and rows[0]["user"] is None
    one = rows[3]
    assert one["user"] == "dr.lee" and one["model"] == "sepsis" and one["endpoint"] == "POST /v1/models/sepsis/predict"
    assert one["weights_sha256"] == fresh.app.state.models["sepsis"].weights_sha256
    assert one["inputs"] is None and len(one["input_sha256"]) == 64  # raw values only with --audit-inputs
    assert json.loads(one["output"])[0]["predicted"] in ("sepsis", "no sepsis")
    assert "probability" in json.loads(one["output"])[0] and one["latency_ms"] > 0
    assert "must be numeric" in rows[1]["message"]
    verified = fresh.client.get("/v1/audit/verify", headers=fresh.headers("admin")).json()
    assert verified == {"ok": True, "n_rows": 4, "message": "All 4 audit rows are intact (hash chain verified)."}
    assert [u["name"] for u in fresh.client.get("/v1/users", headers=fresh.headers("admin")).json()] == [
        "dr.lee", "root"]


def test_served_model_from_python(run_dirs):
    model = ServedModel("sepsis", run_dirs["sepsis"])
    (row,) = model.predict_records([PATIENTS["sepsis"]])
    assert row["predicted"] in ("sepsis", "no sepsis")
    assert model.summary([row])[0]["probability"] == row[f"prob_{row['predicted']}"]


def test_predict_from_a_csv_body(served):
    table = b"age,crp,noise,sex,site\n70,3.1,0.1,male,A\n65,,0,female,\n"
    answer = served.client.post("/v1/models/sepsis/predict", headers={**served.headers(), "Content-Type": "text/csv"},
                                content=table)
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["predictions"]
    assert first["warnings"] == [] and len(second["warnings"]) == 2  # crp and site imputed
    broken = served.client.post("/v1/models/sepsis/predict", headers={**served.headers(), "Content-Type": "text/csv"},
                                content=b'age,crp\n"70,3\n')
    assert broken.status_code == 422 and "CSV" in broken.json()["detail"][0]["message"]


@pytest.mark.parametrize("name, explained", [("survival", "risk score"), ("treatment", "treatment effect"),
                                             ("age", "predicted age")])
def test_explanations_of_risk_effect_and_value(served, name, explained):
    answer = served.client.post(f"/v1/models/{name}/predict?explain=true", headers=served.headers(),
                                json=PATIENTS[name])
    explanation = answer.json()["predictions"][0]["explanation"]
    assert explained in explanation["explained"] and explanation["method"] == "kernel_shap"
    assert [t["column"] for t in explanation["top"]] != [] and {t["column"] for t in explanation["top"]} <= set(
        PATIENTS[name])
    sizes = [abs(t["attribution"]) for t in explanation["top"]]
    assert sizes == sorted(sizes, reverse=True)


def test_a_survival_run_updated_for_a_site_serves_its_updated_curves(run_dirs, tmp_path):
    """meddl recalibrate's survival run loads with its update: the API and the web answer give the updated curves."""
    update = recalibrate_run(run_dirs["survival"], sicker_site(n=300), tmp_path / "site", update="baseline")
    app = create_app({"survival": run_dirs["survival"], "survival-site": update.run_dir},
                     db_url=f"sqlite:///{tmp_path / 'serve.db'}", settings=ServeSettings(rate_limit_per_minute=0))
    client = TestClient(app)
    headers = {"Authorization": f"Bearer {app.state.users.add('dr.lee', 'clinician')}"}
    rows = {name: client.post(f"/v1/models/{name}/predict", headers=headers, json=PATIENTS["survival"]).json()
            ["predictions"][0] for name in ("survival", "survival-site")}
    factor = update.closed_test["observed_expected"]["ratio"]
    assert factor > 1.5
    assert rows["survival-site"]["survival@30"] == pytest.approx(rows["survival"]["survival@30"] ** factor, rel=1e-6)
    assert rows["survival-site"]["risk"] == pytest.approx(rows["survival"]["risk"])
    described = client.get("/v1/models/survival-site", headers=headers).json()
    assert described["run_sha256"] == sha256_file(update.run_dir / "manifest.json")
    assert described["weights_sha256"] == client.get("/v1/models/survival", headers=headers).json()["weights_sha256"]
    card = answer_view(ServedModel("survival-site", update.run_dir), PATIENTS["survival"])
    shown = dict(card.figures)
    assert card.curve_svg and shown["Survival at 30 months"].startswith(f"{100 * rows['survival-site']['survival@30']:.0f}")
