"""A survival run rescales its Cox log-risk by the slope over follow-up on held-out rows (never the test rows)."""

import json

import numpy as np
import pandas as pd
import pytest

import meddl
from meddl.runs.datasets import PreparedSplits
from meddl.runs.log import RunLog
from meddl.runs.survival import SurvivalConfig
from meddl.runs.survival_calibration import SURVIVAL_CALIBRATION_ALPHA, calibrate_survival_model, fold_members
from meddl.survival import DeepSurv, LinearCox, LogisticHazard, SurvivalEnsemble
from meddl.survival.calibration import calibration_slope_over_follow_up, follow_up_event_times


def cox_data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    eta = 1.2 * x[:, 0] - 0.8 * x[:, 1]
    event_time = rng.exponential(np.exp(-eta))
    censor = rng.exponential(2.0, n)
    return x, np.minimum(event_time, censor), (event_time <= censor).astype(int)


def config(**evaluation):
    return SurvivalConfig.model_validate({"task": "survival", "data": {"source": "csv", "path": "unused.csv"},
                                          "evaluation": evaluation})


def test_fold_members_copy_each_member_with_its_best_epoch_count():
    x, time, event = cox_data()
    ensemble = SurvivalEnsemble(DeepSurv(hidden_units=(8,), epochs=60, early_stopping_patience=3), n_members=2)
    ensemble.fit(x, time, event, validation=0.25)
    copies = fold_members(ensemble)
    assert [c.seed for c in copies] == [m.seed for m in ensemble.members_]
    assert [c.epochs for c in copies] == [m.best_epoch_ for m in ensemble.members_]
    assert all(c.early_stopping_patience is None and not hasattr(c, "network_") for c in copies)
    assert fold_members(LinearCox(epochs=50).fit(x, time, event))[0].epochs == 50  # no early stopping: as it was


def test_cross_fitted_slope_rescales_a_too_moderate_model_without_reading_the_test_rows():
    x, time, event = cox_data(seed=1)
    splits = PreparedSplits(np.arange(0, 240), np.arange(240, 320), np.arange(320, 400), notes=[])
    model = SurvivalEnsemble(LinearCox(l2=1e-3), n_members=2).fit(x[splits.train] * 0.5, time[splits.train],
                                                                  event[splits.train])
    seen = []

    def fold_features(train_rows, held_out_rows):  # the run's preprocessing; here it shrinks the features
        seen.extend([train_rows, held_out_rows])
        return x[train_rows], x[held_out_rows] * 0.5  # fold models fit on x, predict on x / 2: too moderate

    log = RunLog()
    entry = calibrate_survival_model(config(), model=model, splits=splits, duration=time, event=event, groups=None,
                                     x_train=x[splits.train] * 0.5, x_val=x[splits.val] * 0.5, end=1.0,
                                     fold_features=fold_features, log=log)
    assert not np.isin(np.concatenate(seen), splits.test).any()
    assert np.array_equal(np.sort(np.concatenate(seen[1::2])), np.arange(320))  # every development row held out once
    assert entry["method"] == "slope" and entry["fitted_on"]["rows"] == "cross_fitted"
    assert entry["fit"]["slope"] == pytest.approx(2.0, abs=0.5) and entry["fit"]["p_value"] < SURVIVAL_CALIBRATION_ALPHA
    assert entry["factor"] == entry["fit"]["slope"]
    assert all(m.risk_scale_ == entry["factor"] for m in model.members_)
    assert "5-fold out-of-fold predictions on 320 development rows" in entry["fitted_on"]["description"]
    assert any("risk rescaled x" in line for line in log.lines)
    json.dumps(entry)  # it goes to run.json


def test_validation_rows_auto_none_and_models_without_a_log_risk():
    x, time, event = cox_data(seed=2)
    splits = PreparedSplits(np.arange(0, 200), np.arange(200, 400), np.arange(0), notes=[])

    def fold_features(train_rows, held_out_rows):
        raise AssertionError("validation rows need no fold models")

    model = LinearCox(l2=1e-3).fit(x[splits.train], time[splits.train], event[splits.train])
    entry = calibrate_survival_model(config(calibration_rows="validation"), model=model, splits=splits,
                                     duration=time, event=event, groups=None, x_train=x[splits.train],
                                     x_val=x[splits.val], end=1.0, fold_features=fold_features, log=RunLog())
    times = follow_up_event_times(time[splits.val], event[splits.val], 1.0)
    expected = calibration_slope_over_follow_up(time[splits.val], event[splits.val],
                                                LinearCox(l2=1e-3).fit(x[splits.train], time[splits.train],
                                                                       event[splits.train]).predict_survival(
                                                    x[splits.val], times), times)
    assert entry["fit"]["slope"] == pytest.approx(expected["slope"])
    assert entry["fitted_on"]["description"] == "the 200 validation rows"
    assert entry["method"] == ("slope" if expected["p_value"] < SURVIVAL_CALIBRATION_ALPHA else "none")
    assert entry["method"] == "none" and model.risk_scale_ == 1.0  # a well-specified linear model: left as trained
    forced = calibrate_survival_model(config(calibration="slope", calibration_rows="validation"), model=model,
                                      splits=splits, duration=time, event=event, groups=None, x_train=x[splits.train],
                                      x_val=x[splits.val], end=1.0, fold_features=fold_features, log=RunLog())
    assert forced["method"] == "slope" and model.risk_scale_ == pytest.approx(expected["slope"])
    off = calibrate_survival_model(config(calibration="none"), model=model, splits=splits, duration=time,
                                   event=event, groups=None, x_train=None, x_val=None, end=1.0,
                                   fold_features=fold_features, log=RunLog())
    assert off == {"method": "none", "reason": "set by evaluation.calibration"}
    hazard = LogisticHazard(n_intervals=5, hidden_units=(8,), epochs=2).fit(x[splits.train], time[splits.train],
                                                                            event[splits.train])
    entry = calibrate_survival_model(config(calibration="slope", calibration_rows="validation"), model=hazard,
                                     splits=splits, duration=time, event=event, groups=None, x_train=x[splits.train],
                                     x_val=x[splits.val], end=1.0, fold_features=fold_features, log=RunLog())
    assert entry["method"] == "slope" and hazard.risk_scale_ == entry["factor"]

    class Unscalable:  # a model without rescale_risk
        pass

    entry = calibrate_survival_model(config(), model=Unscalable(), splits=splits, duration=time, event=event,
                                     groups=None, x_train=None, x_val=None, end=1.0, fold_features=fold_features,
                                     log=RunLog())
    assert entry == {"method": "none", "reason": "Unscalable has no rescale_risk"}


