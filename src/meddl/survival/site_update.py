"""A survival model's curves updated for another site: a new baseline hazard, and a new risk slope.

:func:`~meddl.survival.survival_recalibration_test` fits, on a site's patients, the
Poisson model ``log mu = a + log H + (b - 1) (r - mean r)`` of each patient's event
(``H`` the predicted cumulative hazard over his follow-up, ``r`` the log cumulative
hazard at the last horizon). :class:`SiteUpdatedSurvival` applies it to every
prediction: the cumulative hazard of a patient ``x`` becomes ``m(x) H(t | x)``, with

    m(x) = factor * exp((slope - 1) * (r(x) - reference)),

``factor = exp(a)`` and ``reference`` the site's mean ``r``, so that ``S'(t | x) =
S(t | x) ** m(x)``. With ``slope`` 1 it is the baseline update (every cumulative
hazard times one factor). For a proportional-hazards model ``r(x)`` is the log-risk
plus a constant, so the update is again a proportional-hazards model: the baseline
times a constant and the log-risk times ``slope`` (van Houwelingen, Stat Med 2000).
The curves of an ensemble's members take the same ``m(x)``, computed from the
ensemble's curve, so their spread keeps its meaning. Risk scores are the model's own:
with a positive slope the update keeps the patients' order.

Example:
    >>> import numpy as np
    >>> from meddl.survival import LinearCox
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(300, 2))
    >>> model = LinearCox().fit(x, rng.exponential(np.exp(-x[:, 0])), np.ones(300))
    >>> updated = SiteUpdatedSurvival(model, factor=2.0, slope=1.0, reference=0.0, end=1.0)
    >>> bool(np.allclose(updated.predict_survival(x[:3], [0.5]), model.predict_survival(x[:3], [0.5]) ** 2))
    True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils.metaestimators import available_if

from meddl.errors import MeddlError
from meddl.survival._checks import check_times
from meddl.survival.calibration import _log_cumulative_hazard
from meddl.survival.ensemble import _median_of_curves, _summary

__all__ = ["SiteUpdatedSurvival", "apply_site_updates"]


def _members(model) -> list:
    return list(getattr(model, "members_", [model]))


class SiteUpdatedSurvival:
    """``model``'s curves with each patient's cumulative hazard times ``m(x)``; see the module docstring.

    Args:
        model: a fitted meddl survival model or ensemble (or another ``SiteUpdatedSurvival``).
        factor: the baseline's factor, ``exp(a)`` (> 0).
        slope: the risk slope ``b`` (> 0).
        reference: the site's mean log cumulative hazard at ``end`` (where ``m`` equals ``factor``).
        end: the time ``r(x)`` is read at (the run's last horizon).
    """

    def __init__(self, model: Any, *, factor: float, slope: float, reference: float, end: float):
        for name, value in (("factor", factor), ("slope", slope), ("end", end)):
            if not (isinstance(value, (int, float, np.floating)) and np.isfinite(value) and value > 0):
                raise MeddlError(f"SiteUpdatedSurvival needs a positive '{name}'; got {value!r}.")
        if not np.isfinite(reference):
            raise MeddlError(f"SiteUpdatedSurvival needs a finite 'reference'; got {reference!r}.")
        self.model, self.factor, self.slope = model, float(factor), float(slope)
        self.reference, self.end = float(reference), float(end)

    def __getattr__(self, name: str) -> Any:
        # n_features_in_, members_ and the like are the model's; never for dunders or before __init__ ran
        if name.startswith("__") or name == "model" or "model" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.model, name)

    def __repr__(self) -> str:
        return (f"SiteUpdatedSurvival({self.model!r}, factor={self.factor:.4g}, slope={self.slope:.4g}, "
                f"reference={self.reference:.4g}, end={self.end:g})")

    def multiplier(self, x) -> np.ndarray:
        """``m(x)`` per patient, shape (n,)."""
        r = _log_cumulative_hazard(self.model.predict_survival(x, np.array([self.end]))[:, 0])
        return self.factor * np.exp(np.clip((self.slope - 1.0) * (r - self.reference), -700, 700))

    def predict_risk(self, x) -> np.ndarray:
        """The model's risk scores (the update keeps their order)."""
        return self.model.predict_risk(x)

    def predict_survival(self, x, times) -> np.ndarray:
        """``S(t | x) ** m(x)``, shape (n, len(times))."""
        return self.model.predict_survival(x, times) ** self.multiplier(x)[:, None]

    def predict_at(self, x, horizons) -> np.ndarray:
        """Probability of the event by each horizon, shape (n, len(horizons))."""
        return 1.0 - self.predict_survival(x, check_times(horizons, "horizons"))

    def _grid_and_step(self) -> tuple[np.ndarray, bool]:
        points = [m.baseline_.times_ if hasattr(m, "baseline_") else m.cuts_ for m in _members(self._base())]
        step = all(hasattr(m, "baseline_") for m in _members(self._base()))
        return np.unique(np.concatenate([[0.0], *points])), step

    def _base(self):
        model = self.model
        while isinstance(model, SiteUpdatedSurvival):
            model = model.model
        return model

    def predict_median(self, x) -> np.ndarray:
        """First time the updated curve reaches 0.5 (on the model's event-time grid); inf if never."""
        grid, step = self._grid_and_step()
        return _median_of_curves(grid, self.predict_survival(x, grid), step=step)

    def _member_curves(self, x, times, multiplier: np.ndarray) -> np.ndarray:
        """Every member's updated curves, shape (members, n, len(times)), through any earlier updates."""
        if isinstance(self.model, SiteUpdatedSurvival):
            inner = self.model._member_curves(x, times, self.model.multiplier(x))
        else:
            inner = np.stack([member.predict_survival(x, times) for member in _members(self.model)])
        return inner ** multiplier[None, :, None]

    @available_if(lambda self: hasattr(self.model, "predict_interval"))
    def predict_interval(self, x, horizons=None) -> dict[str, dict[str, np.ndarray]]:
        """As ``SurvivalEnsemble.predict_interval``: mean and 2.5/97.5 percentiles across members, updated."""
        multiplier = self.multiplier(x)  # once: every curve below takes it
        grid, step = self._grid_and_step()
        medians = np.stack([_median_of_curves(grid, curves, step=step)
                            for curves in self._member_curves(x, grid, multiplier)])
        risks = np.stack([member.predict_risk(x) for member in _members(self._base())])
        out = {"risk": _summary(risks), "median": _summary(medians, method="nearest")}
        updated_grid = self.model.predict_survival(x, grid) ** multiplier[:, None]
        out["median"]["mean"] = _median_of_curves(grid, updated_grid, step=step)
        if horizons is not None:
            horizons = check_times(horizons, "horizons")
            out["survival"] = _summary(self._member_curves(x, horizons, multiplier))
            out["survival"]["mean"] = self.model.predict_survival(x, horizons) ** multiplier[:, None]
        return out

    def to_dict(self) -> dict[str, float]:
        return {"factor": self.factor, "slope": self.slope, "reference": self.reference, "end": self.end}


def apply_site_updates(model: Any, updates: list[dict] | None) -> Any:
    """``model`` wrapped in one :class:`SiteUpdatedSurvival` per saved update (``to_dict()``), oldest first."""
    for update in updates or []:
        model = SiteUpdatedSurvival(model, **{key: update[key] for key in ("factor", "slope", "reference", "end")})
    return model
