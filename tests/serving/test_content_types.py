"""The body's Content-Type decides how it is read: JSON only when it says JSON, never guessed from the bytes."""

import json

import pytest

from .conftest import PATIENTS


def _infer_body() -> bytes:
    return json.dumps({"inputs": [{"name": n, "shape": [1], "datatype": "BYTES" if n in ("sex", "site") else "FP64",
                                   "data": [v]} for n, v in PATIENTS["sepsis"].items()]}).encode()


ENDPOINTS = {
    "predict": ("/v1/models/sepsis/predict", json.dumps(PATIENTS["sepsis"]).encode()),
    "recommend": ("/v1/models/treatment/recommend", json.dumps(PATIENTS["treatment"]).encode()),
    "infer": ("/v2/models/sepsis/infer", _infer_body()),
}


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8",
                                          "application/x-www-form-urlencoded", "application/xml"])
def test_a_json_body_with_another_content_type_is_415(served, endpoint, content_type):
    url, body = ENDPOINTS[endpoint]
    answer = served.client.post(url, headers={**served.headers(), "Content-Type": content_type}, content=body)
    assert answer.status_code == 415, answer.text
    [problem] = answer.json()["detail"]
    assert problem["field"] == "header.content-type"
    assert "must be application/json" in problem["message"] and repr(content_type) in problem["message"]


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON",
                                          "application/vnd.api+json"])
def test_json_content_types_are_read_as_json(served, endpoint, content_type):
    url, body = ENDPOINTS[endpoint]
    answer = served.client.post(url, headers={**served.headers(), "Content-Type": content_type}, content=body)
    assert answer.status_code == 200, answer.text


def test_csv_is_for_v1_only(served):
    table = b"age,crp,noise,sex,site\n70,3.1,0.1,male,A\n"
    headers = {**served.headers(), "Content-Type": "text/csv; charset=utf-8"}
    assert served.client.post("/v1/models/sepsis/predict", headers=headers, content=table).status_code == 200
    infer = served.client.post("/v2/models/sepsis/infer", headers=headers, content=table)
    assert infer.status_code == 415 and "'text/csv; charset=utf-8'" in infer.json()["detail"][0]["message"]


@pytest.mark.parametrize("records, received", [(PATIENTS["sepsis"], "an object"), ("all", "a string"),
                                               (3, "a number"), (None, "null")])
def test_records_must_be_a_list(served, records, received):
    answer = served.client.post("/v1/models/sepsis/predict", headers=served.headers(), json={"records": records})
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["detail"]
    assert problem["field"] == "records"
    assert "must be a list of JSON objects" in problem["message"] and f"got {received}." in problem["message"]


def test_one_patient_as_a_bare_object_is_still_served(served):
    answer = served.client.post("/v1/models/sepsis/predict", headers=served.headers(), json=PATIENTS["sepsis"])
    assert answer.status_code == 200 and len(answer.json()["predictions"]) == 1
