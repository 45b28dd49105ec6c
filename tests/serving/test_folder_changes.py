"""A run folder that changes on disk while the server runs: the server answers with the copy it checked at its start,
says so truthfully (its hashes and the audit trail name that copy, not the files now on disk), and /ready lists
the files that changed (a restart would refuse them)."""

import hashlib
import json
import shutil

from fastapi.testclient import TestClient

import meddl.serving.models as served_models
from meddl.runs import RunFolder, load_run
from meddl.serving import ServeSettings, create_app
from meddl.serving.models import ServedModel
from tests.serving.web.conftest import sign_in

from .conftest import PATIENTS


def _flip_last_byte(path):
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))


def test_the_hashes_a_server_reports_are_those_of_the_copy_it_checked(trained, tmp_path, monkeypatch):
    copy = shutil.copytree(trained("sepsis"), tmp_path / "sepsis")
    manifest_bytes = (copy / "manifest.json").read_bytes()
    recorded = json.loads(manifest_bytes)["files"]

    def load_then_changed(path):  # the files change on disk right after the run was checked and loaded
        run = load_run(path)
        _flip_last_byte(copy / "model" / "model.safetensors")
        (copy / "manifest.json").write_text(manifest_bytes.decode().replace("sha256", "sha-256"))
        return run

    monkeypatch.setattr(served_models, "load_run", load_then_changed)
    served = ServedModel("sepsis", copy)
    assert served.weights_files == {name: recorded[name] for name in ("model/model.json", "model/model.safetensors")}
    assert served.run_sha256 == hashlib.sha256(manifest_bytes).hexdigest()


def test_a_run_changed_after_the_server_started_is_served_and_audited_as_it_was_checked(trained, tmp_path):
    copy = shutil.copytree(trained("sepsis"), tmp_path / "sepsis")
    app = create_app({"sepsis": copy}, db_url=f"sqlite:///{tmp_path / 'serve.db'}",
                     settings=ServeSettings(rate_limit_per_minute=0))
    key = app.state.users.add("dr.lee", "clinician")
    headers = {"Authorization": f"Bearer {key}"}
    client = TestClient(app)
    described = client.get("/v1/models/sepsis", headers=headers).json()
    assert "changed_on_disk" not in client.get("/ready", headers=headers).json()
    before = client.post("/v1/models/sepsis/predict", json=PATIENTS["sepsis"], headers=headers).json()

    _flip_last_byte(copy / "model" / "model.safetensors")  # weights, threshold and split edited on disk
    info = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(json.dumps({**info, "threshold": 0.001}))
    (copy / "split.csv").write_text("row_id,split\n")
    assert not RunFolder(copy).verify().ok  # `meddl verify` sees the change; a restarted server would refuse
    ready = client.get("/ready", headers=headers)  # the server says so, and still answers with its checked copy
    assert ready.status_code == 200 and ready.json()["changed_on_disk"] == {
        "sepsis": ["model/model.safetensors", "run.json", "split.csv"]}

    after = client.post("/v1/models/sepsis/predict?explain=true", json=PATIENTS["sepsis"], headers=headers)
    assert after.status_code == 200, after.text
    keep = ("predicted", "prob_sepsis", "prob_no sepsis")
    assert {k: after.json()["predictions"][0][k] for k in keep} == {k: before["predictions"][0][k] for k in keep}
    again = client.get("/v1/models/sepsis", headers=headers).json()
    assert (again["weights_sha256"], again["run_sha256"], again["threshold"]) == (
        described["weights_sha256"], described["run_sha256"], described["threshold"])
    audited = {row["weights_sha256"] for row in app.state.audit.latest(10) if row["model"] == "sepsis"}
    assert audited == {described["weights_sha256"]}
    with TestClient(app, base_url="https://testserver") as web:
        sign_in(web, "dr.lee", key)
        assert web.get("/web/models").status_code == 200
