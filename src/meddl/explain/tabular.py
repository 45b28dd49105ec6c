"""Tables: the reference patient (baseline) and attributions summed back to the original columns.

A table model sees preprocessed features: standardised numbers, one-hot
levels, missing-value indicators. A clinician thinks in the original columns,
so :func:`group_attributions` sums the attributions of every feature made from
a column (``sex=female``, ``sex=male``, ``sex_missing`` -> ``sex``) using the
preprocessor's ``source_columns_``. Because attributions are additive (the
Integrated Gradients of a row sum to ``f(x) - f(baseline)``), the column sums
keep that property.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from meddl.errors import ConfigError, DataError, NotFittedError
from meddl.errors import unknown_name_error

__all__ = ["TableBaseline", "table_baseline", "group_attributions", "TABLE_BASELINES"]

TABLE_BASELINES = ("mean", "median")


@dataclass
class TableBaseline:
    """The reference patient attributions are measured against.

    Attributes:
        kind: ``"mean"``, ``"median"`` or ``"custom"``.
        features: the reference as a preprocessed feature vector ``(n_features_out_,)``.
        values: the reference in original units, one entry per input column.
        description: one sentence for reports.

    Example:
        >>> import numpy as np
        >>> TableBaseline("custom", np.zeros(2), {"age": 60}).to_dict()["values"]
        {'age': 60}
    """

    kind: str
    features: np.ndarray
    values: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "description": self.description, "values": dict(self.values),
                "features": [float(v) for v in self.features]}


def _check_preprocessor(preprocessor: Any, owner: str) -> None:
    if not hasattr(preprocessor, "source_columns_") or not hasattr(preprocessor, "transform"):
        raise NotFittedError(f"{owner} needs a fitted TabularPreprocessor (with source_columns_); got "
                             f"{type(preprocessor).__name__}. Fit it first, or use a run loaded with meddl.load_run.")


def table_baseline(preprocessor: Any, baseline: str | Mapping[str, Any] | pd.DataFrame = "mean") -> TableBaseline:
    """The reference patient for a fitted ``TabularPreprocessor``.

    Args:
        preprocessor: the run's fitted :class:`~meddl.data.TabularPreprocessor`.
        baseline: ``"mean"`` (default): all features zero in the standardised
            space -- numeric columns at their training mean, no one-hot level
            and no missing-value indicator set: the mean patient of the model's
            feature space (not a real patient; every column of a patient then
            gets its share, categorical ones included). ``"median"``: every
            numeric column at its training median and every categorical column
            at its most frequent level, nothing missing -- a typical real
            patient (a column at that value gets no attribution). A dict or
            one-row DataFrame of original values: that patient; columns left
            out take the ``"median"`` values.

    Returns:
        A :class:`TableBaseline`.

    Example:
        >>> import pandas as pd
        >>> from meddl.data import TabularPreprocessor
        >>> prep = TabularPreprocessor().fit(pd.DataFrame({"age": [50, 60, 90], "sex": ["f", "m", "m"]}))
        >>> ref = table_baseline(prep, "median")
        >>> ref.values, ref.features.round(3).tolist()
        ({'age': 60.0, 'sex': 'm'}, [-0.392, 0.0, 1.0])
    """
    owner = "table_baseline"
    _check_preprocessor(preprocessor, owner)
    median_values = {**{c: float(preprocessor.medians_[c]) for c in preprocessor.numeric_columns_},
                     **{c: preprocessor.most_frequent_[c] for c in preprocessor.categorical_columns_}}
    ordered = {c: median_values[c] for c in preprocessor.input_columns_}
    if isinstance(baseline, str):
        if baseline == "median":
            features = preprocessor.transform(pd.DataFrame([ordered]))[0]
            return TableBaseline("median", features.astype(np.float64), ordered,
                                 "a typical training patient: numeric columns at their training median, categorical "
                                 "columns at their most frequent level, nothing missing")
        if baseline == "mean":
            values = {c: (float(preprocessor.means_[c]) if c in preprocessor.means_ else None)
                      for c in preprocessor.input_columns_}
            return TableBaseline("mean", np.zeros(preprocessor.n_features_out_), values,
                                 "all features zero in the standardised space: numeric columns at their training "
                                 "mean, no category level and no missing-value indicator set")
        raise unknown_name_error("table baseline", baseline, TABLE_BASELINES, error_class=ConfigError)
    if isinstance(baseline, pd.DataFrame):
        if len(baseline) != 1:
            raise DataError(f"The 'baseline' parameter of {owner} must be one patient (a dict or a one-row "
                            f"DataFrame). Got a DataFrame with {len(baseline)} rows instead.")
        given = baseline.iloc[0].to_dict()
    elif isinstance(baseline, Mapping):
        given = dict(baseline)
    else:
        raise ConfigError(f"The 'baseline' parameter of {owner} must be 'median', 'mean', a dict or a one-row "
                          f"DataFrame of original column values. Got {type(baseline).__name__} instead.")
    unknown = sorted(str(c) for c in given if c not in ordered)
    if unknown:
        raise DataError(f"The 'baseline' parameter of {owner} names columns the model does not use: {unknown}. "
                        f"Model columns: {list(ordered)}.")
    values = {**ordered, **{str(k): v for k, v in given.items()}}
    features = preprocessor.transform(pd.DataFrame([values]))[0]  # validates values like predict does
    return TableBaseline("custom", features.astype(np.float64), values,
                         "a given reference patient (" + ", ".join(f"{k}={v}" for k, v in given.items())
                         + "); other columns at the training median / most frequent level")


def group_attributions(attributions: Any, source_columns: Sequence[str], *,
                       columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Sum feature attributions ``(n, n_features)`` into one column per original column.

    Args:
        attributions: per-feature attributions, one row per patient.
        source_columns: for each feature, the original column it came from
            (a preprocessor's ``source_columns_``).
        columns: order of the output columns (default: first appearance in
            ``source_columns``); must list every source column once.

    Returns:
        A DataFrame ``(n, n_columns)``.

    Example:
        >>> group_attributions([[0.5, 0.25, -0.5, 0.125]], ["age", "sex", "sex", "age"]).to_dict("records")
        [{'age': 0.625, 'sex': -0.25}]
    """
    owner = "group_attributions"
    values = np.asarray(attributions, dtype=np.float64)
    if values.ndim == 1:
        values = values[None]
    sources = [str(s) for s in source_columns]
    if values.ndim != 2 or values.shape[1] != len(sources):
        raise DataError(f"The 'attributions' parameter of {owner} must have shape (n, {len(sources)}), one value per "
                        f"feature in source_columns. Got shape {values.shape} instead.")
    order = list(dict.fromkeys(sources)) if columns is None else [str(c) for c in columns]
    if sorted(order) != sorted(set(sources)):
        raise DataError(f"The 'columns' parameter of {owner} must list each source column once: "
                        f"{sorted(set(sources))}. Got {list(order)} instead.")
    index = {name: i for i, name in enumerate(order)}
    membership = np.zeros((len(sources), len(order)))
    membership[np.arange(len(sources)), [index[s] for s in sources]] = 1.0
    return pd.DataFrame(values @ membership, columns=order)
