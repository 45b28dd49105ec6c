"""Treatment and survival runs name the user's columns in their data errors, not the models' internal 't'/'event'."""

import numpy as np
import pytest

import meddl
from meddl.errors import DataError
from tests.runs.test_prognosis_treatment import survival_table, treatment_table

FAST_EFFECT = {"representation_units": [8], "head_units": [4], "max_epochs": 2}


def _treatment_run(tmp_path, table, **data):
    table.to_csv(tmp_path / "t.csv", index=False)
    return meddl.train({"task": "treatment", "data": {"source": "csv", "path": str(tmp_path / "t.csv"),
                                                      "treatment": "got_drug", **data},
                        "model": {"preset": "tarnet", "options": FAST_EFFECT}, "training": {"ensemble": 1},
                        "evaluation": {"n_resamples": 10}}, out=tmp_path / "run")


@pytest.mark.parametrize("n_treated, split", [(1, "training"), (6, "validation")])
def test_too_few_treated_patients_names_the_treatment_column(tmp_path, n_treated, split):
    table = treatment_table(n=300).rename(columns={"treated": "got_drug"})
    table["got_drug"] = 0
    table.loc[table.index[:n_treated], "got_drug"] = 1
    with pytest.raises(DataError) as caught:
        _treatment_run(tmp_path, table, outcome="score")
    message = str(caught.value)
    assert message.startswith("Treatment column 'got_drug' (data.treatment) has too few treated patients in the "
                              f"{split} split"), message
    assert "'t'" not in message and "cross_fit_nuisances" not in message


def test_no_events_names_the_event_column_of_a_survival_run(tmp_path):
    survival_table(n=120).rename(columns={"died": "deceased"}).assign(deceased=0).to_csv(tmp_path / "s.csv",
                                                                                            index=False)
    with pytest.raises(DataError) as caught:
        meddl.train({"task": "survival", "data": {"source": "csv", "path": str(tmp_path / "s.csv"),
                                                  "duration": "months", "event": "deceased"},
                     "model": {"preset": "deepsurv", "options": {"hidden_units": [4], "epochs": 1}},
                     "training": {"ensemble": 1}, "evaluation": {"n_resamples": 10}}, out=tmp_path / "run")
    message = str(caught.value)
    assert message.startswith("Event column 'deceased' (data.event) has no events: none of the 120 patients"), message
    assert "'event'" not in message


def test_no_events_names_the_event_column_of_a_time_to_event_treatment_run(tmp_path):
    table = treatment_table(n=200).rename(columns={"treated": "got_drug"}).drop(columns="score")
    table.assign(months=np.linspace(1, 50, len(table)), deceased=0).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError, match=r"^Event column 'deceased' \(data.event\) has no events"):
        meddl.train({"task": "treatment", "data": {"source": "csv", "path": str(tmp_path / "t.csv"),
                                                   "treatment": "got_drug", "duration": "months",
                                                   "event": "deceased"},
                     "model": {"preset": "survival_recommender", "options": {"hidden_units": [4], "epochs": 1}},
                     "training": {"ensemble": 1}, "evaluation": {"n_resamples": 10}}, out=tmp_path / "run")


def test_a_training_split_without_events_says_how_many_the_data_has():
    from meddl.runs.survival_evaluation import check_training_events

    with pytest.raises(DataError, match=r"the training split's 3 patients are all censored \(the data has only 1 "
                                        r"event\)"):
        check_training_events(np.array([0, 0, 0, 1]), np.array([0, 0, 0]), "deceased", "data.event")
