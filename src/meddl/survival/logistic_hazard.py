"""``LogisticHazard``: a discrete-time survival network free of the proportional-hazards assumption.

Gensheimer & Narasimhan (2019, "nnet-survival"); pycox's ``LogisticHazard``.
Time is cut at quantiles of the training event times, ``0 = τ_0 < τ_1 < … < τ_m``;
the network outputs one logit per interval ``(τ_j, τ_{j+1}]``, the hazard
``h_j(x) = sigmoid(logit_j)`` is the probability of the event in interval j given
survival to τ_j, and ``S(τ_k | x) = Π_{j<k} (1 − h_j(x))``. Between cut points S
is interpolated linearly (constant density within an interval); after τ_m it is
held at ``S(τ_m)`` (the data say nothing beyond the last event time).

``predict_risk`` is the restricted mean time lost before τ_m,
``τ_m − ∫_0^{τ_m} S(t|x) dt``: in time units, higher = worse.

``rescale_risk(factor, x, ...)`` recalibrates a model whose curves are too moderate
(factor > 1) or too extreme: in every interval, the log of the hazard increment
``log(−log(1 − h_j(x)))`` moves ``factor`` times as far from its mean over ``x``
(the training rows). For proportional curves that is a Cox model's log-risk × factor.
"""

from __future__ import annotations

import numpy as np
import torch

from meddl.survival._base import NETWORK_CONSTRAINTS, SurvivalModel, build_mlp
from meddl.survival._checks import check_rescale_factor
from meddl.survival.losses import discretize, logistic_hazard_loss, make_cuts
from meddl.saving import register_class

__all__ = ["LogisticHazard"]


