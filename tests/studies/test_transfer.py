"""Transfer learning: weights matched by name and shape, clear mismatch errors, frozen layers, learning-rate factors."""

import numpy as np
import pytest
import torch

import meddl
from meddl import ConfigError
from meddl.models.presets import build_model
from meddl.models.transfer import initialise_from, match_weights, read_source_weights

from .conftest import image_config, patient_table, table_config


def image_model(n_outputs=2, width=4, seed=0):
    meddl.set_seed(seed)
    return build_model("default", kind="image", input_shape=(16, 16, 1), n_outputs=n_outputs,
                       output_activation="softmax", options={"width": width})


@pytest.fixture
def source_folder(tmp_path):
    """A saved 3-class model: the same body as the 2-class target, another head."""
    model = image_model(n_outputs=3, seed=7)
    model.save(tmp_path / "source")
    return tmp_path / "source", model


def test_init_from_loads_exactly_the_matching_weights(source_folder):
    folder, source = source_folder
    target = image_model(n_outputs=2, seed=1)
    before = {k: v.clone() for k, v in target.named_weights().items()}
    summary = initialise_from(target, folder)
    assert summary["loaded"] == ["stem", "batch_normalization", "residual_block", "residual_block_1",
                                 "residual_block_2"]
    assert summary["fresh"] == ["output"]
    assert summary["head_mismatch"] == [["output.kernel", [16, 2], [16, 3]], ["output.bias", [2], [3]]]
    source_weights = source.named_weights()
    match = match_weights(image_model(), source_weights)
    assert match.mismatched_layers() == ["output"] and match.not_in_source == []
    assert set(match.weights) == {k for k in source_weights if not k.startswith("output.")}
    for key, value in target.named_weights().items():
        if key.startswith("output."):
            assert torch.equal(value, before[key])           # the head keeps its fresh initialisation
        else:
            assert torch.equal(value, source_weights[key])   # everything else is the source's, bit for bit


def test_mismatches_are_listed_with_both_shapes(source_folder, tmp_path):
    folder, _ = source_folder
    wider = image_model(width=8)
    with pytest.raises(ConfigError) as error:
        initialise_from(wider, folder)
    message = str(error.value)
    assert "stem.kernel: wanted (8, 1, 3, 3), found (4, 1, 3, 3)" in message
    assert "residual_block_2.conv1.kernel: wanted (32, 16, 3, 3), found (16, 8, 3, 3) (+14 more weight(s))" in message
    table = build_model("default", kind="table", input_shape=(5,), n_outputs=2, output_activation="softmax")
    with pytest.raises(ConfigError, match="no layer of the model matches .* The model's layers: \\['dense', 'dropout'"):
        initialise_from(table, folder)
    with pytest.raises(ConfigError, match="neither a run folder"):
        read_source_weights(tmp_path / "nothing")


def test_freeze_errors_name_the_layer(source_folder):
    folder, _ = source_folder
    with pytest.raises(ConfigError, match="layer\\(s\\) \\['residual_blok'\\] are not in the model. Did you mean "
                                          "'residual_block'"):
        initialise_from(image_model(), folder, freeze=["residual_blok"])
    with pytest.raises(ConfigError, match="\\['output'\\] were not loaded .* output.kernel: wanted \\(16, 2\\), "
                                          "found \\(16, 3\\) \\(\\+1 more"):
        initialise_from(image_model(), folder, freeze=["stem", "output"])
    with pytest.raises(ConfigError, match="'freeze' .* needs 'init_from'"):
        meddl.load_config({"task": "diagnosis", "data": {"source": "csv", "path": "x.csv"},
                           "model": {"freeze": "all_but_head"}})


def test_pretrained_layers_get_a_lower_learning_rate(source_folder):
    folder, _ = source_folder
    model = image_model()
    initialise_from(model, folder, freeze=["stem"], learning_rate_factor=0.1)
    assert set(model.learning_rate_factors) == {"batch_normalization", "residual_block", "residual_block_1",
                                                "residual_block_2"}
    model.compile(optimizer="adam", learning_rate=0.01, loss="sparse_categorical_crossentropy")
    groups = model.parameter_groups()
    by_lr = {round(g["lr"], 6): sum(p.numel() for p in g["params"]) for g in groups}
    head = sum(p.numel() for p in model.layers[-1].parameters())
    assert by_lr[0.01] == head                                   # only the new head learns at full rate
    assert by_lr[0.001] == sum(p.numel() for p in model.parameters() if p.requires_grad) - head
    assert not any(p.requires_grad for p in model.layers[0].parameters())   # the frozen stem is not optimised


def test_frozen_layers_are_unchanged_after_training(pretrained, image_npz, tmp_path):
    folder, _ = pretrained
    config = image_config(image_npz, epochs=2)
    config["model"].update(init_from=str(folder), freeze="all_but_head", pretrained_learning_rate_factor=0.5)
    run = meddl.train(config, out=tmp_path / "run")
    source = meddl.load_model(folder / "model").named_weights()
    trained = run.model.named_weights()
    frozen = run.info["transfer"]["frozen"]
    assert frozen == ["stem", "batch_normalization", "residual_block", "residual_block_1", "residual_block_2"]
    checked = [k for k in trained if k.split(".", 1)[0] in frozen]
    assert any("moving_mean" in k for k in checked)                 # batch-norm statistics included
    for key in checked:
        assert torch.equal(trained[key], source[key]), key
    fresh = image_model()
    assert not torch.equal(trained["output.kernel"], fresh.named_weights()["output.kernel"])


def test_supervised_pretraining_on_a_related_table(tmp_path):
    related = patient_table(seed=3)
    related.to_csv(tmp_path / "related.csv", index=False)
    source = meddl.train(table_config(tmp_path / "related.csv"), out=tmp_path / "source")
    patient_table(seed=4).to_csv(tmp_path / "t.csv", index=False)
    config = table_config(tmp_path / "t.csv", epochs=2)
    config["model"] = {"init_from": str(source.path), "freeze": ["dense"]}
    run = meddl.train(config, out=tmp_path / "run")
    assert run.info["transfer"]["loaded"] == ["dense", "dense_1", "output"]
    np.testing.assert_array_equal(run.model.named_weights()["dense.kernel"].numpy(),
                                  source.model.named_weights()["dense.kernel"].numpy())
    assert not np.array_equal(run.model.named_weights()["dense_1.kernel"].numpy(),
                              source.model.named_weights()["dense_1.kernel"].numpy())
