"""TabularPreprocessor: impute, flag missing values, scale and one-hot encode a table.

Fit it on the training split only; apply the fitted statistics to validation,
test and new patients. Its state is plain JSON (:meth:`TabularPreprocessor.to_dict`),
which is how it is saved next to a model — never pickled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from meddl.data.checks import describe_rows, show_values
from meddl.errors import ConfigError, DataError, ModelFileError, NotFittedError, did_you_mean

__all__ = ["TabularPreprocessor"]

_FORMAT_VERSION = 1
# An auto-detected text column with more distinct values than this, most of them
# unique, is almost always an identifier or free text: one-hot encoding it is a mistake.
_IDENTIFIER_MIN_LEVELS = 50


def _category_key(value) -> str | None:
    """Normalise a categorical value to a string, so 1, 1.0 and "1" are the same level."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _category_keys(series: pd.Series) -> pd.Series:
    return series.astype(object).map(_category_key)


def _numeric_values(series: pd.Series, column: str) -> np.ndarray:
    """Return the column as float64, or raise naming the first non-numeric values."""
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(series, errors="coerce")
    bad = converted.isna() & series.notna()
    if bad.any():
        raise DataError(
            f"Column {column!r} must be numeric but has non-numeric values {show_values(series[bad])} "
            f"at {describe_rows(series.index[bad])}. Fix or remove these values, or list "
            f"the column in categorical=[...] if it is a category."
        )
    return converted.to_numpy(dtype=float, na_value=np.nan)


def _restore_fitted(prep: TabularPreprocessor, fitted: dict) -> None:
    """Set the fitted attributes from :meth:`TabularPreprocessor.to_dict` data, checking consistency."""
    numeric, categorical = list(fitted["numeric_columns"]), list(fitted["categorical_columns"])
    for column in numeric:
        for stat in ("medians", "means", "scales"):
            if not math.isfinite(float(fitted[stat][column])):
                raise ValueError(f"{stat}[{column!r}] is not a finite number")
    lacking = [c for c in categorical if c not in fitted["categories"] or c not in fitted["most_frequent"]]
    if lacking:
        raise ValueError(f"no categories saved for {lacking}")
    if len(fitted["feature_names_out"]) != len(fitted["source_columns"]):
        raise ValueError("feature_names_out and source_columns differ in length")
    prep.numeric_columns_, prep.categorical_columns_ = numeric, categorical
    prep.input_columns_ = numeric + categorical
    prep.medians_ = {k: float(v) for k, v in fitted["medians"].items()}
    prep.means_ = {k: float(v) for k, v in fitted["means"].items()}
    prep.scales_ = {k: float(v) for k, v in fitted["scales"].items()}
    prep.categories_ = {k: [str(x) for x in v] for k, v in fitted["categories"].items()}
    prep.most_frequent_ = {k: str(v) for k, v in fitted["most_frequent"].items()}
    prep.missing_indicator_columns_ = list(fitted["missing_indicator_columns"])
    prep.feature_names_out_ = list(fitted["feature_names_out"])
    prep.source_columns_ = list(fitted["source_columns"])
    prep.n_features_out_ = len(prep.feature_names_out_)


