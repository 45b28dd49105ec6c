"""Small served runs of every task, one app over them, and signed-in clients, shared by the web page tests.

The runs are trained once per session (about 20 s on 2 CPU cores in all): a diagnosis
ensemble (so probabilities have an interval), survival and treatment ensembles (bands and
arm intervals), an image model, and a diagnosis run whose column and class names hold
``<script>`` to prove every page escapes them.
"""

import re
from pathlib import Path

import pytest

import meddl
from tests.serving.runs import SURVIVAL_OPTIONS, TREATMENT_OPTIONS
from tests.runs.conftest import FAST, patient_table, write_png_folder
from tests.runs.test_prognosis_treatment import survival_table, treatment_table

SCRIPT_COLUMN = "<script>alert('column')</script>"
SCRIPT_CLASS = "<script>alert('class')</script>"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _train_all(root: Path) -> dict[str, Path]:
    tiny = {**FAST, "epochs": 3}
    patient_table(n=200).to_csv(root / "sepsis.csv", index=False)
    meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(root / "sepsis.csv"), "label": "label",
                                               "positive_class": "sepsis"},
                 "training": {**tiny, "ensemble": 2},  # uncalibrated: the members' spread is an interval around it
                 "evaluation": {"n_resamples": 20, "calibration": "none"}}, out=root / "sepsis")
    survival_table(n=200).to_csv(root / "s.csv", index=False)
    meddl.train({"task": "survival", "data": {"source": "csv", "path": str(root / "s.csv"), "duration": "months",
                                              "event": "died"},
                 "model": {"preset": "deepsurv", "options": SURVIVAL_OPTIONS},
                 "training": {"ensemble": 2},
                 "evaluation": {"horizons": [30, 60], "n_resamples": 20}}, out=root / "survival")
    treatment_table(n=300).to_csv(root / "t.csv", index=False)
    meddl.train({"task": "treatment", "data": {"source": "csv", "path": str(root / "t.csv"), "treatment": "treated",
                                               "outcome": "score"},
                 "model": {"preset": "tarnet", "options": TREATMENT_OPTIONS},
                 "training": {"ensemble": 2},
                 "evaluation": {"n_resamples": 20, "support": [0.1, 0.9]}}, out=root / "treatment")
    write_png_folder(root / "images", n_per_class=12)
    meddl.train({"task": "diagnosis", "data": {"source": "image_folder", "path": str(root / "images")},
                 "model": "seed-cnn", "training": {**FAST, "epochs": 2}, "evaluation": {"n_resamples": 20}},
                out=root / "xray")
    table = patient_table(n=120).rename(columns={"noise": SCRIPT_COLUMN})
    table["label"] = table["label"].replace({"sepsis": SCRIPT_CLASS})
    table.to_csv(root / "escape.csv", index=False)
    meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(root / "escape.csv"), "label": "label",
                                               "positive_class": SCRIPT_CLASS},
                 "training": {**FAST, "epochs": 2}, "evaluation": {"n_resamples": 20}}, out=root / "escape")
    return {name: root / name for name in ("sepsis", "survival", "treatment", "xray", "escape")}


@pytest.fixture(scope="session")
def web_runs(tmp_path_factory, request):
    """Trained once per test session, shared by the xdist workers (the first one trains, the others wait)."""
    if not hasattr(request.config, "workerinput"):  # not under pytest-xdist
        return _train_all(tmp_path_factory.mktemp("web_runs"))
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "web_runs"
    with FileLock(str(root) + ".lock"):
        if not (root / "done").is_file():
            root.mkdir(exist_ok=True)
            _train_all(root)
            (root / "done").write_text("trained\n")
    return {name: root / name for name in ("sepsis", "survival", "treatment", "xray", "escape")}


@pytest.fixture(scope="session")
def web_app(web_runs, tmp_path_factory):
    """The served app with two users: ``clinician`` and ``admin`` (app.state.test_keys holds their keys)."""
    from meddl.serving.app import create_app

    db = tmp_path_factory.mktemp("web_db") / "serve.db"
    app = create_app({name: str(path) for name, path in web_runs.items()}, db_url=f"sqlite:///{db}")
    app.state.test_keys = {"clinician": app.state.users.add("clinician", "clinician"),
                           "admin": app.state.users.add("admin", "admin")}
    app.state.users.set_password("clinician", "correct horse battery")
    return app


def csrf_token(html: str) -> str:
    match = CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def sign_in(client, user: str, secret: str):
    page = client.get("/web/signin")
    return client.post("/web/signin", data={"user": user, "secret": secret, "csrf_token": csrf_token(page.text),
                                            "next": "/web/models"})
