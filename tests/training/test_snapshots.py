"""Snapshot ensembles: cosine cycles, one snapshot at the end of each, members of a run."""

import math

import numpy as np
import pandas as pd
import pytest
import torch

import meddl
from meddl import ConfigError
from meddl.layers import Dense
from meddl.training.snapshots import SnapshotCycles

from tests.small_data import patient_table, table_config


def test_the_rate_follows_cosine_cycles_and_restarts():
    cycles = SnapshotCycles(cycles=3, epochs=10)  # cycles of 3, 3 and 4 epochs
    rates = [cycles.learning_rate(epoch, 1.0) for epoch in range(10)]
    assert rates[0] == rates[3] == rates[6] == 1.0
    assert rates[1] == pytest.approx(0.5 * (1 + math.cos(math.pi / 3)))
    assert rates[9] == pytest.approx(0.5 * (1 + math.cos(math.pi * 3 / 4)))
    assert all(rates[i] > rates[i + 1] for i in (0, 1, 3, 4, 6, 7, 8))


def test_one_snapshot_at_the_end_of_each_cycle_and_the_last_is_the_final_weights():
    model = meddl.Sequential([Dense(4, activation="relu"), Dense(1)])
    model.compile(optimizer="adam", learning_rate=0.01, loss="mse")
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    y = x[:, :1] * 2
    cycles = SnapshotCycles(cycles=2, epochs=6)
    history = model.fit(x, y, epochs=6, verbose=0, callbacks=[cycles], seed=0)
    assert len(history.epoch) == 6 and len(cycles.snapshots) == 2
    for name, value in model.state_dict().items():
        torch.testing.assert_close(cycles.snapshots[-1][name], value.detach().cpu())
    assert any(not torch.equal(cycles.snapshots[0][name], cycles.snapshots[1][name]) for name in cycles.snapshots[0])


def test_bad_cycles_and_too_few_epochs_are_refused():
    with pytest.raises(ConfigError, match="'cycles' parameter of SnapshotCycles must be an integer >= 1"):
        SnapshotCycles(cycles=0, epochs=5)
    with pytest.raises(ConfigError, match="needs at least 4 epochs .* Raise training.epochs or lower "
                                          "training.ensemble"):
        SnapshotCycles(cycles=4, epochs=3)


def test_a_snapshot_run_has_one_member_per_cycle_and_predicts_as_it_reported(tmp_path):
    frame = patient_table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    config = table_config(tmp_path / "t.csv", ensemble=3, ensemble_method="snapshots", epochs=9)
    run = meddl.train(config, out=tmp_path / "run")
    assert len(run.members) == 3
    assert run.info["training_recipe"]["ensemble_method"] == "snapshots"
    log = (run.path / "train.log").read_text()
    assert "Snapshot ensemble: 3 members, kept at epochs 3, 6 and 9." in log
    saved = pd.read_csv(run.path / "predictions_test.csv", float_precision="round_trip")
    assert (saved["prob_disease_sd"] > 0).any()  # the snapshots differ
    split = pd.read_csv(run.path / "split.csv")
    predicted = run.predict(frame.loc[split["split"].to_numpy() == "test"])
    np.testing.assert_allclose(predicted["prob_disease"], saved["prob_disease"], rtol=1e-12)


@pytest.mark.parametrize("task", ["survival", "treatment"])
def test_survival_and_treatment_refuse_snapshots(task):
    data = ({"source": "builtin", "name": "gbsg2"} if task == "survival"
            else {"source": "csv", "path": "t.csv", "treatment": "t", "outcome": "y"})
    with pytest.raises(ConfigError, match=r"training.*ensemble_method 'snapshots' is for diagnosis and regression"):
        meddl.load_config({"task": task, "data": data, "training": {"ensemble": 3, "ensemble_method": "snapshots"}})
