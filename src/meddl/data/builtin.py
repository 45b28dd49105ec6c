"""Small public medical tables that ship with scikit-learn and scikit-survival.

They need no download, so examples and tests can run anywhere:

========================  ============  =============================================
name                      task          source
========================  ============  =============================================
wisconsin-breast-cancer   diagnosis     ``sklearn.datasets.load_breast_cancer``
diabetes-progression      regression    ``sklearn.datasets.load_diabetes(scaled=False)``
gbsg2                     survival      ``sksurv.datasets.load_gbsg2``
whas500                   survival      ``sksurv.datasets.load_whas500``
veterans-lung-cancer      survival      ``sksurv.datasets.load_veterans_lung_cancer``
aids                      survival      ``sksurv.datasets.load_aids`` (endpoint: AIDS diagnosis)
flchain                   survival      ``sksurv.datasets.load_flchain``
========================  ============  =============================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes

from meddl.errors import import_optional
from meddl.errors import ConfigError, unknown_name_error

__all__ = ["BuiltinDataset", "load_builtin", "BUILTIN_DATASETS"]


@dataclass
class BuiltinDataset:
    """A built-in table and what its columns mean.

    Attributes:
        name: The name it was loaded by.
        frame: Features plus target column(s).
        task: ``"classification"``, ``"regression"`` or ``"survival"``.
        label_column: Target column for classification/regression, else ``None``.
        class_names: Class name of each integer label (index = label), for classification.
        duration_column, event_column: Survival target columns (``event``: 1 = event, 0 = censored).
        feature_columns: All other columns.
        description: One paragraph on the data and its target.
    """

    name: str
    frame: pd.DataFrame
    task: str
    label_column: str | None = None
    class_names: list[str] | None = None
    duration_column: str | None = None
    event_column: str | None = None
    feature_columns: list[str] = field(default_factory=list)
    description: str = ""


def _wisconsin() -> BuiltinDataset:
    bunch = load_breast_cancer(as_frame=True)
    frame = bunch.frame.rename(columns={"target": "diagnosis"})
    frame["diagnosis"] = frame["diagnosis"].astype(np.int64)
    return BuiltinDataset(
        name="wisconsin-breast-cancer",
        frame=frame,
        task="classification",
        label_column="diagnosis",
        class_names=[str(n) for n in bunch.target_names],  # ['malignant', 'benign']
        feature_columns=list(bunch.feature_names),
        description=(
            "Breast Cancer Wisconsin (Diagnostic): 569 fine-needle aspirates, 30 nuclear features. "
            "Label 'diagnosis' keeps scikit-learn's coding: 0 = malignant, 1 = benign."
        ),
    )


def _diabetes() -> BuiltinDataset:
    bunch = load_diabetes(as_frame=True, scaled=False)
    frame = bunch.frame.rename(columns={"target": "progression"})
    return BuiltinDataset(
        name="diabetes-progression",
        frame=frame,
        task="regression",
        label_column="progression",
        feature_columns=list(bunch.feature_names),
        description=(
            "Diabetes (Efron et al. 2004): 442 patients, 10 baseline variables in original units; "
            "target 'progression' is a quantitative measure of disease progression one year later."
        ),
    )


def _survival(loader_name: str, name: str, description: str, drop=(), **kwargs) -> BuiltinDataset:
    datasets = import_optional("sksurv.datasets", f"Loading the built-in dataset {name!r}")
    features, target = getattr(datasets, loader_name)(**kwargs)
    features = features.drop(columns=list(drop))
    event_field = next(f for f in target.dtype.names if target.dtype[f] == np.bool_)
    time_field = next(f for f in target.dtype.names if f != event_field)
    frame = features.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype) or frame[column].dtype == object:
            frame[column] = frame[column].astype(object).map(lambda v: v if pd.isna(v) else str(v))
    frame["duration"] = np.asarray(target[time_field], dtype=np.float64)
    frame["event"] = np.asarray(target[event_field], dtype=np.int64)
    return BuiltinDataset(
        name=name,
        frame=frame,
        task="survival",
        duration_column="duration",
        event_column="event",
        feature_columns=list(features.columns),
        description=description,
    )


_LOADERS = {
    "wisconsin-breast-cancer": _wisconsin,
    "diabetes-progression": _diabetes,
    "gbsg2": lambda: _survival(
        "load_gbsg2", "gbsg2",
        "German Breast Cancer Study Group 2: 686 node-positive patients; recurrence-free survival in days.",
    ),
    "whas500": lambda: _survival(
        "load_whas500", "whas500",
        "Worcester Heart Attack Study: 500 patients after myocardial infarction; survival in days.",
    ),
    "veterans-lung-cancer": lambda: _survival(
        "load_veterans_lung_cancer", "veterans-lung-cancer",
        "Veterans' Administration lung cancer trial: 137 patients; survival in days.",
    ),
    "aids": lambda: _survival(
        "load_aids", "aids",
        "AIDS Clinical Trial (ACTG 320): 1,151 patients; time in days to an AIDS diagnosis or death "
        "(scikit-survival's endpoint='aids').",
        endpoint="aids",
    ),
    "flchain": lambda: _survival(
        "load_flchain", "flchain",
        "Serum free light chain study (Olmsted County): 7,874 residents; survival in days. The "
        "'chapter' column (cause of death, known only for those who died) is dropped: it would "
        "leak the outcome.",
        drop=("chapter",),
    ),
}

#: Names accepted by :func:`load_builtin`.
BUILTIN_DATASETS = tuple(_LOADERS)


def load_builtin(name: str) -> BuiltinDataset:
    """Load a built-in table by name (see :data:`BUILTIN_DATASETS`).

    Categorical columns of the survival sets are plain strings (missing stays
    NaN); ``duration`` (float) and ``event`` (0/1) columns are added.

    Raises:
        ConfigError: for an unknown name, with a did-you-mean suggestion.

    Example:
        >>> data = load_builtin("gbsg2")
        >>> data.duration_column, data.event_column, len(data.frame)
        ('duration', 'event', 686)
    """
    return _LOADERS[builtin_key(name)]()


def builtin_key(name: str, kind: str = "built-in dataset") -> str:
    """The built-in dataset ``name`` means (case, spaces and ``_`` for ``-`` forgiven), or a ConfigError.

    >>> builtin_key(" Wisconsin_Breast_Cancer")
    'wisconsin-breast-cancer'
    """
    if not isinstance(name, str):
        raise ConfigError(f"Dataset name must be a string. Got {name!r} instead.")
    key = name.strip().lower().replace("_", "-")
    if key not in _LOADERS:
        raise unknown_name_error(kind, name, BUILTIN_DATASETS, error_class=ConfigError)
    return key
