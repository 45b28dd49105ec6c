"""The ``RunResult`` of a task trained on one clinical table (survival, treatment): the parts they share.

Both tasks write the same data summary (source, rows, split sizes, missingness, plus their own counts:
events or treated patients), the input schema, the training rows' input profile and ``split.csv``; only
the model, metrics, predictions, report sections and their own ``run.json`` keys differ.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from meddl.runs.config import RunConfig
from meddl.runs.datasets import LoadedData, PreparedSplits, missingness, split_labels, table_schema
from meddl.runs.input_profile import input_profile_files
from meddl.runs.model_size import count_parameters
from meddl.runs.result import RunInfo, RunResult

__all__ = ["table_run_result"]


def table_run_result(config: RunConfig, data: LoadedData, splits: PreparedSplits, preprocessor: Any, *,
                     problem: str, model: Any, model_name: str, members: int, metrics: dict[str, Any],
                     predictions: dict[str, pd.DataFrame], sections: list, counts: dict[str, dict[str, np.ndarray]],
                     details: dict[str, Any], seed: int, label: str | None = None) -> RunResult:
    """Assemble the run of a table task.

    Args:
        counts: per-split indicator arrays summed into the data summary, e.g. ``{"events": {"train": e, ...}}``.
        details: the task's own ``run.json`` keys.
    """
    summary = {"source": data.source, "n_rows": int(len(data)),
               "split_sizes": {name: int(len(rows)) for name, rows in splits.items()}}
    summary.update({name: {split: int(np.sum(values)) for split, values in by_split.items()}
                    for name, by_split in counts.items()})
    summary["missingness"] = missingness(data.features)
    info = RunInfo(task=config.task, problem=problem, label=label, input=table_schema(data.features, preprocessor),
                   data_summary=summary, model={"preset": model_name, "ensemble": members,
                                                "n_parameters": count_parameters(model)},
                   seed=seed, details=details)
    return RunResult(config=config, info=info, model=model, preprocessor=preprocessor, metrics=metrics,
                     predictions=predictions, sections=sections,
                     extra_files=input_profile_files(data.features.iloc[splits.train], preprocessor),
                     split=pd.DataFrame({"row_id": data.row_ids, "split": split_labels(len(data), splits)}))