class TabularPreprocessor:
    """Turn a patient table into a float32 feature matrix, with statistics fitted on training data.

    Numeric columns: missing values are replaced by the training median (with a
    0/1 ``<column>_missing`` indicator for every column that had missing values
    in training), then standardised with the training mean and standard
    deviation. Categorical columns: missing values are replaced by the most
    frequent training level, then one-hot encoded (one output per level,
    named ``<column>=<level>``).

    Args:
        numeric: Columns to treat as numbers. ``None`` auto-detects them.
        categorical: Columns to one-hot encode. ``None`` auto-detects them.
            Auto-detection: numeric dtypes are numeric (integer codes with
            few distinct values included — list such a column in
            ``categorical`` to one-hot it); text (numeric codes stored as
            text included), ``category`` and boolean columns are
            categorical, except that a text column whose values are at
            least 90% numbers raises (it is almost always a typo in a
            numeric column). With both ``None``, every column is used.
            With one list given, the other kind is auto-detected among the
            remaining columns (unlisted columns of the listed kind are left
            out). With both lists given (e.g. ``categorical=[]``), exactly the
            named columns are used.
        impute: Fill missing values. With ``False``, any missing value raises.
        add_missing_indicators: Add ``<column>_missing`` features (only with ``impute``).
        scale: Standardise numeric columns (constant columns are only centred).

    Fitted attributes:
        input_columns_: The columns used, in output order of their features.
        numeric_columns_, categorical_columns_: The split of ``input_columns_``.
        medians_, means_, scales_: Per numeric column statistics.
        categories_, most_frequent_: Per categorical column levels (as strings).
        missing_indicator_columns_: Columns that got a missing-value indicator.
        feature_names_out_: Name of each output feature.
        source_columns_: For each output feature, the input column it came from
            (to sum attributions back to the original columns).
        n_features_out_: Number of output features.

    Example:
        >>> prep = TabularPreprocessor().fit(train_frame)  # doctest: +SKIP
        >>> x_test = prep.transform(test_frame)             # doctest: +SKIP
    """

    def __init__(
        self,
        numeric: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        *,
        impute: bool = True,
        add_missing_indicators: bool = True,
        scale: bool = True,
    ):
        self.numeric = numeric
        self.categorical = categorical
        self.impute = impute
        self.add_missing_indicators = add_missing_indicators
        self.scale = scale

    # ----------------------------------------------------------------- params
    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments, as a JSON-serialisable dict (``deep`` is for scikit-learn)."""
        return {
            "numeric": None if self.numeric is None else list(self.numeric),
            "categorical": None if self.categorical is None else list(self.categorical),
            "impute": self.impute,
            "add_missing_indicators": self.add_missing_indicators,
            "scale": self.scale,
        }

    def _validate_params(self) -> None:
        for name in ("numeric", "categorical"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, str):
                raise ConfigError(
                    f"The {name!r} parameter of TabularPreprocessor must be a list of column "
                    f"names or None. Got the string {value!r}; did you mean [{value!r}]?"
                )
            if not isinstance(value, (list, tuple)) or not all(isinstance(c, str) for c in value):
                raise ConfigError(
                    f"The {name!r} parameter of TabularPreprocessor must be a list of column "
                    f"names (strings) or None. Got {value!r} instead."
                )
            if len(set(value)) != len(value):
                raise ConfigError(f"The {name!r} parameter of TabularPreprocessor lists a column twice: {value!r}.")
        for name in ("impute", "add_missing_indicators", "scale"):
            value = getattr(self, name)
            if not isinstance(value, (bool, np.bool_)):
                raise ConfigError(
                    f"The {name!r} parameter of TabularPreprocessor must be True or False. Got {value!r} instead."
                )
        both = set(self.numeric or ()) & set(self.categorical or ())
        if both:
            raise ConfigError(
                f"Columns {sorted(both)} are listed in both 'numeric' and 'categorical' of "
                f"TabularPreprocessor; list each column once."
            )

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _check_frame(frame, method: str) -> pd.DataFrame:
        if not isinstance(frame, pd.DataFrame):
            raise DataError(
                f"TabularPreprocessor.{method} expects a pandas DataFrame with named columns. "
                f"Got {type(frame).__name__} instead."
            )
        if len(frame) == 0:
            raise DataError(f"TabularPreprocessor.{method} got a table with 0 rows.")
        if frame.columns.is_unique and all(type(c) is str for c in frame.columns):
            return frame  # the usual case, without a copy: most of a one-patient transform's time went to it
        names = [str(c) for c in frame.columns]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise DataError(f"The table has duplicated column names: {duplicated}. Rename them first.")
        return frame.set_axis(names, axis=1)

    @staticmethod
    def _missing_columns_error(missing: list[str], available: Sequence[str], why: str) -> DataError:
        hint = did_you_mean(missing[0], available)
        return DataError(
            f"Columns {missing} {why} but are not in the table.{hint} Available columns: {list(available)}."
        )

    def _detect_kind(self, series: pd.Series, column: str) -> str:
        """Return "numeric" or "categorical" for an auto-detected column."""
        if pd.api.types.is_datetime64_any_dtype(series) or pd.api.types.is_timedelta64_dtype(series):
            raise DataError(
                f"Column {column!r} has dtype {series.dtype}; convert dates to numbers "
                f"(e.g. days since diagnosis) or drop the column."
            )
        if pd.api.types.is_bool_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype):
            return "categorical"
        if pd.api.types.is_numeric_dtype(series):
            return "numeric"
        present = series.dropna()
        if len(present) and not present.map(lambda v: isinstance(v, (bool, np.bool_))).all():
            # Text codes ("0"/"1", "1".."6") stay categorical: they were made strings on purpose
            # (read_csv parses numeric columns itself). But a column of numbers with a few
            # stray words is almost always a typo in a numeric column: say so.
            share = float(pd.to_numeric(present.astype(str), errors="coerce").notna().mean())
            if 0.9 <= share < 1.0:
                _numeric_values(series, column)  # raises, naming the non-numeric values
        levels = present.map(_category_key).nunique()
        if levels > _IDENTIFIER_MIN_LEVELS and levels > 0.5 * len(present):
            raise DataError(
                f"Column {column!r} has {levels} distinct text values in {len(present)} rows; it "
                f"looks like an identifier or free text. Drop it, or list it in categorical=[...] "
                f"if you really want it one-hot encoded."
            )
        return "categorical"

    def _check_fitted(self) -> None:
        if not hasattr(self, "feature_names_out_"):
            raise NotFittedError(
                "This TabularPreprocessor is not fitted yet. Call 'fit' with the training data first."
            )

    # -------------------------------------------------------------------- fit
    def fit(self, frame: pd.DataFrame, y=None) -> TabularPreprocessor:
        """Learn medians, most frequent levels, scaling statistics and categories.

        Args:
            frame: The training table (features only: drop label and id columns first).
            y: Ignored; accepted for scikit-learn compatibility.

        Returns:
            self
        """
        self._validate_params()
        frame = self._check_frame(frame, "fit")
        columns = list(frame.columns)
        listed = list(self.numeric or ()) + list(self.categorical or ())
        missing = [c for c in listed if c not in columns]
        if missing:
            raise self._missing_columns_error(missing, columns, "are listed in TabularPreprocessor's arguments")

        numeric, categorical = [], []
        for column in columns:
            if self.numeric is not None and column in self.numeric:
                numeric.append(column)
            elif self.categorical is not None and column in self.categorical:
                categorical.append(column)
            elif self.numeric is not None and self.categorical is not None:
                continue  # both lists given: use exactly those columns
            else:
                kind = self._detect_kind(frame[column], column)
                if kind == "numeric" and self.numeric is None:
                    numeric.append(column)
                elif kind == "categorical" and self.categorical is None:
                    categorical.append(column)
        if not numeric and not categorical:
            raise DataError("TabularPreprocessor found no columns to use; the table has no feature columns.")

        medians, means, scales, indicators = {}, {}, {}, []
        for column in numeric:
            values = self._numeric_column(frame, column)
            is_missing = np.isnan(values)
            if is_missing.all():
                raise DataError(f"Column {column!r} has no values in the training data (all missing).")
            median = float(np.median(values[~is_missing]))
            filled = np.where(is_missing, median, values)
            medians[column] = median
            means[column] = float(filled.mean()) if self.scale else 0.0
            std = float(filled.std()) if self.scale else 1.0
            scales[column] = std if std > 0 else 1.0
            if is_missing.any() and self.add_missing_indicators:
                indicators.append(column)

        categories, most_frequent = {}, {}
        for column in categorical:
            keys = self._categorical_column(frame, column)
            present = keys.dropna()
            if present.empty:
                raise DataError(f"Column {column!r} has no values in the training data (all missing).")
            counts = present.value_counts()
            top = counts.max()
            most_frequent[column] = sorted(counts.index[counts == top])[0]  # ties: alphabetical
            categories[column] = sorted(counts.index)
            if len(present) < len(keys) and self.add_missing_indicators:
                indicators.append(column)

        names, sources = list(numeric), list(numeric)
        for column in categorical:
            names += [f"{column}={level}" for level in categories[column]]
            sources += [column] * len(categories[column])
        indicators = [c for c in columns if c in indicators]
        names += [f"{column}_missing" for column in indicators]
        sources += indicators
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            raise DataError(f"Output feature names clash: {clashes}. Rename the input columns involved.")

        self.numeric_columns_ = numeric
        self.categorical_columns_ = categorical
        self.input_columns_ = numeric + categorical
        self.medians_, self.means_, self.scales_ = medians, means, scales
        self.categories_, self.most_frequent_ = categories, most_frequent
        self.missing_indicator_columns_ = indicators
        self.feature_names_out_ = names
        self.source_columns_ = sources
        self.n_features_out_ = len(names)
        return self

    def _numeric_column(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        values = _numeric_values(frame[column], column)
        infinite = np.isinf(values)
        if infinite.any():
            raise DataError(
                f"Column {column!r} has infinite values at {describe_rows(frame.index[infinite])}; "
                f"replace them with a number or leave the cell empty."
            )
        if not self.impute and np.isnan(values).any():
            rows = frame.index[np.isnan(values)]
            raise DataError(
                f"Column {column!r} has {len(rows)} missing values ({describe_rows(rows)}) and "
                f"impute=False. Fill them, or use TabularPreprocessor(impute=True)."
            )
        return values

    def _numeric_block(self, frame: pd.DataFrame) -> np.ndarray:
        """The numeric columns as one float64 ``(n_rows, n_numeric)`` array, checked as :meth:`_numeric_column` does.

        One conversion of the whole block instead of one pandas round trip per column: a one-patient
        transform of the 30-column breast cancer table went from 0.56 ms to 0.05 ms of CPU.
        """
        columns = self.numeric_columns_
        block = frame if list(frame.columns) == columns else frame[columns]
        if all(isinstance(dtype, np.dtype) and dtype.kind in "biuf" for dtype in block.dtypes):
            values = block.to_numpy(dtype=float)
            if not (np.isinf(values).any() or (not self.impute and np.isnan(values).any())):
                return values
        # text, nullable dtypes, or a value to refuse: column by column, naming the column and rows
        return np.column_stack([self._numeric_column(frame, column) for column in columns])

    def _categorical_column(self, frame: pd.DataFrame, column: str) -> pd.Series:
        keys = _category_keys(frame[column])
        if not self.impute and keys.isna().any():
            rows = frame.index[keys.isna().to_numpy()]
            raise DataError(
                f"Column {column!r} has {len(rows)} missing values ({describe_rows(rows)}) and "
                f"impute=False. Fill them, or use TabularPreprocessor(impute=True)."
            )
        return keys

    # -------------------------------------------------------------- transform
    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Apply the fitted preprocessing; returns an ``(n_rows, n_features_out_)`` float32 array.

        Columns are matched by name, in any order; extra columns are ignored.

        Raises:
            NotFittedError: before :meth:`fit`.
            DataError: for a missing column, text in a numeric column, or a
                category level not seen in training.
        """
        self._check_fitted()
        frame = self._check_frame(frame, "transform")
        missing = [c for c in self.input_columns_ if c not in frame.columns]
        if missing:
            raise self._missing_columns_error(missing, list(frame.columns), "were used to fit the TabularPreprocessor")

        n = len(frame)
        blocks, indicator_of = [], {}
        if self.numeric_columns_:
            values = self._numeric_block(frame)
            is_missing = np.isnan(values)
            indicator_of.update(zip(self.numeric_columns_, is_missing.T))
            medians, means, scales = (np.asarray([stat[c] for c in self.numeric_columns_], dtype=float)
                                      for stat in (self.medians_, self.means_, self.scales_))
            blocks.append((np.where(is_missing, medians, values) - means) / scales)
        for column in self.categorical_columns_:
            keys = self._categorical_column(frame, column)
            indicator_of[column] = keys.isna().to_numpy()
            known = self.categories_[column]
            unseen = keys.notna() & ~keys.isin(known)
            if unseen.any():
                raise DataError(
                    f"Column {column!r} has categories not seen in training: {show_values(keys[unseen], 5)} "
                    f"(at {describe_rows(frame.index[unseen.to_numpy()])}). The model knows {len(known)} "
                    f"categories of this column (not listed: they are values of the training data)."
                )
            filled = keys.fillna(self.most_frequent_[column]).to_numpy()
            blocks.append((filled[:, None] == np.asarray(known, dtype=object)[None, :]).astype(float))
        for column in self.missing_indicator_columns_:
            blocks.append(indicator_of[column].astype(float)[:, None])
        if not blocks:
            return np.zeros((n, 0), dtype=np.float32)
        return np.hstack(blocks).astype(np.float32)

    def fit_transform(self, frame: pd.DataFrame, y=None) -> np.ndarray:
        """``fit(frame)`` then ``transform(frame)``."""
        return self.fit(frame).transform(frame)

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """The parameters and fitted state as plain JSON-serialisable data."""
        data = {"type": "TabularPreprocessor", "format_version": _FORMAT_VERSION, "params": self.get_params()}
        if not hasattr(self, "feature_names_out_"):
            data["fitted"] = None
            return data
        data["fitted"] = {
            "numeric_columns": list(self.numeric_columns_),
            "categorical_columns": list(self.categorical_columns_),
            "medians": {k: float(v) for k, v in self.medians_.items()},
            "means": {k: float(v) for k, v in self.means_.items()},
            "scales": {k: float(v) for k, v in self.scales_.items()},
            "categories": {k: list(v) for k, v in self.categories_.items()},
            "most_frequent": dict(self.most_frequent_),
            "missing_indicator_columns": list(self.missing_indicator_columns_),
            "feature_names_out": list(self.feature_names_out_),
            "source_columns": list(self.source_columns_),
        }
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TabularPreprocessor:
        """Rebuild a preprocessor saved with :meth:`to_dict`.

        Raises:
            ModelFileError: if ``data`` is not a saved TabularPreprocessor or is incomplete.
        """
        if not isinstance(data, dict) or data.get("type") != "TabularPreprocessor":
            raise ModelFileError("Not a saved TabularPreprocessor: expected a dict with type 'TabularPreprocessor'.")
        if data.get("format_version") != _FORMAT_VERSION:
            raise ModelFileError(
                f"Saved TabularPreprocessor has format_version {data.get('format_version')!r}; "
                f"this meddl reads version {_FORMAT_VERSION}."
            )
        try:
            prep = cls(**data["params"])
        except (KeyError, TypeError) as exc:
            raise ModelFileError(f"Saved TabularPreprocessor has invalid 'params': {exc}") from exc
        fitted = data.get("fitted")
        if fitted is None:
            return prep
        keys = [
            "numeric_columns", "categorical_columns", "medians", "means", "scales", "categories",
            "most_frequent", "missing_indicator_columns", "feature_names_out", "source_columns",
        ]
        if not isinstance(fitted, dict):
            raise ModelFileError("Saved TabularPreprocessor has a 'fitted' entry that is not a dict.")
        absent = [k for k in keys if k not in fitted]
        if absent:
            raise ModelFileError(f"Saved TabularPreprocessor is incomplete: missing {absent}.")
        try:
            _restore_fitted(prep, fitted)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ModelFileError(f"Saved TabularPreprocessor is inconsistent: {exc!r}") from exc
        return prep

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"TabularPreprocessor({args})"
