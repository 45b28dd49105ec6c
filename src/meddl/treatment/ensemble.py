"""``EffectEnsemble``: several seeds of one estimator, for a steadier τ̂ and a spread of it.

Which uncertainty this is: each member is the same estimator trained from a
different seed (weights, validation split, batch order) on the *same* data. The
interval is the 2.5th–97.5th percentile of the members' τ̂(x) — the variability of
training, not a calibrated confidence interval for the true effect (it ignores
sampling variability of the data and any bias). With 5 members it is close to the
members' range. Use it to flag unstable predictions; report population effects
with :func:`meddl.treatment.aipw_ate`, whose interval is calibrated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

from meddl.errors import ConfigError
from meddl.models.ensemble import member_seeds, member_spread
from meddl.validation import check_parameters
from meddl.treatment._checks import check_fitted
from meddl.treatment.saving import load, save_estimator
from meddl.saving import register_class

__all__ = ["EffectEnsemble"]


@register_class("treatment")
class EffectEnsemble(BaseEstimator):
    """Average ``n_members`` copies of ``base`` trained from different seeds.

    Args:
        base: an unfitted estimator with a ``random_state`` parameter and
            ``fit(x, t, y)`` / ``predict_outcomes(x)`` (e.g. :class:`~meddl.treatment.TARNet`).
        n_members: number of copies.
        coverage: central share of the members' τ̂ reported by ``predict_effect_interval``.
        random_state: member ``k`` trains with seed ``random_state + k`` (meddl's one ensemble rule,
            :func:`meddl.models.ensemble.member_seeds`); ``None`` draws a fresh base seed.

    Example:
        >>> from meddl.treatment import EffectEnsemble, TARNet
        >>> ensemble = EffectEnsemble(TARNet(), n_members=5, random_state=0)
    """

    _parameter_constraints = {"n_members": ("int", 2, None), "coverage": ("float", ("open", 0.0), ("open", 1.0)),
                              "random_state": ("seed",)}

    def __init__(self, base: Any, n_members: int = 5, *, coverage: float = 0.95, random_state: int | None = 0):
        self.base = base
        self.n_members = n_members
        self.coverage = coverage
        self.random_state = random_state

    def fit(self, x: Any, t: Any, y: Any, *, validation_data: tuple[Any, Any, Any] | None = None
            ) -> "EffectEnsemble":
        """Fit every member on the same ``(x, t, y)`` (and ``validation_data``, passed on); return ``self``."""
        check_parameters(self, self._parameter_constraints)
        if not hasattr(self.base, "get_params") or "random_state" not in self.base.get_params(deep=False):
            raise ConfigError(f"The 'base' of EffectEnsemble must be an estimator with a 'random_state' parameter "
                              f"(TARNet, CFRNet, Dragonnet); got {type(self.base).__name__}.")
        base_seed = self.random_state
        if base_seed is None:
            base_seed = int(np.random.default_rng().integers(2**31 - 1))
        seeds = member_seeds(base_seed, self.n_members)
        options = {} if validation_data is None else {"validation_data": validation_data}
        self.estimators_ = [clone(self.base).set_params(random_state=seed).fit(x, t, y, **options) for seed in seeds]
        self.n_features_in_ = self.estimators_[0].n_features_in_
        return self

    def predict_member_outcomes(self, x: Any) -> np.ndarray:
        """Each member's [μ0, μ1]: shape (n_members, N, 2)."""
        check_fitted(self)
        return np.stack([member.predict_outcomes(x) for member in self.estimators_])

    def predict_outcomes(self, x: Any) -> np.ndarray:
        """Members' mean predicted outcome under control and treatment, (N, 2)."""
        return self.predict_member_outcomes(x).mean(axis=0)

    def predict_effect(self, x: Any) -> np.ndarray:
        """Members' mean τ̂(x), shape (N,)."""
        outcomes = self.predict_outcomes(x)
        return outcomes[:, 1] - outcomes[:, 0]

    def predict_effect_interval(self, x: Any) -> np.ndarray:
        """Percentiles ``(1 − coverage)/2`` and ``(1 + coverage)/2`` of the members' τ̂: shape (N, 2).

        Training variability only; see the module documentation.
        """
        members = self.predict_member_outcomes(x)
        spread = member_spread(members[..., 1] - members[..., 0], coverage=self.coverage)
        return np.stack([spread["lower"], spread["upper"]], axis=1)

    def predict_propensity(self, x: Any) -> np.ndarray:
        """Members' mean propensity (only for a base with a propensity head, e.g. Dragonnet)."""
        check_fitted(self)
        if not hasattr(self.estimators_[0], "predict_propensity"):
            raise ConfigError(f"{type(self.base).__name__} has no propensity head; fit a PropensityModel instead.")
        return np.mean([member.predict_propensity(x) for member in self.estimators_], axis=0)

    def save(self, path, *, metadata: dict[str, Any] | None = None):
        """Save every member (JSON + safetensors) into one folder, atomically."""
        return save_estimator(self, path, metadata=metadata)

    @classmethod
    def load(cls, path) -> "EffectEnsemble":
        return load(path, expected=cls)
