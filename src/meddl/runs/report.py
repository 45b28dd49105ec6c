"""The report of a run folder: read what the report needs, build the page, write ``report.html``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from meddl.errors import ModelFileError
from meddl.io import atomic_write_text
from meddl.report import RunFiles, build_report, decode_predictions
from meddl.runs.folder import RunFolder
from meddl.runs.registry import task_keeps_history
from meddl.sections import Section

__all__ = ["read_report_inputs", "write_report", "rebuild_report"]


def read_report_inputs(folder: RunFolder) -> RunFiles:
    """run.json, metrics.json, the history and the predictions of a run folder; absent files are listed."""
    if not folder.path.is_dir():
        raise ModelFileError(f"Run folder '{folder.path}' does not exist or is not a folder.")
    missing: list[str] = []
    info, metrics = {}, {}
    for name in (RunFolder.INFO, RunFolder.METRICS):
        if folder.file(name).is_file():
            (info if name == RunFolder.INFO else metrics).update(folder.read_info() if name == RunFolder.INFO
                                                                  else folder.read_metrics())
        else:
            missing.append(name)
    history = folder.read_history()
    recorded = folder.recorded_files()  # None for folders without a manifest: then every file is expected
    if history is None and (RunFolder.HISTORY in recorded if recorded is not None
                            else task_keeps_history(info.get("task"))):
        missing.append(RunFolder.HISTORY)  # models not trained epoch by epoch (survival, treatment) have none
    problem = info.get("problem") or ""
    class_names = [str(c) for c in info.get("class_names") or []]
    predictions = {}
    if problem in ("binary", "multiclass", "regression"):  # survival and treatment runs bring sections of their own
        for split in ("test", "val"):
            frame = folder.read_predictions(split)
            if frame is None:
                missing.append(folder.predictions_file(split).name)
            else:
                predictions[split] = decode_predictions(frame, problem, class_names,
                                                        source=str(folder.predictions_file(split)))
    return RunFiles(run_dir=folder.path, run=info, metrics=metrics, history=history, predictions=predictions,
                    missing=missing, sections=folder.read_sections())


def write_report(folder: RunFolder, extra_sections: Sequence[Section] = ()) -> Path:
    """Build the report of ``folder`` and write it as its ``report.html`` (atomically)."""
    path = folder.file(RunFolder.REPORT)
    atomic_write_text(path, build_report(read_report_inputs(folder), extra_sections=extra_sections))
    return path


def rebuild_report(run_dir: str | Path) -> Path:
    """``meddl report RUN``: rebuild a run folder's ``report.html`` from its files.

    Only a run folder (one with ``run.json``) whose files are the ones its manifest records: a report is
    never written into another folder (over a ``report.html`` of the user's), nor from altered numbers.
    """
    folder = RunFolder(run_dir)
    if not folder.path.is_dir():
        raise ModelFileError(f"Run folder '{folder.path}' does not exist or is not a folder.")
    folder.require()
    folder.check_integrity()
    return write_report(folder)
