"""Cox proportional-hazards models: ``DeepSurv`` (an MLP risk) and ``LinearCox`` (a linear risk).

Both learn a log-risk η(x) with the Cox partial likelihood (Efron's ties by
default) and then fit Breslow's baseline hazard on the training data, so that
``S(t | x) = exp(−H0(t)·exp(η(x)))``. ``predict_risk`` returns η, the log
partial hazard (defined up to an additive constant; only differences matter).

Example:
    >>> import numpy as np
    >>> from meddl.survival import DeepSurv
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 3))
    >>> time = rng.exponential(np.exp(-x[:, 0]))
    >>> model = DeepSurv(hidden_units=(16,), epochs=20).fit(x, time, np.ones(200))
    >>> model.predict_survival(x[:2], [0.0, 1.0]).shape
    (2, 2)
"""

from __future__ import annotations

import numpy as np
import torch

from meddl.survival._base import NETWORK_CONSTRAINTS, SurvivalModel, build_mlp
from meddl.survival._checks import check_rescale_factor, check_survival_target
from meddl.survival.baseline import BreslowBaseline
from meddl.survival.losses import TIES, cox_ph_loss
from meddl.training.callbacks import Callback, ReduceLROnPlateau
from meddl.saving import register_class

__all__ = ["DeepSurv", "LinearCox"]

_LOG2 = float(np.log(2.0))


class _CoxModel(SurvivalModel):
    """Shared Cox machinery: the loss, the Breslow baseline and curves from η.

    ``risk_scale_`` (1 after ``fit``) multiplies the network's log-risk everywhere (risk, curves, median):
    :meth:`rescale_risk` sets it when the predictions prove too moderate or too extreme.
    """

    risk_scale_: float = 1.0

    def _step_loss(self, network):
        ties = self.ties

        def step_loss(batch):
            log_risk = network(batch[0])
            target = batch[1]
            return cox_ph_loss(log_risk, target[:, 0], target[:, 1], ties=ties) + self._penalty(network), log_risk

        return step_loss

    def _penalty(self, network) -> torch.Tensor | float:
        """Extra loss term (LinearCox's ridge penalty); none by default."""
        return 0.0

    def _log_risk(self, outputs) -> np.ndarray:
        return self.risk_scale_ * outputs[:, 0]

    def _after_training(self, outputs, durations, events):
        self.risk_scale_ = 1.0
        self.baseline_ = BreslowBaseline().fit(self._log_risk(outputs), durations, events)

    def rescale_risk(self, factor: float, x, duration, event) -> "_CoxModel":
        """Multiply the log-risk by ``factor`` and refit the Breslow baseline on ``x`` (the training rows).

        The recalibration of a Cox model whose calibration slope is ``factor`` (van Houwelingen, Stat Med
        2000): its hazard ratios are raised to that power, and the baseline is re-estimated so the curves
        stay right on average. The C-index is unchanged (a positive factor keeps the order).

        Args:
            factor: a positive number (1 leaves the model as trained).
            x, duration, event: the rows the baseline was fitted on (the training rows).
        """
        self._require_fitted("rescale_risk")
        factor = check_rescale_factor(factor)
        outputs = self._predict_outputs(x)
        durations, events = check_survival_target(duration, event, n_samples=len(outputs))
        self.risk_scale_ = factor
        self.baseline_ = BreslowBaseline().fit(self._log_risk(outputs), durations, events)
        return self

    def _risk_from_outputs(self, outputs):
        return self._log_risk(outputs)

    def _survival_from_outputs(self, outputs, times):
        return self.baseline_.survival(self._log_risk(outputs), times)

    def _median_from_outputs(self, outputs):
        # S(t) ≤ 1/2  ⇔  H0(t) ≥ log 2 · e^{−η}; H0 is non-decreasing, so one searchsorted per row.
        base = self.baseline_
        with np.errstate(over="ignore"):
            needed = _LOG2 * np.exp(-self._log_risk(outputs))
        index = np.searchsorted(base.cumulative_hazard_, needed, side="left")
        reached = index < base.times_.size
        return np.where(reached, base.times_[np.clip(index, 0, base.times_.size - 1)], np.inf)

    def _state_arrays(self):
        return {**super()._state_arrays(), "baseline_times_": self.baseline_.times_,
                "baseline_cumulative_hazard_": self.baseline_.cumulative_hazard_}

    def _load_state_arrays(self, arrays):
        super()._load_state_arrays(arrays)
        self.baseline_ = BreslowBaseline.from_arrays(arrays["baseline_times_"], arrays["baseline_cumulative_hazard_"])


