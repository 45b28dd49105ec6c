"""Losses by name, Keras style, computed stably from logits where they can be.

A loss knows what targets it needs (``prepare_targets`` validates and converts
them once, before training) and computes the weighted batch mean
``mean(w_i * l_i)``, as Keras does.

When a model ends in ``sigmoid`` (binary cross-entropy) or ``softmax``
(categorical cross-entropies), the model hands the loss its logits and the
loss uses ``log-sum-exp`` forms: no ``log(0)``, no overflow.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from meddl.errors import DataError, MeddlError, unknown_name_error
from meddl.saving import custom_object

__all__ = [
    "Loss",
    "MeanSquaredError",
    "MeanAbsoluteError",
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "SparseCategoricalCrossentropy",
    "FocalLoss",
    "CategoricalFocalLoss",
    "BinaryFocalCrossentropy",
    "Huber",
    "LogCosh",
    "Dice",
    "FunctionLoss",
    "NoLoss",
    "get",
    "LOSSES",
]

_EPSILON = 1e-7


class Loss:
    """Base class. Subclasses set ``name``, ``target_kind`` and ``logits_activation``."""

    name = "loss"
    target_kind = "regression"  # one of: regression, binary, categorical, sparse
    logits_activation: str | None = None  # the final activation this loss can fold in

    def __init__(self, from_logits: bool = False, *, name: str | None = None,
                 reduction: str | None = "sum_over_batch_size", dtype=None, axis: int = -1):
        """``name`` and ``dtype`` are accepted as in Keras and change nothing; ``reduction`` must be Keras's
        default, the mean over the batch; ``axis`` the last one."""
        if reduction not in ("sum_over_batch_size", "auto"):
            raise MeddlError(f"{type(self).__name__} in meddl averages the loss over the batch (Keras's "
                             f"reduction='sum_over_batch_size'); reduction={reduction!r} is not supported.")
        if axis != -1:
            raise MeddlError(f"{type(self).__name__} in meddl computes over the last axis; axis={axis!r} is not "
                             "supported.")
        self.from_logits = bool(from_logits)
        if self._has_call():  # Keras names a loss of your own after its class unless you name it
            self.name = name or _snake_case(type(self).__name__)

    def call(self, y_true: torch.Tensor, y_pred: torch.Tensor) -> torch.Tensor:
        """Keras's hook for a loss of your own: a subclass that defines ``call(y_true, y_pred)`` returns one
        loss per sample (or one value for the batch when no sample or class weights are used), written with
        torch operations (``meddl.ops``); it gets the targets as given and the model's activated outputs."""
        raise NotImplementedError

    def _has_call(self) -> bool:
        return type(self).call is not Loss.call

    def _call_values(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        values = self.call(targets, outputs)
        if not isinstance(values, torch.Tensor):
            raise MeddlError(f"The loss {self.name!r} must return a torch tensor (one value per sample); got "
                             f"{type(values).__name__}. Write it with torch operations (meddl.ops) so it can be "
                             "trained.")
        return values

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> torch.Tensor:
        """Keras's order: the (weighted) mean loss of predictions ``y_pred`` for targets ``y_true``.

        Arrays, lists or tensors; ``sample_weight`` weighs each sample, and the mean is
        over all samples (Keras's ``sum_over_batch_size``). Training calls :meth:`compute`.
        """
        y_pred = y_pred if isinstance(y_pred, torch.Tensor) else torch.as_tensor(np.asarray(y_pred, np.float32))
        y_true = y_true if isinstance(y_true, torch.Tensor) else torch.as_tensor(np.asarray(y_true))
        if y_pred.ndim == 1:  # Keras reads one flat vector as one sample; its mean is the same
            y_pred = y_pred.reshape(-1, 1)
        if self.target_kind == "sparse":
            y_true = y_true.reshape(-1).long()
        else:
            y_true = y_true.reshape(y_pred.shape).to(y_pred.dtype)
        weight = None if sample_weight is None else torch.as_tensor(np.asarray(sample_weight), dtype=y_pred.dtype)
        return self.compute(y_pred, y_true, weight)

    def compute(self, outputs: torch.Tensor, targets: torch.Tensor,
                sample_weight: torch.Tensor | None = None) -> torch.Tensor:
        """The training loop's form: model outputs first, targets as :meth:`prepare_targets` made them."""
        if sample_weight is None:
            return self.batch_mean(outputs, targets)
        return (self.per_sample(outputs, targets) * sample_weight).mean()

    def batch_mean(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self._has_call():
            return self._call_values(outputs, targets).mean()
        return self.per_sample(outputs, targets).mean()

    def per_sample(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if not self._has_call():
            raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred), as a Keras "
                                      "loss subclass does.")
        values = self._call_values(outputs, targets)
        if values.ndim == 0 or values.shape[0] != outputs.shape[0]:
            raise MeddlError(f"The loss {self.name!r} must return one value per sample (shape "
                             f"({outputs.shape[0]},)) to be weighted by sample_weight or class_weight; "
                             f"got shape {tuple(values.shape)}.")
        return values.reshape(outputs.shape[0], -1).mean(dim=1)

    def prepare_targets(self, y: np.ndarray, n_outputs: int, argument: str = "y") -> torch.Tensor:
        """Validate ``y`` (already numeric and finite) against ``n_outputs`` and return a tensor.

        A loss of your own (``call``) gets the targets as given, a column ``(N, 1)`` for one output."""
        if not self._has_call():
            raise NotImplementedError(f"{type(self).__name__} must define call(y_true, y_pred), as a Keras "
                                      "loss subclass does.")
        if y.ndim == 1 and n_outputs == 1:
            y = y.reshape(-1, 1)
        return torch.as_tensor(y, dtype=torch.float32)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "from_logits": self.from_logits}


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _column_targets(y: np.ndarray, n_outputs: int, loss: str, argument: str) -> np.ndarray:
    """Targets for one value per output: (N,) becomes (N, 1) when the model has one output."""
    if y.ndim == 1:
        if n_outputs != 1:
            raise DataError(
                f"The model has {n_outputs} outputs but '{argument}' has shape {y.shape} (one value per sample) "
                f"for loss '{loss}'. Use Dense(1) as the last layer, or give '{argument}' shape (N, {n_outputs})."
            )
        return y.reshape(-1, 1)
    if y.ndim >= 2 and y.shape[-1] == n_outputs:  # (N, n_outputs), or one target per position (segmentation)
        return y
    raise DataError(f"Loss '{loss}' needs '{argument}' of shape (N, {n_outputs}) to match the model's "
                    f"{n_outputs} outputs; got shape {y.shape}.")