def test_survival_run_records_the_recalibration_and_its_folder_predicts_with_it(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 2))
    time = rng.exponential(np.exp(-(1.5 * x[:, 0])) * 50)
    censor = rng.exponential(80, 300)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "months": np.minimum(time, censor).round(2),
                          "died": (time <= censor).astype(int)})
    frame.to_csv(tmp_path / "s.csv", index=False)
    run = meddl.train({"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "s.csv"),
                                                    "duration": "months", "event": "died"},
                       "model": {"preset": "linear_cox"}, "training": {"ensemble": 1},
                       "evaluation": {"horizons": [20, 40], "n_resamples": 20, "calibration": "slope"}},
                      out=tmp_path / "run")
    entry = json.loads((tmp_path / "run" / "run.json").read_text())["recalibration"]
    assert entry["method"] == "slope" and entry["fitted_on"]["rows"] == "cross_fitted"
    assert run.model.risk_scale_ == pytest.approx(entry["factor"])
    saved = pd.read_csv(tmp_path / "run" / "predictions_test.csv")
    again = meddl.load_run(tmp_path / "run").predict(frame.drop(columns=["months", "died"]).iloc[
        [int(r) for r in saved["row_id"]]])
    np.testing.assert_allclose(again["survival@20"], saved["survival@20"], rtol=1e-6)
    assert "Survival calibration: risk rescaled x" in (tmp_path / "run" / "train.log").read_text()


def test_many_held_out_rows_fit_the_slope_on_a_seeded_subset(monkeypatch):
    """The slope fit holds a (rows, event times) array: past SLOPE_ROWS rows it takes a random subset."""
    from meddl.runs import survival_calibration

    monkeypatch.setattr(survival_calibration, "SLOPE_ROWS", 90)
    x, time, event = cox_data(seed=4)
    splits = PreparedSplits(np.arange(0, 240), np.arange(240, 320), np.arange(320, 400), notes=[])
    model = LinearCox(l2=1e-3).fit(x[splits.train], time[splits.train], event[splits.train])

    def fold_features(train_rows, held_out_rows):
        return x[train_rows], x[held_out_rows]

    entries = [calibrate_survival_model(config(), model=model, splits=splits,
                                        duration=time, event=event, groups=None, x_train=x[splits.train],
                                        x_val=x[splits.val], end=1.0, fold_features=fold_features, log=RunLog())
               for _ in range(2)]
    assert entries[0]["fit"]["n"] == 90 and entries[0]["fit"] == entries[1]["fit"]  # seeded: the same subset
    assert entries[0]["fitted_on"]["description"] == ("5-fold out-of-fold predictions on 320 development rows "
                                                      "(a random 90 of them fit the slope)")
    monkeypatch.setattr(survival_calibration, "SLOPE_ROWS", 60)
    entry = calibrate_survival_model(config(calibration_rows="validation"), model=model, splits=splits,
                                     duration=time, event=event, groups=None, x_train=x[splits.train],
                                     x_val=x[splits.val], end=1.0, fold_features=fold_features, log=RunLog())
    assert entry["fit"]["n"] == 60
    assert entry["fitted_on"]["description"] == "the 80 validation rows (a random 60 of them fit the slope)"


def test_validation_rows_without_events_leave_the_model_as_trained():
    x, time, event = cox_data(seed=5)
    event = event.copy()
    event[300:] = 0  # no event among the validation rows
    splits = PreparedSplits(np.arange(0, 300), np.arange(300, 400), np.arange(0), notes=[])
    model = LinearCox(l2=1e-3).fit(x[splits.train], time[splits.train], event[splits.train])
    entry = calibrate_survival_model(config(calibration="slope", calibration_rows="validation"), model=model,
                                     splits=splits, duration=time, event=event, groups=None, x_train=x[splits.train],
                                     x_val=x[splits.val], end=1.0, fold_features=None, log=RunLog())
    assert entry["method"] == "none" and "could not be estimated" in entry["reason"] and model.risk_scale_ == 1.0
    json.dumps(meddl.io.json_safe(entry), allow_nan=False)