@register_class("survival")
class DeepSurv(_CoxModel):
    """DeepSurv (Katzman et al. 2018): a multilayer perceptron log-risk trained with the Cox partial likelihood.

    Args:
        hidden_units: widths of the hidden layers, e.g. ``(64, 64)``.
        dropout: dropout rate after each hidden layer.
        activation: hidden-layer activation (``"relu"``, ``"selu"``, ``"tanh"``, ...).
        batch_norm: batch normalisation after each hidden layer.
        learning_rate, weight_decay: Adam's step size and L2 penalty (added to the gradient, torch's form).
        epochs: most epochs to train.
        batch_size: samples per batch (the Cox risk sets are formed within a batch); ``None`` = full batch.
        early_stopping_patience: epochs without validation improvement before stopping (only with
            ``fit(..., validation=...)``; the best weights are restored); ``None`` = never stop early.
        early_stopping_monitor: ``"loss"`` (validation partial likelihood) or ``"c_index"``.
        ties: ``"efron"`` or ``"breslow"``.
        standardize: centre and scale ``x`` with the training mean and SD (stored with the model).
        seed: seed of the weights, the shuffling and the validation split.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        verbose: 0 silent, 1 progress bar, 2 one line per epoch.

    Fitted attributes: ``network_`` (a meddl ``Sequential``), ``baseline_`` (:class:`BreslowBaseline`),
    ``history_``, ``best_epoch_``, ``n_features_in_``, ``mean_``, ``scale_``.
    """

    _parameter_constraints = {**NETWORK_CONSTRAINTS, "ties": ("options", TIES)}

    def __init__(self, hidden_units=(64, 64), dropout: float = 0.1, activation: str = "relu", batch_norm: bool = False,
                 *, learning_rate: float = 1e-3, weight_decay: float = 1e-4, epochs: int = 100,
                 batch_size: int | None = 256, early_stopping_patience: int | None = 10,
                 early_stopping_monitor: str = "loss", ties: str = "efron", standardize: bool = True,
                 seed: int = 0, device: str = "cpu", verbose: int = 0):
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
        self.ties = ties
        self.standardize = standardize
        self.seed = seed
        self.device = device
        self.verbose = verbose

    def _build_network(self, n_features):
        # No output bias: the Cox likelihood is blind to a constant, the baseline hazard absorbs it.
        return build_mlp(n_features, self.hidden_units, 1, activation=self.activation, dropout=self.dropout,
                         batch_norm=self.batch_norm, output_bias=False)


class _Converged(Callback):
    """Stop when the training loss has improved by less than ``tol`` (relative) for ``patience`` epochs."""

    def __init__(self, tol: float, patience: int = 10):
        self.tol, self.patience = tol, patience

    def on_train_begin(self, logs=None):
        self.best, self.wait = np.inf, 0

    def on_epoch_end(self, epoch, logs=None):
        loss = logs["loss"]
        if loss < self.best - self.tol * (1.0 + abs(self.best if np.isfinite(self.best) else loss)):
            self.best, self.wait = loss, 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.trainer.stop_training = True


@register_class("survival")
class LinearCox(_CoxModel):
    """The linear Cox proportional-hazards model, η(x) = x·β, as a baseline with DeepSurv's API.

    Fitted by full-batch Adam on the Cox partial likelihood (Efron's ties) plus
    ``l2/2·‖β‖²`` (β on the standardised scale when ``standardize``), until the
    loss stops improving. With ``l2=0`` it matches lifelines' ``CoxPHFitter(penalizer=0)``.

    Args:
        l2: ridge penalty on the coefficients (on the per-event-normalised likelihood).
        learning_rate, epochs, tol: optimiser step, most epochs, relative convergence tolerance.
        Other arguments as :class:`DeepSurv`.

    Fitted attributes: ``coef_`` (β on the original scale of ``x``), ``baseline_``, ``network_``, ...
    """

    _parameter_constraints = {
        **{k: NETWORK_CONSTRAINTS[k] for k in ("learning_rate", "epochs", "batch_size", "early_stopping_patience",
                                                "early_stopping_monitor", "standardize", "seed", "device", "verbose")},
        "l2": ("float", 0, None),
        "tol": ("float", 0, None),
        "ties": ("options", TIES),
    }

    def __init__(self, l2: float = 1e-3, *, learning_rate: float = 0.05, epochs: int = 2000, tol: float = 1e-7,
                 batch_size: int | None = None, early_stopping_patience: int | None = None,
                 early_stopping_monitor: str = "loss", ties: str = "efron", standardize: bool = True, seed: int = 0,
                 device: str = "cpu", verbose: int = 0):
        self.l2 = l2
        self.learning_rate = learning_rate
        self.epochs = epochs
        self.tol = tol
        self.batch_size = batch_size
        self.early_stopping_patience = early_stopping_patience
        self.early_stopping_monitor = early_stopping_monitor
        self.ties = ties
        self.standardize = standardize
        self.seed = seed
        self.device = device
        self.verbose = verbose

    def _build_network(self, n_features):
        network = build_mlp(n_features, (), 1, output_bias=False)
        with torch.no_grad():
            network.layers[0].kernel.zero_()  # the problem is convex: start at β = 0 like lifelines
        return network

    def _optimizer_weight_decay(self):
        return 0.0

    def _penalty(self, network):
        if self.l2 == 0:
            return 0.0
        return 0.5 * float(self.l2) * network.layers[0].kernel.pow(2).sum()

    def _callbacks(self):
        # Adam oscillates near the optimum of a convex loss; halving the step on plateaus settles it
        # (β within ~1e-4 relative of lifelines' Newton solution on WHAS500).
        return [ReduceLROnPlateau(monitor="loss", factor=0.5, patience=20, min_delta=0.0, min_lr=1e-6),
                _Converged(float(self.tol), patience=50)]

    @property
    def coef_(self) -> np.ndarray:
        """Coefficients β on the original scale of ``x`` (η = x·β + constant)."""
        self._require_fitted("reading coef_")
        kernel = self.network_.layers[0].kernel.detach().double().cpu().numpy()[:, 0]
        return self.risk_scale_ * kernel / self.scale_
