"""explain_run end to end on real runs: files, known signal, one-hot sums, determinism, images, report, errors."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from meddl import ConfigError, DataError
from meddl.explain import attribute, explanation_section, group_attributions, table_baseline
from meddl.report import build_report
from meddl.runs import RunFolder, explain_run
from meddl.runs.report import read_report_inputs
from meddl.runs.explain_data import model_output

from tests.explain_helpers import PATCH, SIGNAL_COLUMNS, one_thread, signal_table


@pytest.fixture(autouse=True)
def _one_thread():
    with one_thread():
        yield


def test_table_files_hold_one_row_per_test_patient(table_run, table_explanation):
    result = table_explanation
    assert set(result.files) == {"attributions.csv", "attributions_gradient_shap.csv", "attributions.json"}
    split = pd.read_csv(table_run.path / "split.csv", dtype={"row_id": str})
    test_ids = split.loc[split["split"] == "test", "row_id"].tolist()
    frame = pd.read_csv(result.out_dir / "attributions.csv", dtype={"id": str})
    assert frame["id"].tolist() == test_ids
    assert list(frame.columns) == ["id", "target_class", "probability", "predicted", "lactate", "heart_rate",
                                   "noise", "stage", "ward"]
    assert set(frame["target_class"]) == {"sepsis"}  # binary: the positive class
    saved = pd.read_csv(table_run.path / "predictions_test.csv", dtype={"row_id": str}).set_index("row_id")
    np.testing.assert_allclose(frame["probability"], saved.loc[test_ids, "prob_sepsis"], rtol=1e-6)
    info = json.loads((result.out_dir / "attributions.json").read_text())
    assert info["methods"] == ["integrated_gradients", "gradient_shap"]
    assert info["baseline"]["kind"] == "mean" and "training mean" in info["baseline"]["description"]
    assert "training rows" in info["baseline"]["gradient_shap"]
    assert info["target"] == "the positive class 'sepsis'"
    assert np.array(info["attributions"]["integrated_gradients"]["values"]).shape == (len(test_ids), 5)
    assert set(info["trust_checks"]["integrated_gradients"]) == {"randomization", "deletion_insertion",
                                                                 "faithfulness", "completeness"}
    score = info["trust_checks"]["integrated_gradients"]["faithfulness"]["score"]  # gains with CIs over the rows
    assert score["n"] == 32 and score["ci_low"] <= score["mean"] <= score["ci_high"]


def test_top_attributed_columns_are_the_signal(table_explanation):
    result = table_explanation
    for method in result.methods:
        assert set(result.importance[method]["feature"].head(2)) == set(SIGNAL_COLUMNS), method
    permutation = result.permutation.set_index("feature")
    assert set(result.permutation["feature"].head(2)) == set(SIGNAL_COLUMNS)
    for column in SIGNAL_COLUMNS:
        assert permutation.loc[column, "ci_low"] > permutation.loc["noise", "importance"]
        assert permutation.loc[column, "ci_low"] > 0


def test_one_hot_levels_are_summed_back_to_their_column(table_run, table_explanation):
    prep = table_run.preprocessor
    assert [f for f, s in zip(prep.feature_names_out_, prep.source_columns_) if s == "stage"] == [
        "stage=I", "stage=II", "stage=III"]
    test = pd.read_csv(table_explanation.out_dir / "attributions.csv", dtype={"id": str})
    raw = signal_table().loc[test["id"].astype(int)]
    per_feature = attribute(model_output(table_run), prep.transform(raw), target=1,
                            baseline=table_baseline(prep).features)
    stage = [k for k, s in enumerate(prep.source_columns_) if s == "stage"]
    np.testing.assert_allclose(test["stage"], per_feature[:, stage].sum(axis=1), atol=1e-6)
    np.testing.assert_allclose(test[list(prep.input_columns_)].to_numpy(),
                               group_attributions(per_feature, prep.source_columns_).to_numpy(), atol=1e-6)


def test_trust_checks_on_the_table(table_explanation):
    trust = table_explanation.trust["integrated_gradients"]
    assert trust["completeness"]["passed"] and trust["completeness"]["median_relative_error"] < 0.05
    assert trust["deletion_insertion"]["faithful"]
    assert trust["deletion_insertion"]["fractions"] == pytest.approx(np.linspace(0, 1, 6))  # one step per column
    assert trust["randomization"]["spearman"] < 0.5 and trust["randomization"]["passed"]


def test_same_seed_same_attributions(table_run, tmp_path):
    cheap = {"n_resamples": 0, "n_repeats": 1, "trust_rows": 4, "n_steps": 16, "n_samples": 16}
    first, again, other = (explain_run(table_run, out_dir=tmp_path / name, seed=seed, **cheap)
                           for name, seed in (("first", 0), ("again", 0), ("other", 1)))
    for method in first.methods:
        np.testing.assert_array_equal(again.attributions[method].to_numpy(), first.attributions[method].to_numpy())
    files = [(tmp_path / name / "attributions.csv").read_bytes() for name in ("first", "again")]
    assert files[0] == files[1]
    assert first.trust == again.trust
    np.testing.assert_array_equal(other.attributions["integrated_gradients"].to_numpy(),
                                  first.attributions["integrated_gradients"].to_numpy())  # IG has no randomness
    assert not np.array_equal(other.attributions["gradient_shap"].to_numpy(),
                              first.attributions["gradient_shap"].to_numpy())  # the seed drives GradientSHAP


def test_given_rows_target_class_and_baseline(table_run, tmp_path):
    rows = signal_table().drop(columns=["label"]).head(4)
    result = explain_run(table_run, rows, out_dir=tmp_path / "given", methods=["integrated_gradients"],
                         target="no sepsis", baseline="median", n_resamples=0, n_repeats=1)
    assert result.predictions["id"].tolist() == ["0", "1", "2", "3"]
    assert set(result.predictions["target_class"]) == {"no sepsis"}
    assert result.baseline["kind"] == "median" and result.source == "given inputs"
    assert result.permutation is not None  # still measured on the run's test split
    positive = explain_run(table_run, rows, out_dir=tmp_path / "positive", methods=["integrated_gradients"],
                           baseline="median", n_resamples=0, n_repeats=1)
    np.testing.assert_allclose(result.attributions["integrated_gradients"].to_numpy(),
                               -positive.attributions["integrated_gradients"].to_numpy(), atol=1e-5)


def test_table_errors(table_run, tmp_path):
    rows = signal_table().drop(columns=["label"]).head(3)
    with pytest.raises(ConfigError, match="'grad_cam' is for image models.*'integrated_gradients' or 'gradient_shap'"):
        explain_run(table_run, rows, methods=["grad_cam"], out_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match="Unknown attribution method.*'integrated_gradiants'.*Did you mean"):
        explain_run(table_run, rows, methods="integrated_gradiants", out_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match="Unknown target class 'sepsiss'.*Did you mean 'sepsis'"):
        explain_run(table_run, rows, target="sepsiss", out_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match="'layer' parameter of explain_run is for Grad-CAM"):
        explain_run(table_run, rows, layer="conv", out_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match="'permutation_metric'.*\\['auroc', 'loss'\\].*Got 'mse'"):
        explain_run(table_run, rows, permutation_metric="mse", out_dir=tmp_path / "x")
    with pytest.raises(DataError, match="lactate"):
        explain_run(table_run, rows.drop(columns=["lactate"]), out_dir=tmp_path / "x")
    with pytest.raises(DataError, match="stage.*'IV'"):
        explain_run(table_run, rows.assign(stage="IV"), out_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()  # nothing half-written


def test_other_tasks_are_pointed_to_run_explain(table_run, tmp_path, monkeypatch):
    monkeypatch.setattr(table_run, "task", "survival")
    monkeypatch.setitem(table_run.info, "problem", "survival")
    with pytest.raises(ConfigError, match="task is 'survival'.*Run.explain"):
        explain_run(table_run, out_dir=tmp_path / "x")


def test_image_cases_overlays_and_grad_cam_location(image_run, tmp_path, monkeypatch):
    import meddl.explain.result as result_module

    titles = []
    real_save = result_module.save_overlay
    monkeypatch.setattr(result_module, "save_overlay",
                        lambda *args, title="", **kw: titles.append(title) or real_save(*args, title=title, **kw))
    result = explain_run(image_run, out_dir=tmp_path / "images", layer="conv_a", n_cases=2, seed=0,
                         methods=["grad_cam", "integrated_gradients"])
    assert result.methods == ("grad_cam", "integrated_gradients")
    assert result.target == "the positive class 'opacity'"
    assert titles and all("evidence for class 'opacity'" in t for t in titles)
    kinds = result.predictions["case_kind"].tolist()
    assert set(kinds) <= {"misclassified", "most_confident", "least_confident"} and "most_confident" in kinds
    pngs = [name for name in result.files if name.endswith(".png")]
    assert len(pngs) == 2 * len(result.predictions) + 1 and "population.png" in pngs
    assert result.grad_cam_layer == {"layer": "conv_a", "map_size": (16, 16)}
    assert all((tmp_path / "images" / name).read_bytes()[:4] == b"\x89PNG" for name in pngs)
    saved = np.load(tmp_path / "images" / "heatmaps.npz")
    assert saved["grad_cam"].shape == (len(result.predictions), 16, 16)
    opacity = (result.predictions["y_true"] == "opacity").to_numpy()
    assert opacity.any()
    for method in result.methods:
        maps = np.clip(result.heatmaps[method][opacity], 0, None)
        inside = maps[:, PATCH[0], PATCH[1]].sum(axis=(1, 2)) / maps.sum(axis=(1, 2))
        assert np.median(inside) > 0.6, (method, inside)  # the patch is 14% of the image
    assert result.trust["grad_cam"]["randomization"]["passed"]
    assert result.trust["integrated_gradients"]["completeness"]["passed"]
    info = json.loads((tmp_path / "images" / "attributions.json").read_text())
    assert info["heatmaps"]["file"] == "heatmaps.npz" and len(info["overlays"]) == len(pngs) - 1  # + population.png
    for method in result.methods:
        checks = info["trust_checks"][method]
        assert checks["randomization"]["status"] in ("passed", "failed", "undefined")
        score = checks["faithfulness"]["score"]
        assert score["n"] == checks["faithfulness"]["n_rows"] and score["ci_low"] <= score["mean"] <= score["ci_high"]
        assert checks["faithfulness"]["status"] == "passed", checks["faithfulness"]["reason"]
        assert checks["road"]["status"] in ("passed", "failed")
    assert info["population"]["groups"]["class opacity"]["n"] > 0 and "true positive" in info["population"]["groups"]
    assert "population_class_opacity" in saved.files and not info["population"]["shortcut"]["warning"]


def test_auto_chooses_a_method_on_validation_images_and_says_why(image_run, tmp_path):
    result = explain_run(image_run, out_dir=tmp_path / "auto", n_cases=1, seed=0)
    assert len(result.methods) == 1 and result.choice["method"] == result.methods[0]
    assert set(result.choice["candidates"]) == {"grad_cam", "grad_cam_plus_plus", "integrated_gradients",
                                                "smooth_integrated_gradients", "occlusion"}
    assert "highest faithfulness score" in result.choice["reason"] and "validation images" in result.choice["reason"]
    assert any(note.startswith("Method 'auto' chose") for note in result.notes)
    assert result.grad_cam_layer["layer"] == "conv_b" and result.grad_cam_layer["map_size"] == (8, 8)
    title, html = explanation_section(result)
    assert "Method chosen by evidence" in html and "Where the model looks" in html


def test_image_errors(image_run, tmp_path):
    images = np.zeros((2, 16, 16, 1), dtype=np.uint8)
    with pytest.raises(ConfigError, match="'kernel_shap'.*too slow.*'occlusion' or 'integrated_gradients'"):
        explain_run(image_run, images, methods=["kernel_shap"], out_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match="'conv'.*Convolution layers: 'conv_a', 'conv_b'"):
        explain_run(image_run, images, layer="conv", out_dir=tmp_path / "x")
    with pytest.raises(DataError, match="channel"):
        explain_run(image_run, np.zeros((2, 16, 16, 4)), out_dir=tmp_path / "x")


def test_given_images_are_all_explained(image_run, tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (2, 16, 16), dtype=np.uint8)
    result = explain_run(image_run, images, methods=["occlusion"], out_dir=tmp_path / "given")
    assert result.predictions["case_kind"].tolist() == ["input", "input"]
    assert result.heatmaps["occlusion"].shape == (2, 16, 16)


def test_report_section_is_self_contained(table_run, table_explanation, image_run, tmp_path):
    title, html = explanation_section(table_explanation)
    assert title == "Explanations"
    for text in ("lactate", "Randomisation test", "Integrated Gradients", "GradientSHAP", "Example patients",
                 "permutation importance", "data:image/png;base64,"):
        assert text in html, text
    assert "src=\"http" not in html and "href=\"http" not in html  # nothing outside the file
    report = build_report(read_report_inputs(RunFolder(table_run.path)), extra_sections=[(title, html)])
    assert '<section id="explanations"><h2>Explanations</h2>' in report
    images = explain_run(image_run, out_dir=tmp_path / "img", methods=["grad_cam"], n_cases=1)
    _, image_html = explanation_section(images)
    assert image_html.count("<img") == len(images.predictions) + 1 and "Grad-CAM" in image_html  # + population view
    with pytest.raises(ConfigError, match="must be the Explanation returned by explain_run"):
        explanation_section({"methods": []})


def test_regression_and_multiclass_runs(tmp_path):
    import meddl

    frame = signal_table(n=200, seed=3)
    frame["score"] = 3 * np.log(frame["lactate"]) + 0.1 * frame["heart_rate"]
    frame["grade"] = pd.cut(frame["score"], 3, labels=["low", "mid", "high"]).astype(str)
    frame.drop(columns=["label", "grade"]).to_csv(tmp_path / "reg.csv", index=False)
    frame.drop(columns=["label", "score"]).to_csv(tmp_path / "multi.csv", index=False)
    fast = {"epochs": 6, "batch_size": 32, "early_stopping": {"patience": 3}}
    regression = meddl.train({"task": "regression", "data": {"source": "csv", "path": str(tmp_path / "reg.csv"),
                                                             "label": "score"},
                              "training": fast, "evaluation": {"n_resamples": 0}}, out=tmp_path / "reg")
    result = explain_run(regression, methods="integrated_gradients", n_resamples=0, trust_rows=8)
    assert result.target == "the predicted value" and "prediction" in result.predictions
    assert set(result.importance["integrated_gradients"]["feature"].head(2)) == set(SIGNAL_COLUMNS)
    assert result.permutation["metric"].iloc[0] == "loss"
    assert result.trust["integrated_gradients"]["completeness"]["passed"]  # sums to the change in outcome units
    with pytest.raises(ConfigError, match="'target' parameter of explain_run must be None for a regression run"):
        explain_run(regression, target="high", out_dir=tmp_path / "x")
    with pytest.raises(ConfigError, match=r"'permutation_metric'.*\['loss'\].*Got 'auroc'"):
        explain_run(regression, permutation_metric="auroc", out_dir=tmp_path / "x")

    multiclass = meddl.train({"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "multi.csv"),
                                                            "label": "grade"},
                              "training": {**fast, "ensemble": 2},
                              # explanations explain the probability before post-hoc calibration, as saved without it
                              "evaluation": {"n_resamples": 0, "calibration": "none"}},
                             out=tmp_path / "multi")
    assert len(multiclass.members) == 2
    result = explain_run(multiclass, methods="integrated_gradients", n_resamples=0, trust_rows=8)
    assert result.target == "each case's predicted class"
    assert (result.predictions["target_class"] == result.predictions["predicted"]).all()
    assert set(result.permutation["feature"].head(2)) == set(SIGNAL_COLUMNS)
    # The explained output is the ensemble's mean probability, the one Run.predict reports, and IG adds up to it.
    saved = pd.read_csv(multiclass.path / "predictions_test.csv", dtype={"row_id": str}).set_index("row_id")
    chosen = [saved.loc[i, f"prob_{c}"] for i, c in zip(result.predictions["id"], result.predictions["target_class"])]
    np.testing.assert_allclose(result.predictions["probability"], chosen, rtol=1e-5)
    x = multiclass.features(frame.loc[result.predictions["id"].astype(int)])[0]
    explained = model_output(multiclass)(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(explained[np.arange(len(x)), [multiclass.class_names.index(c) for c in
                                                              result.predictions["target_class"]]], chosen, rtol=1e-5)
    assert result.trust["integrated_gradients"]["completeness"]["passed"]
    assert any("Ensemble of 2 members" in note for note in result.notes)
