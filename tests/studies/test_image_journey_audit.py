"""Pretraining on a clinician's DICOM: what the 2026-12-02 image journey audit found."""

import json

import meddl
from tests.runs.test_image_journey_audit import ct_folder, dicom_config


def test_pretraining_on_windowed_dicom_keeps_the_window_as_the_supervised_run_does(tmp_path):
    config = dicom_config(ct_folder(tmp_path / "ct"), window=[40, 400])
    folder = meddl.pretrain(config, tmp_path / "simclr", epochs=1, batch_size=8)
    assert json.loads((folder / "preprocessing.json").read_text())["scaling"] == "none"
