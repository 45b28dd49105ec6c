"""``meddl compare RUN_A RUN_B``: do two runs differ on the same test cases? (paired DeLong / bootstrap)"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from meddl.errors import DataError, ModelFileError
from meddl.evaluation import compare_predictions
from meddl.runs.folder import RunFolder
from meddl.runs.report import read_report_inputs

__all__ = ["compare_runs"]


def compare_runs(run_dir_a: str | Path, run_dir_b: str | Path, *, split: str = "test", n_resamples: int = 1000,
                 seed: int = 0, groups_column: str | None = "patient_id") -> dict:
    """Compare two run folders on the cases they were both tested on (``meddl compare RUN_A RUN_B``).

    Reads ``predictions_<split>.csv`` and ``run.json`` of each run, matches the
    rows by ``row_id`` and calls :func:`compare_predictions` with each run's own
    threshold. Rows are resampled by ``groups_column`` when run A's predictions
    have that column (patient ids).

    Raises:
        ModelFileError: a run folder lacks the predictions file, or differs from its manifest.
        DataError: a run is neither a diagnosis nor a regression run, the runs are of different problem types,
            or they were not tested on the same cases.
    """
    folders = [RunFolder(run_dir_a), RunFolder(run_dir_b)]
    for folder in folders:  # an edited predictions file would be compared without a word
        folder.require().check_integrity()
    runs = [read_report_inputs(folder) for folder in folders]
    for run in runs:
        if split not in run.predictions and RunFolder(run.run_dir).predictions_file(split).is_file():
            # read_report_inputs decodes the predictions of class and value problems only
            raise DataError(f"meddl compare compares diagnosis and regression runs (their predicted classes or "
                            f"values); '{run.run_dir}' is a {run.run.get('task') or 'different'} run.")
        if split not in run.predictions:
            raise ModelFileError(f"{run.run_dir} has no predictions_{split}.csv to compare.")
    a, b = (run.predictions[split] for run in runs)
    if a.problem != b.problem or a.class_names != b.class_names:
        raise DataError(f"The runs predict different things: {a.problem} {a.class_names} versus "
                        f"{b.problem} {b.class_names}.")
    ids_a = a.frame["row_id"].astype(str).to_numpy()
    ids_b = b.frame["row_id"].astype(str).to_numpy()
    position_b = {row_id: i for i, row_id in enumerate(ids_b)}
    missing = [row_id for row_id in ids_a if row_id not in position_b]
    if missing or len(ids_a) != len(ids_b):
        raise DataError(f"The runs were not tested on the same cases: {len(missing)} row_id(s) of run A are not in "
                        f"run B (e.g. {missing[:3]}), and the files have {len(ids_a)} and {len(ids_b)} rows.")
    order = np.array([position_b[row_id] for row_id in ids_a])
    if not np.array_equal(a.y, b.y[order]):
        raise DataError("The runs disagree on y_true for the same row_id; they were not tested on the same labels.")

    def scores(p):
        if p.proba is None:
            return p.predicted
        return p.proba[:, 1] if p.problem == "binary" else p.proba

    thresholds = [run.run.get("threshold") or 0.5 for run in runs]
    groups = a.frame[groups_column].to_numpy() if groups_column and groups_column in a.frame.columns else None
    result = compare_predictions(a.y, scores(a), scores(b)[order], thresholds[0], thresholds[1], task=a.problem,
                                 class_names=a.class_names or None, groups=groups, n_resamples=n_resamples, seed=seed)
    result["runs"] = [str(run.run_dir) for run in runs]
    return result
