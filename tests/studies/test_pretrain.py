"""Self-supervised pretraining: NT-Xent, the encoder folder, loading it into a supervised run."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

import meddl
from meddl import ConfigError, MeddlError
from meddl.studies.pretrain import PROJECTION_LAYERS, nt_xent_loss
from meddl.models.presets import build_model

from .conftest import image_config, table_config, patient_table


def test_nt_xent_matches_its_definition():
    torch.manual_seed(0)
    z = torch.randn(6, 5)
    n = 3
    unit = F.normalize(z, dim=1)
    expected = 0.0
    for i in range(2 * n):
        partner = (i + n) % (2 * n)
        logits = torch.stack([unit[i] @ unit[j] / 0.5 for j in range(2 * n) if j != i])
        others = [j for j in range(2 * n) if j != i]
        expected += -(logits[others.index(partner)] - torch.logsumexp(logits, 0))
    assert nt_xent_loss(z, 0.5).item() == pytest.approx(expected.item() / (2 * n), rel=1e-5)
    # Two identical views far apart from the other images: near-zero loss; no signal: log(2N - 1).
    views = torch.eye(4).repeat(2, 1) * 10
    assert nt_xent_loss(views, 0.1).item() < 1e-3
    assert nt_xent_loss(torch.ones(8, 3), 0.5).item() == pytest.approx(math.log(7), rel=1e-5)
    with pytest.raises(MeddlError, match="shape \\(2N, features\\)"):
        nt_xent_loss(torch.ones(5, 3))


def test_pretrain_writes_loadable_encoder_weights(pretrained):
    folder, config = pretrained
    assert {"model", "run.json", "config.yaml", "preprocessing.json", "history.csv", "train.log",
            "augmentation_examples.png"} <= {p.name for p in folder.iterdir()}
    info = json.loads((folder / "run.json").read_text())
    assert info["task"] == "pretrain" and info["method"] == "simclr" and info["n_images"] == 64
    assert info["augmentation_policy"] == "strong"
    encoder = meddl.load_model(folder / "model")
    names = [layer.name for layer in encoder.layers]
    assert names[-2:] == list(PROJECTION_LAYERS)
    # The encoder's layer names are exactly the default image preset's, minus its head.
    preset = build_model("default", kind="image", input_shape=(16, 16, 1), n_outputs=2, output_activation="softmax",
                         options={"width": 4})
    assert names[:-2] == [layer.name for layer in preset.layers][:-2]
    assert info["encoder_layers"] == names[:-2]


def test_supervised_run_starts_from_the_pretrained_encoder(pretrained, image_npz, tmp_path):
    folder, _ = pretrained
    config = image_config(image_npz)
    config["model"]["init_from"] = str(folder)
    run = meddl.train(config, out=tmp_path / "run")
    transfer = run.info["transfer"]
    assert transfer["loaded"] == ["stem", "batch_normalization", "residual_block", "residual_block_1",
                                  "residual_block_2"]
    assert transfer["fresh"] == ["output"] and transfer["frozen"] == []
    assert "Initialised 5 layer(s)" in (run.path / "train.log").read_text()
    assert len(run.predict(image_npz)) == 24


def test_pretrain_refuses_tables_and_no_augmentation(tmp_path, image_npz):
    patient_table().to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(ConfigError, match="data.source must hold images"):
        meddl.pretrain(table_config(tmp_path / "t.csv"), out=tmp_path / "p")
    with pytest.raises(ConfigError, match="needs augmentation"):
        meddl.pretrain(image_config(image_npz, augmentation="none"), out=tmp_path / "p")
    with pytest.raises(ConfigError, match="'temperature' parameter of pretrain must be a float > 0. Got 0"):
        meddl.pretrain(image_config(image_npz), out=tmp_path / "p", temperature=0)
    assert not (tmp_path / "p").exists()
