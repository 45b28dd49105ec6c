"""``SurvivalModel``: the estimator contract shared by DeepSurv, LinearCox and LogisticHazard.

scikit-learn's contract: ``__init__`` only stores its arguments, ``fit(x, duration,
event, *, validation=None)`` returns ``self``, fitted state ends in ``_``. The
network is a meddl ``Sequential`` trained by the one :class:`~meddl.training.TrainingLoop`
with the model's own ``step_loss``; subclasses add the loss and how network outputs
become risks and survival curves.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
from sklearn.model_selection import train_test_split
import torch

from meddl.errors import DataError, MeddlError, NotFittedError
from meddl.models.sequential import Sequential
from meddl.survival._checks import check_features, check_survival_target, check_times
from meddl.validation import check_parameters
from meddl.training.callbacks import Callback, EarlyStopping, stop_after_tolerating
from meddl.training.loop import TrainingLoop, resolve_device
from meddl.training.optimizers import AdamL2
from meddl.training.seeding import set_seed
from meddl.layers import BatchNormalization, Dense, Dropout, Input
from meddl.survival.saving import load_survival_model, save_survival_model

__all__ = ["SurvivalModel", "build_mlp"]

#: Rules for the parameters shared by the network models (checked in one place, at fit).
NETWORK_CONSTRAINTS: dict[str, tuple] = {
    "hidden_units": ("units",),
    "dropout": ("float", 0, ("open", 1)),
    "activation": ("options", ("relu", "selu", "tanh", "gelu", "leaky_relu", "sigmoid")),
    "batch_norm": ("bool",),
    "learning_rate": ("float", ("open", 0), None),
    "weight_decay": ("float", 0, None),
    "epochs": ("int", 1, None),
    "batch_size": ("int", 1, None),
    "early_stopping_patience": ("int", 0, None),
    "early_stopping_monitor": ("options", ("loss", "c_index")),
    "standardize": ("bool",),
    "seed": ("int", 0, None),
    "device": ("options", ("cpu", "cuda", "auto")),
    "verbose": ("options", (0, 1, 2)),
}
NULLABLE = ("batch_size", "early_stopping_patience")


def build_mlp(n_features: int, hidden_units, n_outputs: int, *, activation: str = "relu", dropout: float = 0.0,
              batch_norm: bool = False, output_bias: bool = True) -> Sequential:
    """An MLP ``Dense → [BatchNorm] → [Dropout]`` per hidden layer, then ``Dense(n_outputs)`` (linear)."""
    units = (hidden_units,) if isinstance(hidden_units, (int, np.integer)) else tuple(hidden_units)
    layers: list = [Input(shape=(n_features,))]
    for width in units:
        layers.append(Dense(int(width), activation=activation))
        if batch_norm:
            layers.append(BatchNormalization())
        if dropout > 0:
            layers.append(Dropout(dropout))
    layers.append(Dense(n_outputs, use_bias=output_bias))
    return Sequential(layers, name="risk_network")


class _ValidationConcordance(Callback):
    """Log Harrell's C-index on the validation data as ``val_c_index`` (before EarlyStopping reads it)."""

    def __init__(self, estimator: "SurvivalModel", x_val: torch.Tensor, durations: np.ndarray, events: np.ndarray):
        self.estimator, self.x_val, self.durations, self.events = estimator, x_val, durations, events

    def on_epoch_end(self, epoch, logs=None):
        from sksurv.metrics import concordance_index_censored

        outputs = self.model.predict_tensor(self.x_val).double().cpu().numpy()
        risk = self.estimator._risk_from_outputs(outputs)
        logs["val_c_index"] = float(concordance_index_censored(self.events, self.durations, risk)[0])


