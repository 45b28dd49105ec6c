"""``Sequential``: a stack of layers with Keras's compile / fit / evaluate / predict.

Example (the seed's MLP):
    >>> from meddl import Sequential
    >>> from meddl.layers import Dense
    >>> model = Sequential([
    ...     Dense(64, activation="relu", input_shape=(100,)),
    ...     Dense(64, activation="relu"),
    ...     Dense(10, activation="softmax"),
    ... ])
    >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    >>> model.count_params()
    11274
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from meddl.errors import DataError, MeddlError, NotFittedError
from meddl.layers import activations
from meddl.layers.base import Layer
from meddl.layers.input_layer import InputLayer
from meddl.layers.registry import deserialize, serialize
from meddl.models.inputs import as_array, check_finite, check_input_shape, check_same_length
from meddl.models.summary import format_summary
from meddl.models.weighting import sample_weights
from meddl.training import losses as losses_module
from meddl.training import metrics as metrics_module
from meddl.training import optimizers as optimizers_module
from meddl.training.callbacks import Callback
from meddl.training.history import History
from meddl.training.loop import TrainingLoop, inference_batch_size, resolve_device
from meddl.training.seeding import set_seed
from meddl.training.loop import PRECISIONS
from meddl.layers import Conv2D, ResidualBlock
from meddl.training.distributed import rank_and_world
from meddl.models.saving import save_model
from meddl.saving import register_class

__all__ = ["Sequential"]


@register_class("model")
class Sequential(nn.Module):
    """A linear stack of meddl layers; a ``torch.nn.Module`` you can also use directly.

    Args:
        layers: layers to add, in order. An ``Input(shape=...)`` first, or
            ``input_shape=`` on the first layer, builds the weights at once;
            otherwise they are built on the first ``fit``/``predict``.
        name: the model's name (shown by ``summary``).
    """

    def __init__(self, layers: Sequence[Layer] | None = None, *, name: str = "sequential"):
        super().__init__()
        self.name = name
        self.layers = nn.ModuleList()
        self.input_shape_: tuple[int, ...] | None = None
        self.loss: losses_module.Loss | None = None
        self.optimizer: optimizers_module.Optimizer | None = None
        self.metric_functions: list[tuple[str, Any]] = []
        self.device = torch.device("cpu")
        self.precision = "fp32"
        self.history: History | None = None
        self._torch_optimizer: torch.optim.Optimizer | None = None
        self._trained = False
        # Training-only hooks (not saved): a per-layer learning-rate factor {layer name: factor}
        # (e.g. 0.1 for pretrained layers), and a transform applied to each training batch
        # (x, y[, w]) -> (x, y[, w]) before the forward pass (augmentation, mixup).
        self.learning_rate_factors: dict[str, float] = {}
        self.batch_transform = None
        for layer in layers or []:
            self.add(layer)

    # -- structure ---------------------------------------------------------
    def add(self, layer: Layer) -> None:
        """Append a layer (an ``Input`` only as the first entry)."""
        if not isinstance(layer, Layer):
            raise MeddlError(f"Sequential accepts meddl layers (meddl.layers.*); got {type(layer).__name__}.")
        if isinstance(layer, InputLayer):
            if len(self.layers) or self.input_shape_ is not None:
                raise MeddlError("An Input layer can only be the first entry of a Sequential model.")
            self.input_shape_ = layer.shape
            return
        if layer.input_shape_arg is not None:
            if len(self.layers):
                raise MeddlError(f"Only the first layer may set input_shape; layer {len(self.layers) + 1} "
                                 f"({type(layer).__name__}) sets {layer.input_shape_arg}.")
            self.input_shape_ = layer.input_shape_arg
        layer.name = self._unique_name(layer.name or layer.default_name, explicit=layer.name is not None)
        self.layers.append(layer)
        if self.input_shape_ is not None:
            self.build(self.input_shape_)

    def _unique_name(self, base: str, explicit: bool) -> str:
        taken = {layer.name for layer in self.layers}
        if explicit and base in taken:
            raise MeddlError(f"Layer names must be unique within a model; {base!r} is used twice.")
        if base not in taken:
            return base
        index = 1
        while f"{base}_{index}" in taken:
            index += 1
        return f"{base}_{index}"

    @property
    def built(self) -> bool:
        return self.input_shape_ is not None and len(self.layers) > 0 and all(layer.built for layer in self.layers)

    def build(self, input_shape: Sequence[int]) -> None:
        """Create every layer's weights for samples of ``input_shape`` (no batch axis)."""
        shape = tuple(int(d) for d in input_shape)
        if self.input_shape_ is not None and shape != tuple(self.input_shape_):
            raise DataError(f"The model was declared for inputs of shape {tuple(self.input_shape_)}; got {shape}.")
        self.input_shape_ = shape
        for layer in self.layers:
            shape = layer.build_for(shape)
        self.to(self.device)

    @property
    def output_shape(self) -> tuple[int, ...]:
        self._require_built("output_shape")
        return self.layers[-1].output_shape_

    def _require_built(self, action: str) -> None:
        if not len(self.layers):
            raise NotFittedError(f"Cannot {action}: the Sequential model has no layers. Add layers first.")
        if not self.built:
            raise NotFittedError(
                f"Cannot {action}: this Sequential model is not built yet, so it has no weights. "
                "Call fit(x, y) first, or declare the input size with Input(shape=...) or input_shape= on the first layer."
            )

    def _reset_weights(self) -> None:
        """Re-create all weights (used by ``fit(seed=...)`` on a model that was never trained)."""
        shape = self.input_shape_
        for layer in self.layers:
            layer.built = False
        self.input_shape_ = None
        self.build(shape)
        self._torch_optimizer = None

    # -- computation -------------------------------------------------------
    def forward(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:
        if logits:
            return self.forward_logits(x)
        for layer in self.layers:
            x = layer(x)
        return x

    @property
    def final_activation(self) -> str:
        self._require_built("read the final activation")
        return self.layers[-1].activation_name

    def forward_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Like ``forward`` but without the last layer's activation (for stable losses)."""
        layers = self.layers
        for layer in layers[:-1]:
            x = layer(x)
        return layers[-1].call(x)

    def count_params(self) -> int:
        self._require_built("count parameters")
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print) -> str:
        """Print (and return) each layer's output shape and parameter count, as Keras does."""
        self._require_built("summarise the model")
        text = format_summary(self)
        if print_fn is not None:
            print_fn(text)
        return text

    # -- training ----------------------------------------------------------
    def compile(self, optimizer: str | dict | optimizers_module.Optimizer = "rmsprop",
                loss: str | dict | losses_module.Loss | None = None, metrics: Sequence[str] | None = None, *,
                learning_rate: float | None = None, device: str | torch.device = "auto",
                precision: str = "fp32") -> None:
        """Choose the optimizer, loss and metrics (by name or object), the device and the precision."""
        self.optimizer = optimizers_module.get(optimizer, learning_rate)
        self.loss = losses_module.check_loss(loss)
        if isinstance(metrics, str):
            metrics = [metrics]
        self.metric_functions = [metrics_module.get(m) for m in (metrics or [])]
        self.device = resolve_device(device)
        if precision not in PRECISIONS:
            raise MeddlError(f"The 'precision' must be one of {PRECISIONS}. Got {precision!r} instead.")
        self.precision = precision
        self._torch_optimizer = None
        self.to(self.device)

    @property
    def metrics_names(self) -> list[str]:
        return ["loss", *(name for name, _ in self.metric_functions)]

    def _require_compiled(self, action: str) -> None:
        if self.loss is None:
            raise NotFittedError(f"Cannot {action}: call compile(optimizer=..., loss=...) first.")

    def _uses_logits(self) -> bool:
        activation = self.final_activation
        return (not self.loss.from_logits) and self.loss.logits_activation == activation

    def _step_loss(self, logits_mode: bool, module: nn.Module | None = None):
        loss, model = self.loss, self
        module = self if module is None else module  # the DistributedDataParallel wrapper when distributed
        if logits_mode:
            loss = type(self.loss)(**{k: v for k, v in self.loss.get_config().items() if k != "name"})
            loss.from_logits = True

        def step_loss(batch):
            if model.batch_transform is not None and model.training:
                batch = model.batch_transform(batch)
            out = module(batch[0], logits=logits_mode)
            return loss(out, batch[1], batch[2] if len(batch) > 2 else None), out

        return step_loss

    def _loop(self) -> TrainingLoop:
        logits_mode = self._uses_logits()
        if self._torch_optimizer is None:
            groups = self.parameter_groups()
            if not groups:
                raise MeddlError("The model has no trainable weights (all layers are frozen).")
            self._torch_optimizer = self.optimizer.build(groups)
        return TrainingLoop(
            self, self._step_loss(logits_mode, self._data_parallel()), self._torch_optimizer,
            metrics=self.metric_functions, metric_kind=self.loss.target_kind,
            output_transform=activations.get(self.final_activation) if logits_mode else None,
            device=self.device, precision=self.precision, threads=self._training_threads(),
        )

    # Below this many multiply-adds per batch (about 2 x parameters x batch size), one CPU thread trains a
    # dense network faster than two: the seed MLP at batch 32 went from 75k to 81k samples/s on 2 cores
    # (bench/seed_throughput.py), and far more on a busy machine. Convolutions keep torch's threads.
    SINGLE_THREAD_WORK = 4_000_000

    def _training_threads(self, batch_size: int = 32) -> int | None:
        if self.device.type != "cpu" or any(isinstance(layer, (Conv2D, ResidualBlock)) for layer in self.layers):
            return None
        return 1 if 2 * self.count_params() * batch_size < self.SINGLE_THREAD_WORK else None

    def parameter_groups(self) -> list:
        """The trainable weights for the optimizer: one list, or torch param groups when
        ``learning_rate_factors`` gives some layers a learning rate of ``factor x`` the optimizer's."""
        if not self.learning_rate_factors:
            return [p for p in self.parameters() if p.requires_grad]
        unknown = sorted(set(self.learning_rate_factors) - {layer.name for layer in self.layers})
        if unknown:
            raise MeddlError(f"learning_rate_factors names layers this model does not have: {unknown}.")
        by_factor: dict[float, list] = {}
        for layer in self.layers:
            factor = float(self.learning_rate_factors.get(layer.name, 1.0))
            by_factor.setdefault(factor, []).extend(p for p in layer.parameters() if p.requires_grad)
        return [{"params": params, "lr": self.optimizer.learning_rate * factor}
                for factor, params in by_factor.items() if params]

    def _data_parallel(self) -> nn.Module:
        """Inside a ``torchrun`` launch, wrap the model in DistributedDataParallel (once)."""
        if rank_and_world()[1] == 1:
            return self
        if getattr(self, "_ddp", None) is None:
            from torch.nn.parallel import DistributedDataParallel

            # Stored outside nn.Module's registry so the wrapper is not part of this model's state.
            object.__setattr__(self, "_ddp", DistributedDataParallel(
                self, device_ids=[self.device.index] if self.device.type == "cuda" else None))
        return self._ddp

    def _prepare_x(self, x: Any, argument: str = "x") -> np.ndarray:
        array = as_array(x, argument)
        check_finite(array, argument)
        if array.ndim < 2:
            raise DataError(f"'{argument}' must have one row per sample, shape (N, features...); got shape {array.shape}. "
                            f"For a single feature use {argument}.reshape(-1, 1).")
        if self.input_shape_ is not None:
            check_input_shape(array, self.input_shape_, argument)
        return array

    def _prepare_xy(self, x, y, x_name="x", y_name="y") -> tuple[torch.Tensor, torch.Tensor]:
        x_array = self._prepare_x(x, x_name)
        y_array = as_array(y, y_name)
        check_finite(y_array, y_name)
        check_same_length(x_array, y_array, x_name, y_name)
        if not self.built:
            self.build(x_array.shape[1:])
        targets = self.loss.prepare_targets(y_array, self.output_shape[-1], y_name)
        return self._to_device(x_array), targets.to(self.device)

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32).to(self.device)

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = 32, epochs: int = 1, verbose: int = 1,
            callbacks: Sequence[Callback] | None = None, validation_split: float = 0.0,
            validation_data: tuple | None = None, shuffle: bool = True,
            class_weight: dict[int, float] | str | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, seed: int | None = None, sampler=None) -> History:
        """Train for ``epochs`` epochs; return a :class:`~meddl.training.History`.

        ``batch_size=None`` is full-batch gradient descent. ``validation_split``
        holds out the last fraction of ``x``/``y`` (before shuffling, as Keras).
        ``class_weight`` is a ``{class: weight}`` dict or ``"balanced"``.
        ``seed`` makes the run repeatable (and re-draws the initial weights of a never-trained model).
        ``sampler`` (``epoch -> row indices``) draws each epoch's rows, e.g. balanced sampling.
        """
        self._require_compiled("fit")
        _check_int(epochs, "epochs", minimum=1)
        if batch_size is not None:
            _check_int(batch_size, "batch_size", minimum=1)
        if verbose not in (0, 1, 2):
            raise MeddlError(f"The 'verbose' parameter must be 0, 1 or 2. Got {verbose!r} instead.")
        if seed is not None:
            set_seed(seed)
            if self.built and not self._trained:
                self._reset_weights()
        x_t, y_t = self._prepare_xy(x, y)
        weights = sample_weights(y_t, self.loss, class_weight, sample_weight)
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise DataError("'validation_data' must be a tuple (x_val, y_val); got "
                                f"{type(validation_data).__name__}.")
            validation = self._prepare_xy(validation_data[0], validation_data[1], "validation_data[0]", "validation_data[1]")
        elif validation_split:
            if not 0 < validation_split < 1:
                raise MeddlError(f"The 'validation_split' must be a float in (0, 1). Got {validation_split!r} instead.")
            cut = int(round(len(x_t) * (1 - validation_split)))
            if cut <= 0 or cut >= len(x_t):
                raise DataError(f"validation_split={validation_split} leaves no samples for training or validation "
                                f"with {len(x_t)} samples.")
            validation = (x_t[cut:], y_t[cut:])
            x_t, y_t = x_t[:cut], y_t[:cut]
            weights = None if weights is None else weights[:cut]
        train = (x_t, y_t) if weights is None else (x_t, y_t, weights)
        loop = self._loop()
        history = loop.fit(train, epochs=epochs, batch_size=batch_size, validation=validation, shuffle=shuffle,
                           callbacks=callbacks or (), verbose=verbose, initial_epoch=initial_epoch, sampler=sampler)
        self._trained = True
        self.history = history
        self.precision_used_ = loop.precision  # what "auto" chose, or the precision asked for
        return history

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int = 0,
                 return_dict: bool = False):
        """Loss and metrics on ``(x, y)``: a float, a list ``[loss, *metrics]``, or a dict with ``return_dict``."""
        self._require_compiled("evaluate")
        self._require_built("evaluate")
        x_t, y_t = self._prepare_xy(x, y)
        logs = self._loop().evaluate((x_t, y_t), batch_size=batch_size)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    @torch.no_grad()
    def predict(self, x: Any, batch_size: int | None = None, verbose: int = 0) -> np.ndarray:
        """Model outputs (after the final activation) for ``x`` as a NumPy array."""
        self._require_built("predict")
        return self.predict_tensor(self._to_device(self._prepare_x(x)), batch_size).cpu().numpy()

    @torch.no_grad()
    def predict_tensor(self, x: torch.Tensor, batch_size: int | None = None, logits: bool = False) -> torch.Tensor:
        """Outputs for an already-checked tensor, in inference mode and batches."""
        was_training = self.training
        self.eval()
        size = inference_batch_size(x, batch_size)
        forward = self.forward_logits if logits else self.forward
        outputs = [forward(x[start:start + size]) for start in range(0, x.shape[0], size)]
        self.train(was_training)
        return torch.cat(outputs) if outputs else torch.empty((0, *self.output_shape))

    # -- weights and config -----------------------------------------------
    def named_weights(self) -> dict[str, torch.Tensor]:
        """All weights and statistics keyed ``"<layer name>.<weight>"`` (the saved-file keys)."""
        self._require_built("read weights")
        weights = {}
        for layer in self.layers:
            for key, tensor in layer.state_dict().items():
                weights[f"{layer.name}.{key}"] = tensor
        return weights

    def load_named_weights(self, weights: dict[str, torch.Tensor], strict: bool = True) -> list[str]:
        """Copy weights in by ``"<layer>.<weight>"`` name; return the names loaded."""
        own = self.named_weights()
        loaded = []
        for key, tensor in weights.items():
            if key not in own:
                if strict:
                    raise MeddlError(f"Unexpected weight {key!r}; this model has {sorted(own)}.")
                continue
            if tuple(own[key].shape) != tuple(tensor.shape):
                raise MeddlError(f"Weight {key!r} has shape {tuple(tensor.shape)} but the model needs {tuple(own[key].shape)}.")
            with torch.no_grad():
                own[key].copy_(tensor.to(own[key].device, own[key].dtype))
            loaded.append(key)
        missing = sorted(set(own) - set(loaded))
        if strict and missing:
            raise MeddlError(f"Weights missing for {missing}.")
        return loaded

    def get_weights(self) -> list[np.ndarray]:
        return [t.detach().cpu().numpy().copy() for t in self.named_weights().values()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        own = self.named_weights()
        if len(weights) != len(own):
            raise MeddlError(f"set_weights needs {len(own)} arrays; got {len(weights)}.")
        self.load_named_weights({k: torch.as_tensor(np.asarray(w)) for k, w in zip(own, weights)})

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "input_shape": None if self.input_shape_ is None else list(self.input_shape_),
                "layers": [serialize(layer) for layer in self.layers]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Sequential":
        layers = [deserialize(spec) for spec in config.get("layers", [])]
        for layer in layers:
            layer.input_shape_arg = None
        model = cls(layers, name=config.get("name", "sequential"))
        if config.get("input_shape"):
            model.build(config["input_shape"])
        return model

    def compile_config(self) -> dict[str, Any] | None:
        if self.loss is None:
            return None
        return {"optimizer": self.optimizer.get_config(), "loss": self.loss.get_config(),
                "metrics": [name for name, _ in self.metric_functions], "precision": self.precision}

    def save(self, path, *, metadata: dict[str, Any] | None = None) -> None:
        """Save to a folder: architecture + compile settings as JSON, weights as safetensors (atomic)."""
        save_model(self, path, metadata=metadata)


def _check_int(value: Any, argument: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise MeddlError(f"The '{argument}' parameter must be an integer >= {minimum}. Got {value!r} instead.")
