"""``SurvivalEnsemble``: copies of one survival model trained with different seeds, for uncertainty.

Each member starts from different initial weights, batch orders and dropout
masks (and, with ``fit(..., validation=0.2)``, a different validation split).
Point predictions average the members (risk, survival curves; the median is
read from the mean curve); intervals are the 2.5th and 97.5th percentiles
across members (for the median, the nearest member values, since a median may
be inf). The spread describes training variability (a deep ensemble,
Lakshminarayanan et al. 2017), not sampling variability of the data: use the
bootstrap in :mod:`meddl.survival.metrics` for confidence intervals of metrics.

Member seeds and intervals follow meddl's one ensemble rule
(:mod:`meddl.models.ensemble`: ``seed + k``; the members' central 95%).

Example:
    >>> from meddl.survival import DeepSurv, SurvivalEnsemble
    >>> ensemble = SurvivalEnsemble(DeepSurv(hidden_units=(16,), epochs=5), n_members=3)
"""

from __future__ import annotations

import numpy as np

from meddl.errors import MeddlError, NotFittedError
from meddl.models.ensemble import member_seeds, member_spread
from meddl.survival._base import SurvivalModel
from meddl.survival._checks import check_times
from meddl.survival.saving import load_survival_model, save_survival_model
from meddl.saving import register_class

__all__ = ["SurvivalEnsemble"]


def _median_of_curves(times: np.ndarray, curves: np.ndarray, *, step: bool) -> np.ndarray:
    """First time at which each (non-increasing) curve reaches 0.5; inf if never.

    ``step``: the curves are right-continuous step functions on ``times`` (Cox models);
    otherwise they are linear between grid points (LogisticHazard).
    """
    below = curves <= 0.5
    reached = below.any(axis=1)
    k = np.where(reached, below.argmax(axis=1), 0)
    if step:
        return np.where(reached, times[k], np.inf)
    rows = np.arange(curves.shape[0])
    previous = np.clip(k - 1, 0, None)
    lower, upper = curves[rows, previous], curves[rows, k]
    fraction = np.where((k > 0) & (lower > upper), (lower - 0.5) / np.where(lower > upper, lower - upper, 1.0), 0.0)
    median = times[previous] + fraction * (times[k] - times[previous])
    return np.where(reached, median, np.inf)


