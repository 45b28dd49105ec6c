"""Small trained runs of every task, for the serving tests (a few seconds each, trained once per session)."""

from pathlib import Path

import meddl
try:  # the run tests' data helpers: tests/runs/ after the architecture refactor, tests/tasks/ before it
    from tests.runs.conftest import FAST, patient_table, write_png_folder
    from tests.runs.test_prognosis_treatment import survival_table, treatment_table
except ImportError:
    from tests.tasks.conftest import FAST, patient_table, write_png_folder
    from tests.tasks.test_prognosis_treatment import survival_table, treatment_table

SURVIVAL_OPTIONS = {"hidden_units": [8], "epochs": 20, "learning_rate": 0.01}
TREATMENT_OPTIONS = {"representation_units": [16], "head_units": [8], "max_epochs": 20}


def train_diagnosis(root: Path) -> Path:
    patient_table(n=200).to_csv(root / "sepsis.csv", index=False)
    meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(root / "sepsis.csv"), "label": "label",
                                               "positive_class": "sepsis"},
                 "training": {**FAST, "epochs": 3}, "evaluation": {"n_resamples": 20}}, out=root / "sepsis")
    return root / "sepsis"


def train_regression(root: Path) -> Path:
    patient_table(n=200).drop(columns="label").to_csv(root / "crp.csv", index=False)
    meddl.train({"task": "regression", "data": {"source": "csv", "path": str(root / "crp.csv"), "label": "age"},
                 "training": {**FAST, "epochs": 3}, "evaluation": {"n_resamples": 20}}, out=root / "age")
    return root / "age"


def train_survival(root: Path) -> Path:
    survival_table(n=200).to_csv(root / "s.csv", index=False)
    meddl.train({"task": "survival", "data": {"source": "csv", "path": str(root / "s.csv"), "duration": "months",
                                              "event": "died"},
                 "model": {"preset": "deepsurv", "options": SURVIVAL_OPTIONS}, "training": {"ensemble": 1},
                 "evaluation": {"horizons": [30, 60], "n_resamples": 20}}, out=root / "survival")
    return root / "survival"


def train_treatment(root: Path) -> Path:
    treatment_table(n=300).to_csv(root / "t.csv", index=False)
    meddl.train({"task": "treatment", "data": {"source": "csv", "path": str(root / "t.csv"), "treatment": "treated",
                                               "outcome": "score"},
                 "model": {"preset": "tarnet", "options": TREATMENT_OPTIONS}, "training": {"ensemble": 1},
                 "evaluation": {"n_resamples": 20, "support": [0.1, 0.9]}}, out=root / "treatment")
    return root / "treatment"


def train_image(root: Path) -> Path:
    write_png_folder(root / "images", n_per_class=12)
    meddl.train({"task": "diagnosis", "data": {"source": "image_folder", "path": str(root / "images")},
                 "model": "seed-cnn", "training": {**FAST, "epochs": 2}, "evaluation": {"n_resamples": 20}},
                out=root / "xray")
    return root / "xray"
