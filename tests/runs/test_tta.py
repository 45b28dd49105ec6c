"""Test-time augmentation (``evaluation.tta``): probabilities averaged over each image and its mirrored copies,
the same for a run's own predictions and for new images; refused for tables and for ONNX export."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl import layers
from meddl.errors import ConfigError, DataError, MeddlError
from meddl.models.ensemble import TTA_FLIPS, combine_outputs, describe_tta, member_outputs
from meddl.runs import RunFolder
from meddl.runs.export import export_onnx
from meddl.studies.search_space import apply_values, default_point, search_space

from tests.small_data import image_config


def _network(head, seed=0):
    meddl.set_seed(seed)
    return meddl.Sequential([layers.Input(shape=(6, 6, 1)), *head, layers.Dense(3, activation="softmax")])


def _images(n=10, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 6, 6, 1)).astype(np.float32)


def _probabilities(models, x, tta):
    combined, _ = combine_outputs(member_outputs(models, x, tta=tta, classification=True), classification=True)
    shifted = np.exp(combined - combined.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("tta", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_tta_is_the_mean_probability_over_the_mirrored_images(tta):
    model = _network([layers.Flatten()])  # position-dependent, so mirroring changes its output
    x = _images()
    flips = {"horizontal": [x[:, :, ::-1]], "vertical": [x[:, ::-1]],
             "horizontal_and_vertical": [x[:, :, ::-1], x[:, ::-1], x[:, ::-1, ::-1]]}[tta]
    manual = np.mean([model.predict(np.ascontiguousarray(v)) for v in [x, *flips]], axis=0)
    assert len(flips) == len(TTA_FLIPS[tta])
    np.testing.assert_allclose(_probabilities([model], x, tta), manual, rtol=1e-5, atol=1e-6)
    assert not np.allclose(_probabilities([model], x, "none"), manual, atol=1e-4)
    # two members: each averaged over its views, then over members (the ensemble's rule)
    other = _network([layers.Flatten()], seed=1)
    both = np.mean([_probabilities([m], x, tta) for m in (model, other)], axis=0)
    np.testing.assert_allclose(_probabilities([model, other], x, tta), both, rtol=1e-6, atol=1e-7)


def test_tta_changes_nothing_for_a_mirror_invariant_network_and_none_is_the_raw_output():
    model = _network([layers.GlobalAveragePooling2D()])  # the mean over pixels ignores their order
    x = _images()
    plain = member_outputs([model], x)
    np.testing.assert_array_equal(member_outputs([model], x, tta="none"), plain)
    for tta in ("horizontal", "horizontal_and_vertical"):
        np.testing.assert_allclose(_probabilities([model], x, tta), _probabilities([model], x, "none"),
                                   rtol=1e-5, atol=1e-7)


def test_tta_of_a_regression_network_is_the_mean_output():
    model = meddl.Sequential([layers.Input(shape=(6, 6, 1)), layers.Flatten(), layers.Dense(1)])
    x = _images()
    manual = np.mean([model.predict(np.ascontiguousarray(v)) for v in (x, x[:, :, ::-1])], axis=0)
    np.testing.assert_allclose(member_outputs([model], x, tta="horizontal", classification=False)[0], manual,
                               rtol=1e-5, atol=1e-6)


def test_bad_tta_settings_are_refused_with_the_fix():
    model = _network([layers.Flatten()])
    with pytest.raises(MeddlError, match="'tta' setting must be one of none, horizontal"):
        member_outputs([model], _images(), tta="diagonal")
    with pytest.raises(DataError, match=r"needs a batch of images \(N, height, width, channels\); got an array of "
                                        r"shape \(4, 6\)"):
        member_outputs([model], np.zeros((4, 6), dtype=np.float32), tta="horizontal")
    assert "(2 views)" in describe_tta("horizontal") and "(4 views)" in describe_tta("horizontal_and_vertical")


def test_tta_config_values_and_the_refusal_for_tables(tmp_path):
    images = {"task": "diagnosis", "data": {"source": "medmnist", "path": str(tmp_path / "x.npz")}}
    assert meddl.load_config(images).evaluation.tta == "none"
    assert meddl.load_config({**images, "evaluation": {"tta": False}}).evaluation.tta == "none"
    assert meddl.load_config({**images, "evaluation": {"tta": True}}).evaluation.tta == "horizontal"
    assert meddl.load_config({**images, "evaluation": {"tta": "horizontal_and_vertical"}}).evaluation.tta \
        == "horizontal_and_vertical"
    with pytest.raises(ConfigError, match="evaluation.tta"):
        meddl.load_config({**images, "evaluation": {"tta": "sideways"}})
    table = {"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "t.csv"), "label": "y"}}
    assert meddl.load_config({**table, "evaluation": {"tta": False}}).evaluation.tta == "none"
    with pytest.raises(ConfigError, match=r"evaluation.tta 'horizontal' mirrors images, but data.source 'csv' is a "
                                          r"table.*Remove evaluation.tta"):
        meddl.load_config({**table, "evaluation": {"tta": "horizontal"}})


@pytest.fixture(scope="module")
def tta_run(image_npz, tmp_path_factory):
    config = image_config(image_npz)
    config["evaluation"] = {"n_resamples": 0, "conformal_coverage": 0.9, "tta": "horizontal_and_vertical"}
    return meddl.train(config, out=tmp_path_factory.mktemp("tta") / "run")


def test_a_tta_run_predicts_its_own_test_images_as_it_recorded_them(tta_run, image_npz):
    saved = pd.read_csv(tta_run.path / "predictions_test.csv", dtype={"predicted": str, "prediction_set": str})
    run = meddl.load_run(tta_run.path)
    assert run.tta == "horizontal_and_vertical"
    predicted = run.predict(image_npz)  # the .npz's test split, in order
    for column in ("prob_0", "prob_1"):
        np.testing.assert_allclose(predicted[column], saved[column], rtol=1e-6, atol=1e-7)
    assert predicted["predicted"].astype(str).tolist() == saved["predicted"].astype(str).tolist()
    assert predicted["prediction_set"].tolist() == saved["prediction_set"].fillna("").tolist()
    # ... and differently from the network on the images alone (so the comparison above can fail)
    run.tta = "none"
    assert not np.allclose(run.predict(image_npz)["prob_1"], saved["prob_1"], atol=1e-6)


def test_a_tta_run_records_the_setting_and_refuses_onnx(tta_run):
    info = json.loads((tta_run.path / RunFolder.INFO).read_text())
    assert info["test_time_augmentation"] == "horizontal_and_vertical"
    assert "Test-time augmentation 'horizontal_and_vertical'" in (tta_run.path / RunFolder.LOG).read_text()
    assert "Test-time augmentation" in (tta_run.path / RunFolder.REPORT).read_text()
    with pytest.raises(MeddlError, match=r"evaluation.tta 'horizontal_and_vertical'.*runtime='torch'"):
        export_onnx(tta_run.path)
    assert not (tta_run.path / RunFolder.ONNX).exists()
    with pytest.raises(MeddlError, match="runtime='torch'"):
        meddl.load_run(tta_run.path).predict(np.zeros((2, 16, 16), dtype=np.uint8), runtime="onnx")


def test_run_folders_without_the_setting_predict_without_tta():
    folder = Path(__file__).parent / "fixtures" / "v0_1_0" / "diagnosis"  # written by meddl 0.1.0
    assert "test_time_augmentation" not in json.loads((folder / RunFolder.INFO).read_text())
    assert meddl.load_run(folder).tta == "none"


def test_tta_is_searched_for_images_only_and_off_in_the_untuned_trial(tmp_path):
    images = meddl.load_config({"task": "diagnosis", "data": {"source": "medmnist", "path": str(tmp_path / "x.npz")}})
    dimension = {d.name: d for d in search_space(images)}["evaluation.tta"]
    assert dimension.range.choices == ["none", "horizontal"] and dimension.default == "none"
    assert default_point(search_space(images), "default")["evaluation.tta"] == "none"
    assert meddl.load_config(apply_values(images.to_dict(), {"evaluation.tta": "horizontal"})).evaluation.tta \
        == "horizontal"
    table = meddl.load_config({"task": "diagnosis", "data": {"source": "csv", "path": str(tmp_path / "t.csv"),
                                                             "label": "y"}})
    assert "evaluation.tta" not in {d.name for d in search_space(table)}