class SurvivalModel:
    """Base class of meddl's survival estimators (not used directly).

    Common methods: :meth:`fit`, :meth:`predict_risk`, :meth:`predict_survival`,
    :meth:`predict_median`, :meth:`predict_at`, :meth:`save` / :meth:`load`.
    """

    _parameter_constraints: dict[str, tuple] = {}
    _nullable: tuple[str, ...] = NULLABLE

    # -- parameters ---------------------------------------------------------
    @classmethod
    def _parameter_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [name for name in signature.parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, as scikit-learn's ``get_params`` (no nested estimators, so ``deep`` changes nothing)."""
        return {name: getattr(self, name) for name in self._parameter_names()}

    def set_params(self, **params) -> "SurvivalModel":
        names = self._parameter_names()
        for key, value in params.items():
            if key not in names:
                raise MeddlError(f"Invalid parameter {key!r} for {type(self).__name__}. Valid parameters: {names}.")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {k: v.default for k, v in inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k) != v]
        return f"{type(self).__name__}({', '.join(changed)})"

    # -- hooks for subclasses ---------------------------------------------------
    def _build_network(self, n_features: int) -> Sequential:
        raise NotImplementedError

    def _prepare_target(self, durations: np.ndarray, events: np.ndarray) -> None:
        """Fit what the target encoding needs before training (e.g. time cuts)."""

    def _target_tensor(self, durations: np.ndarray, events: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.stack([durations, events.astype(np.float64)], axis=1), dtype=torch.float32)

    def _step_loss(self, network: Sequential):
        raise NotImplementedError

    def _after_training(self, outputs: np.ndarray, durations: np.ndarray, events: np.ndarray) -> None:
        """Fit what prediction needs after training (e.g. the baseline hazard) from training outputs."""

    def _risk_from_outputs(self, outputs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _survival_from_outputs(self, outputs: np.ndarray, times: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _median_from_outputs(self, outputs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _optimizer_weight_decay(self) -> float:
        return float(getattr(self, "weight_decay", 0.0))

    def _callbacks(self) -> list[Callback]:
        return []

    # -- fitting ----------------------------------------------------------------
    def _check_parameters(self) -> None:
        check_parameters(self, self._parameter_constraints, self._nullable)

    def _split(self, x, durations, events, validation):
        """Return the training rows and the validation data ``(x, durations, events)`` or None."""
        n = len(durations)
        if validation is None:
            return np.arange(n), None
        if isinstance(validation, float) and not isinstance(validation, bool):
            if not 0 < validation < 1:
                raise MeddlError(f"The 'validation' fraction must be in (0, 1). Got {validation!r} instead.")
            stratify = events if min(events.sum(), (~events).sum()) >= 2 else None
            try:
                train_rows, val_rows = train_test_split(np.arange(n), test_size=validation, random_state=self.seed,
                                                        stratify=stratify)
            except ValueError as exc:
                raise DataError(f"validation={validation} cannot split {n} samples: {exc}") from None
            if not events[train_rows].any():
                raise DataError("The training part of the validation split has no events; use a smaller 'validation'.")
            return np.sort(train_rows), (x[val_rows], durations[val_rows], events[val_rows])
        if isinstance(validation, (tuple, list)) and len(validation) == 3:
            x_val = check_features(validation[0], x.shape[1], "validation[0]")
            d_val, e_val = check_survival_target(validation[1], validation[2], n_samples=len(x_val),
                                                 duration_name="validation[1]", event_name="validation[2]")
            return np.arange(n), (x_val, d_val, e_val)
        raise MeddlError("The 'validation' argument must be None, a fraction in (0, 1) or a tuple "
                         f"(x_val, duration_val, event_val). Got {type(validation).__name__} instead.")

    def fit(self, x, duration, event, *, validation=None) -> "SurvivalModel":
        """Train on covariates ``x`` (n, features), times ``duration`` (n,) and ``event`` (n,) 0/1.

        Args:
            validation: ``None``; a fraction in (0, 1) of the rows to hold out (stratified by event);
                or ``(x_val, duration_val, event_val)``. With validation data the network is
                early-stopped on the validation loss (or C-index, see ``early_stopping_monitor``)
                and the best epoch's weights are restored. The standardisation and the Breslow
                baseline use every row of ``x`` (a held-out fraction included), the network and
                the time cuts only the training rows.

        Returns:
            self
        """
        self._check_parameters()
        x = check_features(x)
        durations, events = check_survival_target(duration, event, n_samples=len(x))
        if not events.any():
            raise DataError("Cannot fit a survival model: 'event' has no events (all samples are censored).")
        set_seed(int(self.seed))
        device = resolve_device(self.device)
        # meddl's dtype policy (Keras's floatx): the network is built in torch's default dtype; data follow it.
        self.dtype_ = torch.get_default_dtype()
        self.n_features_in_ = x.shape[1]
        if self.standardize:
            self.mean_ = x.mean(axis=0)
            scale = x.std(axis=0)
            self.scale_ = np.where(scale > 0, scale, 1.0)
        else:
            self.mean_, self.scale_ = np.zeros(x.shape[1]), np.ones(x.shape[1])
        train_rows, validation_data = self._split(x, durations, events, validation)
        self._prepare_target(durations[train_rows], events[train_rows])
        network = self._build_network(x.shape[1]).to(device)
        x_all = self._tensor(x, device)
        train = (x_all[train_rows], self._target_tensor(durations[train_rows], events[train_rows]).to(device, self.dtype_))
        val = None
        callbacks = list(self._callbacks())
        if validation_data is not None:
            if self.early_stopping_patience is not None and not validation_data[2].any():
                raise DataError("The validation data have no events, so neither the validation loss nor the "
                                "C-index can guide early stopping. Use a larger validation split or "
                                "early_stopping_patience=None.")
            x_val = self._tensor(validation_data[0], device)
            val = (x_val, self._target_tensor(validation_data[1], validation_data[2]).to(device, self.dtype_))
            if self.early_stopping_monitor == "c_index":
                callbacks.append(_ValidationConcordance(self, x_val, validation_data[1], validation_data[2]))
            if self.early_stopping_patience is not None:
                monitor = "val_loss" if self.early_stopping_monitor == "loss" else "val_c_index"
                callbacks.append(stop_after_tolerating(int(self.early_stopping_patience), monitor=monitor,
                                                       mode="min" if monitor == "val_loss" else "max",
                                                       restore_best_weights=True))
        optimizer = AdamL2(learning_rate=float(self.learning_rate),
                           weight_decay=self._optimizer_weight_decay()).build(network.parameters())
        loop = TrainingLoop(network, self._step_loss(network), optimizer, device=device)
        history = loop.fit(train, epochs=int(self.epochs), batch_size=self._batch_size(len(train_rows)),
                           validation=val, callbacks=callbacks, verbose=int(self.verbose))
        network.eval()
        self.network_ = network
        self.history_ = history
        stopper = next((c for c in callbacks if isinstance(c, EarlyStopping)), None)
        self.best_epoch_ = (stopper.best_epoch + 1) if stopper is not None and stopper.best_epoch is not None \
            else len(history.epoch)
        self._after_training(self._outputs(x_all), durations, events)
        return self

    def _batch_size(self, n: int) -> int | None:
        size = self.batch_size
        if size is None or size >= n:
            return None
        size = int(size)
        while n % size == 1:  # a last batch of one sample has no risk set (and breaks batch norm)
            size += 1
        return size

    def _tensor(self, x: np.ndarray, device) -> torch.Tensor:
        scaled = (x - self.mean_) / self.scale_
        return torch.as_tensor(scaled, dtype=getattr(self, "dtype_", torch.float32)).to(device)

    def _outputs(self, x_tensor: torch.Tensor) -> np.ndarray:
        return self.network_.predict_tensor(x_tensor).double().cpu().numpy()

    # -- prediction ----------------------------------------------------------------
    def _require_fitted(self, action: str) -> None:
        if not hasattr(self, "network_"):
            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet. Call fit(x, duration, event) "
                                 f"before {action}.")

    def _predict_outputs(self, x) -> np.ndarray:
        x = check_features(x, self.n_features_in_)
        return self._outputs(self._tensor(x, next(self.network_.parameters()).device))

    def predict_risk(self, x) -> np.ndarray:
        """Risk score of each row, shape (n,): higher means an earlier event (see the class for its scale)."""
        self._require_fitted("predict_risk")
        return self._risk_from_outputs(self._predict_outputs(x))

    def predict_survival(self, x, times) -> np.ndarray:
        """Survival probability S(t | x) for each row and each time, shape (n, len(times)).

        Non-increasing in t, and 1 at t = 0 (unless events were recorded at time 0).
        """
        self._require_fitted("predict_survival")
        times = check_times(times)
        return self._survival_from_outputs(self._predict_outputs(x), times)

    def predict_median(self, x) -> np.ndarray:
        """Median survival time of each row, shape (n,): the first t with S(t | x) ≤ 0.5.

        ``np.inf`` where the predicted curve never reaches 0.5 within the follow-up seen in
        training (the median is then not identifiable from the data, as for Kaplan–Meier).
        """
        self._require_fitted("predict_median")
        return self._median_from_outputs(self._predict_outputs(x))

    def predict_at(self, x, horizons) -> np.ndarray:
        """Probability of the event by each horizon, ``1 − S(h | x)``, shape (n, len(horizons)).

        The "5-year risk" of a clinical report; use :meth:`predict_survival` for S itself.
        """
        self._require_fitted("predict_at")
        horizons = check_times(horizons, "horizons")
        return 1.0 - self._survival_from_outputs(self._predict_outputs(x), horizons)

    # -- saving ------------------------------------------------------------------------
    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"mean_": self.mean_, "scale_": self.scale_}

    def _load_state_arrays(self, arrays: dict[str, np.ndarray]) -> None:
        self.mean_, self.scale_ = arrays["mean_"], arrays["scale_"]

    def save(self, path) -> None:
        """Save to a folder without pickle: JSON config, safetensors network weights and arrays."""
        self._require_fitted("save")
        save_survival_model(self, path)

    @classmethod
    def load(cls, path, *, device: str = "cpu") -> "SurvivalModel":
        """Load a model saved with :meth:`save`; predictions are identical."""
        model = load_survival_model(path, device=device)
        if cls is not SurvivalModel and not isinstance(model, cls):
            raise MeddlError(f"'{path}' holds a {type(model).__name__}, not a {cls.__name__}; "
                             "use meddl.survival.load_survival_model to load any survival model.")
        return model
