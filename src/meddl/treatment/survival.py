"""Treatment recommendations for time-to-event outcomes (DeepSurv's recommender, Katzman et al. 2018).

The treatment is an input of the risk network, h(x, t). For a patient x the
recommender compares the log-hazards under each arm, rec_10(x) = h(x, 1) − h(x, 0):
a negative value means treatment lowers the hazard, so the recommended arm is
the one with the lower predicted log-hazard. :func:`recommendation_survival`
checks the recommendations on observed data: Kaplan–Meier curves and median
survival of patients whose received treatment matches the recommendation vs those
whose does not, compared with a log-rank test.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from meddl.errors import ConfigError, DataError, MeddlError, ModelFileError
from meddl.io import atomic_directory
from meddl.validation import check_parameters
from meddl.treatment._checks import check_features, check_fitted, check_treatment, check_vector
from meddl.survival import DeepSurv
from meddl.treatment.recommend import recommend
from meddl.survival import load_survival_model

__all__ = ["SurvivalRecommender", "recommendation_survival"]

RECOMMENDER_FILE = "recommender.json"
RISK_MODEL_FOLDER = "risk_model"
FORMAT = "meddl.treatment.survival/1"


def _lifelines(purpose: str):
    try:
        import lifelines
        import lifelines.statistics
    except ImportError as exc:
        raise MeddlError(f"{purpose} needs the 'lifelines' package, which is not installed ({exc}). "
                         "Install it with: pip install 'meddl[survival]'") from exc
    return lifelines


class SurvivalRecommender(BaseEstimator):
    """A Cox risk network with the treatment as its last input; recommends the arm of lower hazard.

    Args:
        risk_model: an unfitted meddl survival model with ``fit(x, duration, event, validation=...)``
            and ``predict_risk`` (log-hazard); default :class:`meddl.survival.DeepSurv` with its defaults.
        validation_fraction: share of the training data held out for the risk model's early
            stopping (``None``: no early stopping).

    Example:
        >>> from meddl.survival import DeepSurv
        >>> from meddl.treatment import SurvivalRecommender
        >>> recommender = SurvivalRecommender(DeepSurv(hidden_units=(32, 32)))
        >>> recommender.fit(x, t, duration, event).predict_effect(x)  # doctest: +SKIP
    """

    def __init__(self, risk_model: Any = None, *, validation_fraction: float | None = 0.2):
        self.risk_model = risk_model
        self.validation_fraction = validation_fraction

    def fit(self, x: Any, t: Any, duration: Any, event: Any) -> "SurvivalRecommender":
        """Fit h(x, t) on covariates ``x``, treatment ``t`` (0/1), ``duration`` and ``event`` (1 = event)."""
        if self.validation_fraction is not None:
            check_parameters(self, {"validation_fraction": ("float", ("open", 0.0), ("open", 1.0))})
        x = check_features(x)
        t = check_treatment(t, len(x))
        model = DeepSurv() if self.risk_model is None else copy.deepcopy(self.risk_model)
        if not (hasattr(model, "fit") and hasattr(model, "predict_risk")):
            raise ConfigError("The 'risk_model' of SurvivalRecommender must have fit(x, duration, event) and "
                              f"predict_risk(x); got {type(model).__name__}.")
        validation = None if self.validation_fraction is None else float(self.validation_fraction)
        self.risk_model_ = model.fit(np.column_stack([x, t]), duration, event, validation=validation)
        self.n_features_in_ = x.shape[1]
        return self

    def predict_outcomes(self, x: Any) -> np.ndarray:
        """Predicted log-hazard under control and under treatment, [h(x, 0), h(x, 1)], shape (N, 2)."""
        check_fitted(self)
        x = check_features(x, n_features=self.n_features_in_)
        return np.column_stack([np.asarray(self.risk_model_.predict_risk(np.column_stack([x, np.full(len(x), arm)])),
                                           dtype=np.float64) for arm in (0, 1)])

    def predict_effect(self, x: Any) -> np.ndarray:
        """rec_10(x) = h(x, 1) − h(x, 0): the log hazard ratio of treating (negative = treatment helps)."""
        outcomes = self.predict_outcomes(x)
        return outcomes[:, 1] - outcomes[:, 0]

    def predict_recommended_arm(self, x: Any) -> np.ndarray:
        """1 where treatment has the lower predicted log-hazard, else 0 (ties: control)."""
        return (self.predict_effect(x) < 0).astype(np.int64)

    def recommend(self, x: Any, *, propensity: Any, **options) -> Any:
        """:func:`meddl.treatment.recommend` with ``higher_is_better=False`` (outcomes are log-hazards)."""
        return recommend(self, x, propensity=propensity, higher_is_better=False, **options)

    # -- persistence ---------------------------------------------------------------
    def save(self, path) -> Path:
        """Save to a folder: ``recommender.json`` and the risk model's own folder (no pickle), atomically."""
        check_fitted(self)
        path = Path(path)
        with atomic_directory(path) as tmp:
            self.risk_model_.save(tmp / RISK_MODEL_FOLDER)
            document = {"format": FORMAT, "validation_fraction": self.validation_fraction,
                        "n_features_in_": int(self.n_features_in_)}
            (tmp / RECOMMENDER_FILE).write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path) -> "SurvivalRecommender":
        """Load a recommender saved with :meth:`save`."""
        path = Path(path)
        config = path / RECOMMENDER_FILE
        if not config.is_file():
            raise ModelFileError(f"No saved SurvivalRecommender at '{path}': expected {RECOMMENDER_FILE} in the folder.")
        try:
            document = json.loads(config.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(f"'{config}' is not valid JSON ({exc}).") from None
        if document.get("format") != FORMAT:
            raise ModelFileError(f"'{config}' is not a SurvivalRecommender file (expected format {FORMAT!r}).")
        recommender = cls(validation_fraction=document["validation_fraction"])
        recommender.risk_model_ = load_survival_model(path / RISK_MODEL_FOLDER)
        recommender.n_features_in_ = int(document["n_features_in_"])
        return recommender


def _median(fitter) -> float | None:
    value = float(fitter.median_survival_time_)
    return value if np.isfinite(value) else None


def recommendation_survival(duration: Any, event: Any, t: Any, recommended: Any) -> dict[str, Any]:
    """Kaplan–Meier survival of patients treated as recommended vs against the recommendation.

    Args:
        duration, event: observed time and event indicator (1 = event) per patient.
        t: the treatment each patient received (0/1).
        recommended: the recommended arm (0/1); NaN for patients without a recommendation
            (they are left out).

    Returns:
        ``{"n_as_recommended", "n_against", "median_as_recommended", "median_against"``
        (``None`` when the curve never falls to 0.5), ``"logrank_statistic", "logrank_p"``,
        ``"curves": {"as_recommended": {"time", "survival"}, "against": {...}}}``.
        A small p says the two groups' survival differs; if the recommendations are good,
        the as-recommended group lives longer.
    """
    lifelines = _lifelines("recommendation_survival")
    durations = check_vector(duration, "duration")
    events = check_vector(event, "event", len(durations), x_name="duration")
    if not np.isin(events, (0.0, 1.0)).all():
        raise DataError("'event' must be 1 (event) or 0 (censored) for every patient.")
    if (durations < 0).any():
        raise DataError(f"'duration' must be non-negative; got {durations[durations < 0][0]:g}.")
    treatment = check_treatment(t, len(durations), x_name="duration", require_both_arms=False)
    arms = np.asarray(recommended, dtype=np.float64).reshape(-1)
    if len(arms) != len(durations):
        raise DataError(f"'duration' and 'recommended' must have the same number of samples; got {len(durations)} "
                        f"and {len(arms)}.")
    given = ~np.isnan(arms)
    if not np.isin(arms[given], (0.0, 1.0)).all():
        raise DataError("'recommended' must be 0/1 (or NaN for no recommendation).")
    followed = given & (arms == treatment)
    against = given & (arms != treatment)
    if not followed.any() or not against.any():
        raise DataError(f"Both groups are needed: {int(followed.sum())} patients were treated as recommended and "
                        f"{int(against.sum())} against the recommendation.")
    result: dict[str, Any] = {"n_as_recommended": int(followed.sum()), "n_against": int(against.sum()), "curves": {}}
    for name, mask in (("as_recommended", followed), ("against", against)):
        fitter = lifelines.KaplanMeierFitter().fit(durations[mask], events[mask])
        result[f"median_{name}"] = _median(fitter)
        curve = fitter.survival_function_
        result["curves"][name] = {"time": curve.index.to_numpy(dtype=float).tolist(),
                                  "survival": curve.iloc[:, 0].to_numpy(dtype=float).tolist()}
    test = lifelines.statistics.logrank_test(durations[followed], durations[against], events[followed], events[against])
    result["logrank_statistic"] = float(test.test_statistic)
    result["logrank_p"] = float(test.p_value)
    return result