class MeanSquaredError(Loss):
    """Mean squared error, (1/n) Σ (y − ŷ)²."""

    name = "mean_squared_error"

    def batch_mean(self, outputs, targets):
        return F.mse_loss(outputs, targets)

    def per_sample(self, outputs, targets):
        return (outputs - targets).pow(2).flatten(1).mean(dim=1)

    def prepare_targets(self, y, n_outputs, argument="y"):
        return torch.as_tensor(_column_targets(y, n_outputs, self.name, argument), dtype=torch.float32)


class MeanAbsoluteError(MeanSquaredError):
    """Mean absolute error, (1/n) Σ |y − ŷ|."""

    name = "mean_absolute_error"

    def batch_mean(self, outputs, targets):
        return F.l1_loss(outputs, targets)

    def per_sample(self, outputs, targets):
        return (outputs - targets).abs().flatten(1).mean(dim=1)


class BinaryCrossentropy(Loss):
    """Binary cross-entropy for 0/1 labels, one sigmoid output per label."""

    name = "binary_crossentropy"
    target_kind = "binary"
    logits_activation = "sigmoid"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, **keras_settings):
        super().__init__(from_logits, **keras_settings)
        self.label_smoothing = _check_smoothing(label_smoothing, type(self).__name__)

    def _smoothed(self, targets: torch.Tensor) -> torch.Tensor:
        """Keras's label smoothing: 0/1 targets pulled towards 1/2 by ``label_smoothing / 2``."""
        return targets * (1 - self.label_smoothing) + 0.5 * self.label_smoothing if self.label_smoothing else targets

    def per_sample(self, outputs, targets):
        targets = self._smoothed(targets)
        if self.from_logits:
            losses = F.binary_cross_entropy_with_logits(outputs, targets, reduction="none")
        else:
            losses = F.binary_cross_entropy(outputs.clamp(_EPSILON, 1 - _EPSILON), targets, reduction="none")
        return losses.flatten(1).mean(dim=1)

    def batch_mean(self, outputs, targets):
        targets = self._smoothed(targets)
        if self.from_logits:
            return F.binary_cross_entropy_with_logits(outputs, targets)
        return F.binary_cross_entropy(outputs.clamp(_EPSILON, 1 - _EPSILON), targets)

    def prepare_targets(self, y, n_outputs, argument="y"):
        y = _column_targets(y, n_outputs, self.name, argument)
        bad = (y < 0) | (y > 1)
        if bad.any():
            first = int(np.flatnonzero(bad.any(axis=1))[0])
            raise DataError(f"Loss '{self.name}' needs '{argument}' values in [0, 1] (class labels 0/1); "
                            f"got {y[first].tolist()} at row {first}. For more than two classes use "
                            "'sparse_categorical_crossentropy' with a softmax output.")
        return torch.as_tensor(y, dtype=torch.float32)

    def get_config(self) -> dict[str, Any]:
        smoothing = {"label_smoothing": self.label_smoothing} if self.label_smoothing else {}
        return {**super().get_config(), **smoothing}