@register_class("survival")
class LogisticHazard(SurvivalModel):
    """Discrete-time logistic-hazard survival network.

    Args:
        n_intervals: number of time intervals (cuts at event-time quantiles; fewer when times tie).
        learning_rate: Adam's step (0.01, as in pycox's examples). The output biases start at the
            life-table hazards of the training data, so training starts from the population curve.
        hidden_units, dropout, activation, batch_norm, weight_decay, epochs, batch_size,
        early_stopping_patience, early_stopping_monitor, standardize, seed, device, verbose: as :class:`DeepSurv`.

    Fitted attributes: ``cuts_`` (the m + 1 cut points), ``network_``, ``history_``, ``best_epoch_``, ...;
    after :meth:`rescale_risk`, ``risk_scale_`` and ``reference_log_hazard_`` (one value per interval).

    Example:
        >>> import numpy as np
        >>> from meddl.survival import LogisticHazard
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(200, 3))
        >>> model = LogisticHazard(n_intervals=10, epochs=10).fit(x, rng.exponential(size=200), np.ones(200))
        >>> model.cuts_.size
        11
    """

    _parameter_constraints = {**NETWORK_CONSTRAINTS, "n_intervals": ("int", 1, None)}
    risk_scale_: float = 1.0
    reference_log_hazard_: np.ndarray | None = None

    def __init__(self, n_intervals: int = 20, hidden_units=(64, 64), dropout: float = 0.1, activation: str = "relu",
                 batch_norm: bool = False, *, learning_rate: float = 1e-2, weight_decay: float = 1e-4,
                 epochs: int = 100, batch_size: int | None = 256, early_stopping_patience: int | None = 10,
                 early_stopping_monitor: str = "loss", standardize: bool = True, seed: int = 0, device: str = "cpu",
                 verbose: int = 0):
        self.n_intervals = n_intervals
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.activation = activation
        self.batch_norm = batch_norm
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.early_stopping_patience = early_stopping_patience
        self.early_stopping_monitor = early_stopping_monitor
        self.standardize = standardize
        self.seed = seed
        self.device = device
        self.verbose = verbose

    # -- training -------------------------------------------------------------------
    def _prepare_target(self, durations, events):
        self.cuts_ = make_cuts(durations, events, int(self.n_intervals))
        # Life-table hazard per interval: the maximum-likelihood fit without covariates. The output
        # biases start there, so training begins from the Kaplan–Meier-like curve, not from h = 1/2.
        index = discretize(durations, events, self.cuts_)
        steps = np.arange(self.cuts_.size - 1)
        at_risk = (index[None, :] >= steps[:, None]).sum(axis=1)
        deaths = np.bincount(index[events & (index >= 0)], minlength=steps.size)[:steps.size]
        hazard = np.clip(deaths / np.maximum(at_risk, 1), 1e-4, 1 - 1e-4)
        self._initial_logits = np.log(hazard / (1 - hazard))

    def _target_tensor(self, durations, events):
        index = discretize(durations, events, self.cuts_)
        return torch.as_tensor(np.stack([index, events.astype(np.int64)], axis=1), dtype=torch.float32)

    def _build_network(self, n_features):
        network = build_mlp(n_features, self.hidden_units, self.cuts_.size - 1, activation=self.activation,
                            dropout=self.dropout, batch_norm=self.batch_norm)
        with torch.no_grad():
            network.layers[-1].bias.copy_(torch.as_tensor(self._initial_logits, dtype=torch.float32))
        return network

    def _step_loss(self, network):
        def step_loss(batch):
            logits = network(batch[0])
            target = batch[1]
            return logistic_hazard_loss(logits, target[:, 0], target[:, 1]), logits

        return step_loss

    def _after_training(self, outputs, durations, events):
        self.risk_scale_, self.reference_log_hazard_ = 1.0, None

    # -- recalibration -----------------------------------------------------------------
    def rescale_risk(self, factor: float, x, duration=None, event=None) -> "LogisticHazard":
        """Spread (``factor`` > 1) or shrink each interval's log hazard increment about its mean over ``x``.

        The counterpart of ``DeepSurv.rescale_risk`` for interval hazards (see the module docstring); the
        increments' mean over ``x`` is the pivot, so ``duration`` and ``event`` are not needed (they are
        accepted for one signature across survival models). Rescaling again starts from the trained model.

        Args:
            factor: a positive number (1 leaves the model as trained).
            x: the rows whose mean is the pivot (the training rows).
        """
        self._require_fitted("rescale_risk")
        factor = check_rescale_factor(factor)
        self.reference_log_hazard_ = _log_increment(super()._predict_outputs(x)).mean(axis=0)  # the trained logits
        self.risk_scale_ = factor
        return self

    def _predict_outputs(self, x) -> np.ndarray:
        logits = super()._predict_outputs(x)
        if self.reference_log_hazard_ is None or self.risk_scale_ == 1.0:
            return logits
        reference = self.reference_log_hazard_
        increment = np.exp(reference + self.risk_scale_ * (_log_increment(logits) - reference))
        with np.errstate(over="ignore", divide="ignore"):  # softplus⁻¹(u) = log(eᵘ − 1), ≈ u for large u
            return np.where(increment > 30.0, increment, np.log(np.expm1(np.minimum(increment, 30.0))))

    # -- prediction --------------------------------------------------------------------
    def _survival_at_cuts(self, logits: np.ndarray) -> np.ndarray:
        """S at τ_0..τ_m, shape (n, m + 1); log(1 − sigmoid(z)) = −softplus(z), summed for stability."""
        log_survival = -np.cumsum(np.logaddexp(0.0, logits), axis=1)
        return np.exp(np.concatenate([np.zeros((logits.shape[0], 1)), log_survival], axis=1))

    def _survival_from_outputs(self, outputs, times):
        at_cuts = self._survival_at_cuts(outputs)
        cuts = self.cuts_
        index = np.clip(np.searchsorted(cuts, times, side="right") - 1, 0, cuts.size - 2)
        fraction = np.clip((times - cuts[index]) / (cuts[index + 1] - cuts[index]), 0.0, 1.0)
        return at_cuts[:, index] + fraction[None, :] * (at_cuts[:, index + 1] - at_cuts[:, index])

    def _risk_from_outputs(self, outputs):
        at_cuts = self._survival_at_cuts(outputs)
        widths = np.diff(self.cuts_)
        restricted_mean = ((at_cuts[:, :-1] + at_cuts[:, 1:]) * 0.5 * widths[None, :]).sum(axis=1)
        return self.cuts_[-1] - self.cuts_[0] - restricted_mean

    def _median_from_outputs(self, outputs):
        at_cuts = self._survival_at_cuts(outputs)
        below = at_cuts <= 0.5
        reached = below.any(axis=1)
        k = np.where(reached, below.argmax(axis=1), 1)  # first cut with S ≤ 1/2 (k ≥ 1 since S(τ_0) = 1)
        rows = np.arange(at_cuts.shape[0])
        upper, lower = at_cuts[rows, k], at_cuts[rows, k - 1]
        cuts = self.cuts_
        step = np.where(lower > upper, (lower - 0.5) / np.where(lower > upper, lower - upper, 1.0), 0.0)
        median = cuts[k - 1] + step * (cuts[k] - cuts[k - 1])
        return np.where(reached, median, np.inf)

    def _state_arrays(self):
        arrays = {**super()._state_arrays(), "cuts_": self.cuts_}
        if self.reference_log_hazard_ is not None:
            arrays["reference_log_hazard_"] = self.reference_log_hazard_
        return arrays

    def _load_state_arrays(self, arrays):
        super()._load_state_arrays(arrays)
        self.cuts_ = arrays["cuts_"]
        self.reference_log_hazard_ = arrays.get("reference_log_hazard_")


def _log_increment(logits: np.ndarray) -> np.ndarray:
    """``log(−log(1 − sigmoid(z))) = log softplus(z)``, ≈ z where softplus underflows."""
    with np.errstate(divide="ignore"):
        return np.where(logits < -30.0, logits, np.log(np.logaddexp(0.0, np.maximum(logits, -30.0))))
