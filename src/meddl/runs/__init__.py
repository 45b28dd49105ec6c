"""Runs: a config in, a run folder out, and a ``Run`` to use it.

:func:`train` asks the config's task plug-in (:mod:`meddl.runs.registry`) to fit and
writes the result through :class:`RunFolder`, the only owner of a run folder's
files; :func:`load_run` reads it back into a :class:`Run`. The built-in tasks:
diagnosis and regression (:mod:`meddl.runs.diagnosis`), survival
(:mod:`meddl.runs.survival`) and treatment (:mod:`meddl.runs.treatment`).
"""

from meddl.runs import diagnosis, survival, treatment  # noqa: F401 - registers the built-in tasks
from meddl.runs.compare import compare_runs
from meddl.runs.config import RunConfig
from meddl.runs.explain import explain_run
from meddl.runs.explain_outcomes import explain_outcome_run
from meddl.runs.export import export_onnx, read_export_report
from meddl.runs.folder import RunFolder, Verification
from meddl.runs.log import RunLog
from meddl.runs.registry import Task, get_task, load_config, register_task, task_names
from meddl.runs.report import rebuild_report, write_report
from meddl.runs.result import FORMAT_VERSION, RunInfo, RunResult
from meddl.runs.run import Run, load_run
from meddl.runs.site_recalibration import SiteRecalibration, recalibrate_run
from meddl.runs.streaming import write_predictions
from meddl.runs.train import train

__all__ = ["FORMAT_VERSION", "Run", "RunConfig", "RunFolder", "RunInfo", "RunLog", "RunResult", "SiteRecalibration",
           "Task", "Verification", "compare_runs", "explain_outcome_run", "explain_run", "export_onnx", "get_task",
           "load_config", "load_run", "read_export_report", "rebuild_report", "recalibrate_run", "register_task",
           "task_names", "train", "write_predictions", "write_report"]