class Dice(BinaryCrossentropy):
    """Dice loss ``1 − 2·Σ(y·p) / (Σy + Σp)`` for masks (segmentation) or 0/1 labels, as Keras 3's ``Dice``.

    Over the whole batch's positions, as Keras computes it; with ``sample_weight`` each
    sample's own Dice loss is weighted. It counts overlap, not pixels, so a small lesion
    in a large image is not drowned by the background as it is under cross-entropy.
    """

    name = "dice"
    logits_activation = None  # probabilities in, as Keras's

    def __init__(self, from_logits: bool = False, **keras_settings):
        super().__init__(from_logits, **keras_settings)

    def _probabilities(self, outputs: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(outputs) if self.from_logits else outputs

    def batch_mean(self, outputs, targets):
        p = self._probabilities(outputs)
        return 1 - 2 * (targets * p).sum() / (targets.sum() + p.sum() + _EPSILON)

    def per_sample(self, outputs, targets):
        p, t = self._probabilities(outputs).flatten(1), targets.flatten(1)
        return 1 - 2 * (t * p).sum(dim=1) / (t.sum(dim=1) + p.sum(dim=1) + _EPSILON)


class CategoricalCrossentropy(Loss):
    """Cross-entropy for one-hot (or soft) labels of shape (N, n_classes)."""

    name = "categorical_crossentropy"
    target_kind = "categorical"
    logits_activation = "softmax"

    def __init__(self, from_logits: bool = False, label_smoothing: float = 0.0, **keras_settings):
        super().__init__(from_logits, **keras_settings)
        self.label_smoothing = _check_smoothing(label_smoothing, type(self).__name__)

    def _smoothed(self, targets: torch.Tensor) -> torch.Tensor:
        """Keras's label smoothing: one-hot targets mixed with the uniform ``1 / n_classes``."""
        if not self.label_smoothing:
            return targets
        return targets * (1 - self.label_smoothing) + self.label_smoothing / targets.shape[-1]

    def get_config(self) -> dict[str, Any]:
        smoothing = {"label_smoothing": self.label_smoothing} if self.label_smoothing else {}
        return {**super().get_config(), **smoothing}

    def per_sample(self, outputs, targets):
        targets = self._smoothed(targets)
        log_probs = torch.log_softmax(outputs, dim=-1) if self.from_logits else outputs.clamp(_EPSILON, 1.0).log()
        return -(targets * log_probs).sum(dim=-1)

    def prepare_targets(self, y, n_outputs, argument="y"):
        if y.ndim != 2 or y.shape[1] != n_outputs:
            hint = " For integer class labels use 'sparse_categorical_crossentropy'." if y.ndim == 1 else ""
            raise DataError(f"Loss 'categorical_crossentropy' needs one-hot '{argument}' of shape (N, {n_outputs}); "
                            f"got shape {y.shape}.{hint}")
        return torch.as_tensor(y, dtype=torch.float32)


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for integer class labels in [0, n_classes)."""

    name = "sparse_categorical_crossentropy"
    target_kind = "sparse"
    logits_activation = "softmax"

    def __init__(self, from_logits: bool = False, ignore_class: int | None = None, **keras_settings):
        super().__init__(from_logits, **keras_settings)
        if ignore_class is not None:
            raise MeddlError(f"{type(self).__name__}(ignore_class={ignore_class!r}) is not supported by meddl; drop "
                             "those rows (or give them sample_weight 0) instead.")

    def batch_mean(self, outputs, targets):
        if self.from_logits:
            return F.cross_entropy(outputs, targets)
        return F.nll_loss(outputs.clamp(_EPSILON, 1.0).log(), targets)

    def per_sample(self, outputs, targets):
        if self.from_logits:
            return F.cross_entropy(outputs, targets, reduction="none")
        return F.nll_loss(outputs.clamp(_EPSILON, 1.0).log(), targets, reduction="none")

    def prepare_targets(self, y, n_outputs, argument="y"):
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            hint = " For one-hot labels use 'categorical_crossentropy'." if y.ndim == 2 else ""
            raise DataError(f"Loss 'sparse_categorical_crossentropy' needs integer class labels of shape (N,); "
                            f"got '{argument}' of shape {y.shape}.{hint}")
        if n_outputs < 2:
            raise DataError("Loss 'sparse_categorical_crossentropy' needs a model with one output per class "
                            f"(at least 2); the model has {n_outputs}. For 0/1 labels with Dense(1, "
                            "activation='sigmoid') use 'binary_crossentropy'.")
        if not np.all(np.equal(np.mod(y, 1), 0)):
            raise DataError(f"'{argument}' must hold integer class labels for 'sparse_categorical_crossentropy'; "
                            f"got non-integer values such as {y[np.mod(y, 1) != 0][:3].tolist()}.")
        bad = (y < 0) | (y >= n_outputs)
        if bad.any():
            raise DataError(f"'{argument}' has labels outside [0, {n_outputs}) for a model with {n_outputs} outputs: "
                            f"{np.unique(y[bad])[:5].astype(int).tolist()} (first at row {int(np.flatnonzero(bad)[0])}).")
        return torch.as_tensor(y.astype(np.int64))


def _check_smoothing(value: Any, owner: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise MeddlError(f"The 'label_smoothing' parameter of {owner} must be a float in the range [0, 1]. "
                         f"Got {value!r} instead.")
    return float(value)


def _check_gamma(gamma: Any, owner: str) -> float:
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 <= gamma < float("inf"):
        raise MeddlError(f"The 'gamma' parameter of {owner} must be a float in the range [0, inf). Got {gamma!r} instead.")
    return float(gamma)


def _focal(log_probs: torch.Tensor, targets: torch.Tensor, gamma: float) -> torch.Tensor:
    """Per-sample focal loss −Σ_k t_k (1 − p_k)^γ log p_k for (soft) target rows ``targets``."""
    weights = targets if gamma == 0 else targets * (1 - log_probs.exp()).clamp(min=0).pow(gamma)
    return -(weights * log_probs).sum(dim=-1)


class FocalLoss(SparseCategoricalCrossentropy):
    """Focal loss (Lin et al. 2017) for integer class labels: −(1 − p_t)^γ log p_t.

    Down-weights cases the model already gets right, so training concentrates
    on the hard (often minority-class) ones. ``gamma=0`` is cross-entropy.

    Example:
        >>> loss = FocalLoss(gamma=2.0, from_logits=True)
    """

    name = "focal"

    def __init__(self, gamma: float = 2.0, from_logits: bool = False, **keras_settings):
        super().__init__(from_logits=from_logits, **keras_settings)
        self.gamma = _check_gamma(gamma, type(self).__name__)

    def _log_probs(self, outputs: torch.Tensor) -> torch.Tensor:
        return torch.log_softmax(outputs, dim=-1) if self.from_logits else outputs.clamp(_EPSILON, 1.0).log()

    def batch_mean(self, outputs, targets):
        return self.per_sample(outputs, targets).mean()

    def per_sample(self, outputs, targets):
        one_hot = F.one_hot(targets, outputs.shape[-1]).to(outputs.dtype)
        return _focal(self._log_probs(outputs), one_hot, self.gamma)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gamma": self.gamma}


class CategoricalFocalLoss(CategoricalCrossentropy):
    """Focal loss for one-hot or soft labels of shape (N, n_classes) (e.g. with mixup)."""

    name = "categorical_focal"

    def __init__(self, gamma: float = 2.0, from_logits: bool = False, label_smoothing: float = 0.0, **keras_settings):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, **keras_settings)
        self.gamma = _check_gamma(gamma, type(self).__name__)

    def per_sample(self, outputs, targets):
        targets = self._smoothed(targets)
        log_probs = torch.log_softmax(outputs, dim=-1) if self.from_logits else outputs.clamp(_EPSILON, 1.0).log()
        return _focal(log_probs, targets, self.gamma)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "gamma": self.gamma}


class BinaryFocalCrossentropy(BinaryCrossentropy):
    """Keras's binary focal loss: each value's cross-entropy times ``(1 − p_t)^γ`` (Lin et al. 2017), and with
    ``apply_class_balancing`` times ``alpha`` for positives and ``1 − alpha`` for negatives.

    For 0/1 labels with one sigmoid output per label, where the positives are rare.
    """

    name = "binary_focal_crossentropy"

    def __init__(self, apply_class_balancing: bool = False, alpha: float = 0.25, gamma: float = 2.0,
                 from_logits: bool = False, label_smoothing: float = 0.0, **keras_settings):
        super().__init__(from_logits=from_logits, label_smoothing=label_smoothing, **keras_settings)
        self.gamma = _check_gamma(gamma, type(self).__name__)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha <= 1:
            raise MeddlError(f"The 'alpha' parameter of BinaryFocalCrossentropy must be a float in the range [0, 1]. "
                             f"Got {alpha!r} instead.")
        self.alpha, self.apply_class_balancing = float(alpha), bool(apply_class_balancing)

    def per_sample(self, outputs, targets):
        smoothed = self._smoothed(targets)
        if self.from_logits:
            probabilities = torch.sigmoid(outputs)
            losses = F.binary_cross_entropy_with_logits(outputs, smoothed, reduction="none")
        else:
            probabilities = outputs.clamp(_EPSILON, 1 - _EPSILON)
            losses = F.binary_cross_entropy(probabilities, smoothed, reduction="none")
        p_t = smoothed * probabilities + (1 - smoothed) * (1 - probabilities)  # with the smoothed labels, as Keras
        losses = (1 - p_t).pow(self.gamma) * losses
        if self.apply_class_balancing:
            losses = (smoothed * self.alpha + (1 - smoothed) * (1 - self.alpha)) * losses
        return losses.flatten(1).mean(dim=1)

    def batch_mean(self, outputs, targets):
        return self.per_sample(outputs, targets).mean()

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "apply_class_balancing": self.apply_class_balancing, "alpha": self.alpha,
                "gamma": self.gamma}


class Huber(MeanSquaredError):
    """Huber loss: ``½x²`` for errors ``|x| ≤ delta``, ``delta·(|x| − ½·delta)`` beyond: squared error near the
    target, absolute error for outliers (Keras's default ``delta=1``)."""

    name = "huber"

    def __init__(self, delta: float = 1.0, **keras_settings):
        super().__init__(**keras_settings)
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not delta > 0:
            raise MeddlError(f"The 'delta' parameter of Huber must be a float in the range (0, inf). Got {delta!r} "
                             "instead.")
        self.delta = float(delta)

    def batch_mean(self, outputs, targets):
        return F.huber_loss(outputs, targets, delta=self.delta)

    def per_sample(self, outputs, targets):
        return F.huber_loss(outputs, targets, reduction="none", delta=self.delta).flatten(1).mean(dim=1)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "delta": self.delta}


class LogCosh(MeanSquaredError):
    """``log(cosh(ŷ − y))``: about ``x²/2`` for small errors and ``|x| − log 2`` for large ones (Keras's ``LogCosh``)."""

    name = "log_cosh"

    def batch_mean(self, outputs, targets):
        return self.per_sample(outputs, targets).mean()

    def per_sample(self, outputs, targets):
        error = outputs - targets  # log cosh x = x + softplus(−2x) − log 2, stable for large |x|
        return (error + F.softplus(-2 * error) - np.log(2.0)).flatten(1).mean(dim=1)


class FunctionLoss(Loss):
    """A loss function of your own, ``function(y_true, y_pred)``, as Keras takes it in ``compile(loss=...)``.

    It gets the targets as given (a column ``(N, 1)`` for one output) and the model's
    outputs (probabilities after a softmax, never logits), and returns one loss per
    sample (or one value for the batch, when no ``sample_weight`` is used). A model
    compiled with it saves the function's name; load it with
    ``load_model(path, custom_objects={name: function})``.
    """

    def __init__(self, function: Any):
        if not callable(function):
            raise MeddlError(f"A loss must be a name, a meddl.losses object or a function (y_true, y_pred). "
                             f"Got {function!r} instead.")
        super().__init__(from_logits=False)
        self.function = function
        self.name = getattr(function, "__name__", type(function).__name__)

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "function": True}


