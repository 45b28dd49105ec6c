"""A new task is one file: a toy task defined here trains, saves, loads and predicts through meddl's own code."""

from __future__ import annotations

import json
from typing import Any, Literal

import pandas as pd
import pytest

import meddl
from meddl.errors import ConfigError, MeddlError
from meddl.runs import RunFolder, RunInfo, RunResult, Task, register_task
from meddl.runs.config import DataConfig, RunConfig


class MeanModel:
    """Predicts the training mean of the label, whatever the input (the simplest model there is)."""

    def __init__(self, mean: float = 0.0):
        self.mean = mean

    def save(self, path) -> None:
        path.mkdir()
        (path / "mean.json").write_text(json.dumps({"mean": self.mean}))


class ToyData(DataConfig):
    source: Literal["csv"]
    label: str


class ToyConfig(RunConfig):
    task: Literal["toy-mean"]
    data: ToyData


@register_task
class ToyTask(Task):
    name = "toy-mean"
    config_class = ToyConfig
    predicts = "the training mean"

    def fit(self, config, *, log):
        frame = pd.read_csv(config.data.path)
        mean = float(frame[config.data.label].mean())
        log(f"Mean of {config.data.label}: {mean:.3f}.")
        info = RunInfo(task=self.name, input={"kind": "table", "columns": []},
                       data_summary={"source": config.data.path, "n_rows": len(frame)},
                       model={"preset": "mean"}, seed=config.training.seed, details={"mean": mean})
        predictions = {"test": pd.DataFrame({"row_id": frame.index.astype(str), "predicted": mean})}
        return RunResult(config=config, info=info, model=MeanModel(mean), metrics={"test": {"n": len(frame)}},
                         predictions=predictions, split=pd.DataFrame({"row_id": frame.index, "split": "test"}))

    def load_model(self, folder, info):
        return MeanModel(json.loads((folder.model_dir / "mean.json").read_text())["mean"])

    def predict(self, run, data: Any, **options):
        frame = pd.DataFrame(data)
        return pd.DataFrame({"row_id": frame.index.astype(str), "predicted": run.model.mean})


@pytest.fixture()
def toy_csv(tmp_path):
    path = tmp_path / "scores.csv"
    pd.DataFrame({"age": [50, 60, 70, 80], "score": [1.0, 2.0, 3.0, 6.0]}).to_csv(path, index=False)
    return path


def test_a_task_defined_outside_meddl_trains_saves_loads_and_predicts(toy_csv, tmp_path):
    run = meddl.train({"task": "toy-mean", "data": {"source": "csv", "path": str(toy_csv), "label": "score"}},
                      out=tmp_path / "run")
    assert run.task == "toy-mean" and run.model.mean == pytest.approx(3.0)
    again = meddl.load_run(tmp_path / "run")
    assert again.predict({"age": [55, 65]})["predicted"].tolist() == [3.0, 3.0]
    assert again.info["mean"] == pytest.approx(3.0) and again.info["format_version"] >= 2
    assert RunFolder(tmp_path / "run").verify().ok
    assert (tmp_path / "run" / "report.html").is_file()


def test_the_toy_task_says_what_it_does_not_offer(toy_csv, tmp_path):
    run = meddl.train({"task": "toy-mean", "data": {"source": "csv", "path": str(toy_csv), "label": "score"}},
                      out=tmp_path / "run")
    with pytest.raises(MeddlError, match=r"Run.recommend \(meddl recommend\) is not available for 'toy-mean' runs; "
                                         r"they offer Run.predict \(meddl predict\)"):
        run.recommend({"age": [55]})
    with pytest.raises(MeddlError, match=r"Run.recalibrate \(meddl recalibrate\) is not available for 'toy-mean' runs"):
        meddl.runs.recalibrate_run(run.path, {"age": [55]}, tmp_path / "site")
    assert not (tmp_path / "site").exists()


def test_the_toy_tasks_config_is_checked_with_its_own_class(toy_csv):
    with pytest.raises(ConfigError, match="data.label: this key is required"):
        meddl.load_config({"task": "toy-mean", "data": {"source": "csv", "path": str(toy_csv)}})
    with pytest.raises(ConfigError, match="Unknown task 'toy-maen'.*Did you mean 'toy-mean'"):
        meddl.load_config({"task": "toy-maen", "data": {"source": "csv", "path": str(toy_csv)}})


def test_a_task_class_without_a_name_or_config_is_refused():
    class Nameless(Task):
        config_class = ToyConfig

    with pytest.raises(MeddlError, match="needs a 'name'"):
        register_task(Nameless)

    class NoConfig(Task):
        name = "no-config"

    with pytest.raises(MeddlError, match="needs a 'config_class'"):
        register_task(NoConfig)
