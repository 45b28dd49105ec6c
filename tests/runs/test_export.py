"""ONNX export matches PyTorch within 1e-5; int8 reports its accuracy change; predict runs on ONNX Runtime."""

import json

import numpy as np
import pytest

import meddl
from meddl import MeddlError, ModelFileError
from meddl.cli import main
from meddl.models.onnx import OnnxModel
from meddl.runs import export_onnx

from ..runs.conftest import FAST, diagnosis_config, patient_table, write_png_folder


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("onnx")
    patient_table().to_csv(root / "t.csv", index=False)
    return meddl.train(diagnosis_config(root / "t.csv"), out=root / "run"), root / "t.csv"


def test_export_matches_pytorch_and_predict_uses_onnx_runtime(table_run):
    run, data = table_run
    report = export_onnx(run, quantize="int8")
    assert report["max_abs_difference_vs_torch"] <= 1e-5
    assert (run.path / "model.onnx").is_file() and (run.path / "model.int8.onnx").is_file()
    assert json.loads((run.path / "model.onnx.json").read_text())["output"] == "logits"
    change = report["int8"]["metrics_change"]["auroc"]
    assert change["change"] == pytest.approx(change["int8"] - change["fp32"])
    torch_predictions = run.predict(data)
    onnx_predictions = meddl.load_run(run.path).predict(data, runtime="onnx")
    np.testing.assert_allclose(onnx_predictions["prob_sepsis"], torch_predictions["prob_sepsis"], atol=1e-5)
    int8 = OnnxModel(run.path / "model.int8.onnx")
    x, _ = run.split_data("test")
    assert np.abs(int8.logits(x) - OnnxModel(run.path / "model.onnx").logits(x)).max() < 0.5


def test_cnn_export_matches_within_1e_5(tmp_path):
    write_png_folder(tmp_path / "images", n_per_class=10)
    run = meddl.train({"task": "diagnosis", "data": {"source": "image_folder", "path": str(tmp_path / "images")},
                       "model": {"preset": "default", "options": {"width": 8}}, "training": {**FAST, "epochs": 2},
                       "evaluation": {"n_resamples": 0, "conformal_coverage": None}}, out=tmp_path / "run")
    report = export_onnx(run)
    assert report["max_abs_difference_vs_torch"] <= 1e-5
    assert main(["predict", str(run.path), str(tmp_path / "images"), "--runtime", "onnx", "--out",
                 str(tmp_path / "p.csv")]) == 0


def test_errors(table_run, tmp_path):
    run, data = table_run
    with pytest.raises(MeddlError, match="'quantize' option must be None or 'int8'. Got 'int4'"):
        export_onnx(run, quantize="int4")
    with pytest.raises(MeddlError, match="'runtime' must be 'torch' or 'onnx'. Got 'tf'"):
        run.predict(data, runtime="tf")
    with pytest.raises(ModelFileError, match="No ONNX model at"):
        OnnxModel(tmp_path / "none.onnx")


def test_an_onnx_file_is_loaded_only_as_exported(table_run, tmp_path):
    """model.onnx lies outside the manifest: its sha256 and the run's manifest are recorded and checked on load."""
    run, data = table_run
    export_onnx(run, check=False)
    record = json.loads((run.path / "model.onnx.json").read_text())
    assert record["sha256"]["model.onnx"] == meddl.io.sha256_file(run.path / "model.onnx")
    assert record["run_manifest_sha256"] == meddl.io.sha256_file(run.path / "manifest.json")
    original = (run.path / "model.onnx").read_bytes()
    # another network in its place (here: the int8 export of the same run, which predicts a little differently)
    export_onnx(run, quantize="int8", check=False)
    (run.path / "model.onnx").write_bytes((run.path / "model.int8.onnx").read_bytes())
    with pytest.raises(ModelFileError, match=r"model.onnx' has changed since it was exported"):
        meddl.load_run(run.path).predict(data, runtime="onnx")
    (run.path / "model.onnx").write_bytes(original)
    # an export record from another run (its manifest differs)
    other = dict(record, sha256={"model.onnx": meddl.io.sha256_file(run.path / "model.onnx")},
                 run_manifest_sha256="0" * 64)
    (run.path / "model.onnx.json").write_text(json.dumps(other))
    with pytest.raises(ModelFileError, match="was exported from another run"):
        meddl.load_run(run.path).onnx_model()
    (run.path / "model.onnx.json").write_text(json.dumps({"file": "model.onnx"}))  # an older meddl's record
    with pytest.raises(ModelFileError, match="records no sha256 for 'model.onnx'.*meddl export"):
        meddl.load_run(run.path).onnx_model()
    (run.path / "model.onnx.json").unlink()
    with pytest.raises(ModelFileError, match="has no export record"):
        meddl.load_run(run.path).onnx_model()
    export_onnx(run, check=False)
    loaded = meddl.load_run(run.path)
    onnx_model = loaded.onnx_model()
    (run.path / "model.onnx").write_bytes(b"not a network")  # swapped after loading: the checked copy stays in use
    assert loaded.onnx_model() is onnx_model
    np.testing.assert_allclose(loaded.predict(data, runtime="onnx")["prob_sepsis"], run.predict(data)["prob_sepsis"],
                               atol=1e-5)
    export_onnx(run, check=False)