class NoLoss(Loss):
    """``compile()`` without a loss, as Keras allows: the model trains on the losses its layers add with
    ``add_loss`` (an endpoint layer that takes the targets as an input); ``y`` may be left out of ``fit``."""

    name = "no_loss"

    def compute(self, outputs, targets, sample_weight=None):
        first = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        return first.sum() * 0.0  # on the outputs' device and dtype; the added losses are summed onto it

    def prepare_targets(self, y, n_outputs, argument="y"):
        return torch.as_tensor(np.asarray(y, dtype=np.float32))

    def get_config(self) -> dict[str, Any]:
        return {"name": None}


LOSSES: dict[str, type[Loss]] = {
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "focal": FocalLoss,
    "categorical_focal": CategoricalFocalLoss,
    "dice": Dice,
    "binary_focal_crossentropy": BinaryFocalCrossentropy,
    "huber": Huber,
    "log_cosh": LogCosh,
}


def get(identifier: Any) -> Loss:
    """Return a fresh loss for a name (``"mse"``, ``"sparse_categorical_crossentropy"``, ...), the object itself,
    or a :class:`FunctionLoss` for a function ``(y_true, y_pred)`` of your own."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, dict) and identifier.get("function"):  # a function of your own, saved by name
        name = str(identifier.get("name"))
        function = custom_object(name)
        if function is None:
            raise MeddlError(f"Unknown loss function {name!r}: pass custom_objects={{{name!r}: {name}}} to load_model.")
        return FunctionLoss(function)
    if callable(identifier) and not isinstance(identifier, (str, type)):
        return FunctionLoss(identifier)
    if isinstance(identifier, dict):
        identifier = dict(identifier)
        name = identifier.pop("name", None)
        return get(name).__class__(**identifier)
    by_class = {cls.__name__: cls for cls in LOSSES.values()}  # Keras also takes loss="BinaryCrossentropy"
    if isinstance(identifier, str) and identifier in by_class:
        return by_class[identifier]()
    if not isinstance(identifier, str) or identifier.lower() not in LOSSES:
        raise unknown_name_error("loss", identifier, [*LOSSES, *by_class])
    return LOSSES[identifier.lower()]()


def check_loss(loss: Any) -> Loss:
    """The loss ``compile`` trains with: :class:`NoLoss` for ``None`` (the layers' ``add_loss`` losses alone)."""
    if loss is None or isinstance(loss, dict) and set(loss) == {"name"} and loss["name"] is None:
        return NoLoss()
    return get(loss)