@register_class("survival")
class SurvivalEnsemble:
    """An ensemble of ``n_members`` copies of ``base`` with seeds ``base.seed + k`` (or ``seeds``).

    Args:
        base: an unfitted survival model (``DeepSurv``, ``LogisticHazard``, ``LinearCox``); it is not modified.
        n_members: number of members.
        seeds: explicit seeds, one per member (overrides ``n_members``'s default seeds).

    Fitted attribute: ``members_`` (the fitted copies).
    """

    def __init__(self, base: SurvivalModel, n_members: int = 5, *, seeds=None):
        self.base = base
        self.n_members = n_members
        self.seeds = seeds

    def get_params(self, deep: bool = True) -> dict:
        """The constructor arguments (scikit-learn's contract); ``deep`` adds the base model's as ``base__<name>``."""
        params = {"base": self.base, "n_members": self.n_members, "seeds": self.seeds}
        if deep and hasattr(self.base, "get_params"):
            params.update({f"base__{k}": v for k, v in self.base.get_params().items()})
        return params

    def set_params(self, **params) -> "SurvivalEnsemble":
        """Set constructor arguments (``base__<name>`` reaches the base model)."""
        nested = {k.split("__", 1)[1]: v for k, v in params.items() if k.startswith("base__")}
        for key, value in params.items():
            if key.startswith("base__"):
                continue
            if key not in ("base", "n_members", "seeds"):
                raise MeddlError(f"Invalid parameter {key!r} for SurvivalEnsemble. Valid parameters: "
                                 "['base', 'n_members', 'seeds'].")
            setattr(self, key, value)
        if nested:
            self.base.set_params(**nested)
        return self

    def __repr__(self) -> str:
        return f"SurvivalEnsemble({self.base!r}, n_members={self.n_members})"

    def _member_seeds(self) -> list[int]:
        if not isinstance(self.base, SurvivalModel):
            raise MeddlError("The 'base' parameter of SurvivalEnsemble must be a meddl survival model (DeepSurv, "
                             f"LogisticHazard, LinearCox). Got {type(self.base).__name__} instead.")
        if self.seeds is not None:
            seeds = list(self.seeds)
            if not seeds or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0 for s in seeds):
                raise MeddlError("The 'seeds' parameter of SurvivalEnsemble must be a non-empty list of non-negative "
                                 f"integers. Got {self.seeds!r} instead.")
            return [int(s) for s in seeds]
        if isinstance(self.n_members, bool) or not isinstance(self.n_members, (int, np.integer)) or self.n_members < 1:
            raise MeddlError("The 'n_members' parameter of SurvivalEnsemble must be an integer >= 1. "
                             f"Got {self.n_members!r} instead.")
        return member_seeds(self.base.seed, self.n_members)

    def fit(self, x, duration, event, *, validation=None) -> "SurvivalEnsemble":
        """Fit every member on the same data (see the base model's ``fit``); return self."""
        members = []
        for seed in self._member_seeds():
            member = type(self.base)(**{**self.base.get_params(), "seed": seed})
            members.append(member.fit(x, duration, event, validation=validation))
        self.members_ = members
        return self

    def rescale_risk(self, factor: float, x, duration, event) -> "SurvivalEnsemble":
        """Rescale every member by ``factor`` on the training rows ``x`` (see ``DeepSurv.rescale_risk`` and
        ``LogisticHazard.rescale_risk``)."""
        self._require_fitted("rescale_risk")
        if not all(hasattr(member, "rescale_risk") for member in self.members_):
            raise MeddlError(f"rescale_risk needs members that have it (DeepSurv, LinearCox, LogisticHazard); this "
                             f"ensemble holds {type(self.members_[0]).__name__} models.")
        for member in self.members_:
            member.rescale_risk(factor, x, duration, event)
        return self

    def _require_fitted(self, action: str) -> None:
        if not hasattr(self, "members_"):
            raise NotFittedError("This SurvivalEnsemble is not fitted yet. Call fit(x, duration, event) "
                                 f"before {action}.")

    @property
    def n_features_in_(self) -> int:
        self._require_fitted("reading n_features_in_")
        return self.members_[0].n_features_in_

    # -- point predictions ------------------------------------------------------------
    def predict_risk(self, x) -> np.ndarray:
        """Mean of the members' risk scores, shape (n,)."""
        self._require_fitted("predict_risk")
        return np.mean([m.predict_risk(x) for m in self.members_], axis=0)

    def predict_survival(self, x, times) -> np.ndarray:
        """Mean of the members' survival curves, shape (n, len(times))."""
        self._require_fitted("predict_survival")
        return np.mean([m.predict_survival(x, times) for m in self.members_], axis=0)

    def predict_at(self, x, horizons) -> np.ndarray:
        """Mean probability of the event by each horizon, shape (n, len(horizons))."""
        return 1.0 - self.predict_survival(x, check_times(horizons, "horizons"))

    def predict_median(self, x) -> np.ndarray:
        """Median of the mean survival curve (on the members' event-time grid); inf if it never reaches 0.5."""
        self._require_fitted("predict_median")
        grid = self._time_grid()
        step = all(hasattr(m, "baseline_") for m in self.members_)
        return _median_of_curves(grid, self.predict_survival(x, grid), step=step)

    def _time_grid(self) -> np.ndarray:
        points = []
        for member in self.members_:
            points.append(member.baseline_.times_ if hasattr(member, "baseline_") else member.cuts_)
        return np.unique(np.concatenate([[0.0], *points]))

    # -- intervals ------------------------------------------------------------------------
    def predict_interval(self, x, horizons=None) -> dict[str, dict[str, np.ndarray]]:
        """Mean and 2.5/97.5 percentiles across members of risk, median and survival at ``horizons``.

        Returns:
            ``{"risk": {"mean", "lower", "upper"}, "median": {...}, "survival": {...}}`` with arrays of
            shape (n,) (risk, median) and (n, len(horizons)) (survival; only when ``horizons`` is given).
        """
        self._require_fitted("predict_interval")
        out = {"risk": _summary(np.stack([m.predict_risk(x) for m in self.members_]))}
        # Medians may be inf (curve never reaches 0.5): take the nearest order statistics, no inf arithmetic.
        out["median"] = _summary(np.stack([m.predict_median(x) for m in self.members_]), method="nearest")
        out["median"]["mean"] = self.predict_median(x)
        if horizons is not None:
            horizons = check_times(horizons, "horizons")
            out["survival"] = _summary(np.stack([m.predict_survival(x, horizons) for m in self.members_]))
        return out

    def save(self, path) -> None:
        """Save every member (see :mod:`meddl.survival.saving`)."""
        self._require_fitted("save")
        save_survival_model(self, path)

    @classmethod
    def load(cls, path, *, device: str = "cpu") -> "SurvivalEnsemble":
        model = load_survival_model(path, device=device)
        if not isinstance(model, cls):
            raise MeddlError(f"'{path}' holds a {type(model).__name__}, not a SurvivalEnsemble.")
        return model


def _summary(values: np.ndarray, method: str = "linear") -> dict[str, np.ndarray]:
    spread = member_spread(values, method=method)
    return {"mean": spread["mean"], "lower": spread["lower"], "upper": spread["upper"]}
