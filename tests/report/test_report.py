"""The HTML report renders from fake run folders, self-contained and complete."""

import re

import pytest

from meddl.errors import ModelFileError
from meddl.report import NOT_FOR_CLINICAL_USE, REPORT_SECTIONS
from meddl.runs import RunFolder, rebuild_report, write_report

from ..evaluation.eval_helpers import write_run

CLASSIFICATION_SECTIONS = [t for t in REPORT_SECTIONS if t != "Predicted versus observed"]


@pytest.fixture(scope="module")
def binary_report(tmp_path_factory):
    run_dir = write_run(tmp_path_factory.mktemp("runs") / "binary", "binary")
    path = write_report(RunFolder(run_dir), extra_sections=[("Explanations", "<p>Grad-CAM goes here</p>")])
    return path, path.read_text(encoding="utf-8")


def _section_titles(html):
    return re.findall(r"<h2>(.*?)</h2>", html)


def test_report_is_written_next_to_the_run_files(binary_report):
    path, _ = binary_report
    assert path.name == "report.html" and (path.parent / "metrics.json").exists()


def test_binary_report_has_every_section_in_order(binary_report):
    _, html = binary_report
    titles = _section_titles(html)
    assert titles == CLASSIFICATION_SECTIONS[:-1] + ["Explanations", "Model card"]
    assert "<p>Grad-CAM goes here</p>" in html


def test_report_is_self_contained(binary_report):
    _, html = binary_report
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 5 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"https?://|<link|<script|@import|url\(", html)


def test_report_carries_the_numbers_and_the_model_card(binary_report):
    _, html = binary_report
    assert NOT_FOR_CLINICAL_USE == "Not for clinical use without local validation."
    assert html.count(NOT_FOR_CLINICAL_USE) == 2  # banner at the top and in the model card
    for text in ("AUROC", "Sensitivity (recall)", "95% CI", "Intended use", "Known limitations",
                 "How it was evaluated", "tumour_size", "confident, wrong", "Target coverage", "mlp-small",
                 "Before calibration", "Conformal set", "benign, malignant", "recalibrated"):
        assert text in html, text
    assert re.search(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", html)  # value [lo, hi]
    assert "Breast lesion &lt;malignancy&gt;" in html  # user text is escaped


def test_multiclass_report_has_the_classification_sections(tmp_path):
    html = rebuild_report(write_run(tmp_path / "mc", "multiclass", n=150)).read_text()
    titles = _section_titles(html)
    assert "Decision curve" not in titles  # binary only
    for title in ("Metrics", "ROC and precision-recall curves", "Confusion matrix", "Calibration", "Subgroups",
                  "Conformal prediction sets", "Model card"):
        assert title in titles
    assert "Sensitivity (recall) — pneumonia" in html


def test_regression_report_and_missing_files_are_skipped(tmp_path):
    run_dir = write_run(tmp_path / "reg", "regression", n=120, with_history=False, with_subgroups=False)
    html = rebuild_report(run_dir).read_text()
    titles = _section_titles(html)
    assert "Predicted versus observed" in titles and "Training curves" not in titles
    assert "ROC and precision-recall curves" not in titles and "Subgroups" not in titles
    assert "history.csv" in html  # the report says which file was missing


def test_report_is_not_written_into_a_folder_that_is_not_a_run(tmp_path):
    (tmp_path / "report.html").write_text("my own notes")  # a user's folder: nothing in it may be replaced
    with pytest.raises(ModelFileError, match=r"run.json' is missing: .* is not a complete meddl run folder"):
        rebuild_report(tmp_path)
    assert (tmp_path / "report.html").read_text() == "my own notes"


def test_report_errors_for_a_missing_folder_or_corrupt_json(tmp_path):
    with pytest.raises(ModelFileError, match="does not exist or is not a folder"):
        rebuild_report(tmp_path / "nope")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ModelFileError, match="does not exist or is not a folder"):
        rebuild_report(tmp_path / "notes.txt")
    run_dir = write_run(tmp_path / "bin", "binary")  # a meddl 0.1.0-style folder: no manifest to check against
    (run_dir / "metrics.json").write_text("{truncated")
    with pytest.raises(ModelFileError, match="metrics.json' is not valid JSON"):
        rebuild_report(run_dir)
