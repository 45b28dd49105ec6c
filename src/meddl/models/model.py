"""``Model``: what ``Sequential`` and functional models share — compile / fit / evaluate / predict.

A model is a layer (so it can be used inside another model) that owns a list
of layers. ``meddl.Model(inputs, outputs)`` makes a functional model, as in
Keras. Training goes through the one :class:`~meddl.training.TrainingLoop`.

Dtype policy (Keras's ``floatx``): weights are created in torch's default
dtype when a layer is built, and every input, target and loss follows the
dtype of the model's weights, so ``torch.set_default_dtype(torch.float64)``
before building gives a float64 model that trains in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from meddl.errors import DataError, MeddlError, ModelFileError, NotFittedError
from meddl.layers import activations
from meddl.layers.added_losses import collect_added_losses, top_level_call
from meddl.layers.base import Layer, unique_layer_name
from meddl.models import batch_sources, keras_export, keras_import, multi_output, saving
from meddl.models.subclassing import build_own_model, call_own_model, tracked_layers, tracked_value
from meddl.models.inputs import as_array, check_finite, check_input_shape, check_same_length
from meddl.models.summary import format_summary
from meddl.models.weighting import sample_weights, validation_weights
from meddl.training import losses as losses_module
from meddl.training import metrics as metrics_module
from meddl.training import optimizers as optimizers_module
from meddl.training.callbacks import Callback
from meddl.training.distributed import rank_and_world
from meddl.training.history import History
from meddl.training.loop import PRECISIONS, TrainingLoop, inference_batch_size, resolve_device
from meddl.training.seeding import set_seed

__all__ = ["Model"]


class Model(Layer):
    """Base of every model. ``Model(inputs, outputs)`` builds a functional model (see ``functional.py``);
    a subclass that creates layers in ``__init__`` and computes in ``call`` is a model of your own
    (Keras's subclassing, see ``subclassing.py``)."""

    #: Sequential and functional models hold a graph of layers; a model of your own runs its ``call``
    _graph_model = False
    stop_training = False  # a callback sets self.model.stop_training = True to end fit, as in Keras
    consumes_mask = True  # its own layers use (or drop) a padding mask; the result carries what they leave

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        custom_steps = [name for name in _KERAS_STEP_METHODS if name in vars(cls)]
        if custom_steps and not cls.__module__.startswith("meddl."):
            raise MeddlError(f"{cls.__name__} defines {custom_steps}, which meddl's fit, evaluate and predict never "
                             "call (Keras's custom training steps are not supported). Compute in call() and give "
                             "compile() a loss, a meddl.losses object or a loss function of your own.")

    def __new__(cls, *args, **kwargs):
        if cls is Model:  # Keras's spelling for a functional model
            functional = _FUNCTIONAL_CLASS[0]
            return functional.__new__(functional)
        return super().__new__(cls)

    def __init__(self, *, name: str | None = None, trainable: bool = True, dtype: Any = None):
        if name is None and not self._graph_model:
            name = unique_layer_name(Layer.default_name.fget(self))  # my_model, as Keras names it
        super().__init__(name=name, trainable=trainable, dtype=dtype)
        self.loss: losses_module.Loss | None = None
        self.output_losses: list[losses_module.Loss] | None = None  # one per output, for several outputs
        self.loss_weights: list[float] | None = None
        self.optimizer: optimizers_module.Optimizer | None = None
        self.metric_functions: list[tuple[str, Any]] = []
        self.metric_specs: list[Any] = []  # what compile_config saves: names, metric objects' configs, function names
        self.device = torch.device("cpu")
        self.precision = "fp32"
        self.history: History | None = None
        self.metadata: dict[str, Any] = {}
        self._torch_optimizer: torch.optim.Optimizer | None = None
        self._trained = False
        # Training-only hooks (not saved): a per-layer learning-rate factor {layer name: factor}
        # (e.g. 0.1 for pretrained layers), and a transform applied to each training batch
        # (x, y[, w]) -> (x, y[, w]) before the forward pass (augmentation, mixup).
        self.learning_rate_factors: dict[str, float] = {}
        self.batch_transform = None

    # -- to override ---------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return 1

    @property
    def sample_input_shapes(self) -> list[tuple[int, ...]] | None:
        """One sample's shape per input, or ``None`` before the model knows it."""
        return None if self.input_shape_ is None else [tuple(self.input_shape_)]

    def forward(self, x, logits: bool = False):
        """A model of your own: its ``call`` (it has no separate logits; losses take its outputs)."""
        return call_own_model(self, x)

    def forward_logits(self, x):
        raise MeddlError(f"{type(self).__name__} computes its outputs in call(); meddl cannot separate its logits.")

    @property
    def output_layer(self) -> Layer:
        return self.layers[-1]

    @property
    def input_names(self) -> list[str]:
        return ["input"]

    # -- a model of your own (Keras's subclassing) --------------------------------------------
    @property
    def layers(self) -> Any:
        """The model's layers, as Keras's ``model.layers``; for a model of your own, its layer attributes."""
        own = self._modules.get("layers")
        return own if own is not None else tracked_layers(self)

    def __setattr__(self, name: str, value: Any) -> None:
        if not self._graph_model:
            value = tracked_value(value)  # self.blocks = [Dense(...), ...] trains, as Keras tracks it
        super().__setattr__(name, value)

    def build(self, input_shape: Any = None) -> None:
        """Build a model of your own by calling it once on a zero sample of ``input_shape`` (no batch axis)."""
        if input_shape is None:
            input_shape = self.input_shape_
        if input_shape is None:
            raise MeddlError(f"{type(self).__name__}.build needs the input shape of one sample, e.g. build((100,)).")
        if isinstance(input_shape, (list, tuple)) and len(input_shape) and input_shape[0] is None:
            input_shape = input_shape[1:]  # Keras's build((None, 100))
        self.input_shape_ = tuple(int(d) for d in input_shape)
        self.output_shape_ = build_own_model(self, self.input_shape_)
        self.built = True
        self.to(self.device)

    def compute_output_shape(self, input_shape):
        return self.output_shape_

    def get_config(self) -> dict[str, Any]:
        """A model of your own: the constructor's arguments (override, as for a layer) and the built input shape."""
        config = super().get_config()
        if self.built:
            config["build_input_shape"] = list(self.input_shape_)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Model":
        if cls is Model and "layers" in config and "input_layers" in config:  # Keras's Model.from_config of a
            return _FUNCTIONAL_CLASS[0].from_config(config)                   # functional model's config
        config = dict(config)
        shape = config.pop("build_input_shape", None)
        model = super().from_config(config)
        if shape is not None:
            model.build(shape)
        return model

    # -- structure -------------------------------------------------------------
    @property
    def default_name(self) -> str:
        return "model"

    @property
    def input(self):
        """The model's symbolic input (a list for several), as Keras's ``model.input``."""
        return _one_or_all(getattr(self, "inputs", None), self.name, "input")

    @property
    def output(self):
        return _one_or_all(getattr(self, "outputs", None), self.name, "output")

    def _require_built(self, action: str) -> None:
        if not len(self.layers):
            raise NotFittedError(f"Cannot {action}: the {type(self).__name__} model has no layers. Add layers first.")
        if not self.built:
            raise NotFittedError(
                f"Cannot {action}: this {type(self).__name__} model is not built yet, so it has no weights. "
                "Call fit(x, y) or call the model on data first, or declare the input size with Input(shape=...) "
                "or input_shape= on the first layer."
            )

    def _require_built_layer(self, action: str) -> None:
        self._require_built(action)

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name``, or at position ``index`` of ``model.layers`` (Keras's ``get_layer``)."""
        if (name is None) == (index is None):
            raise MeddlError("get_layer needs exactly one of 'name' or 'index'.")
        if isinstance(name, int) and not isinstance(name, bool):  # get_layer(2) as a position, like Keras 2
            name, index = None, name
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise MeddlError(f"get_layer(index={index}): the model has {len(self.layers)} layers.")
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise MeddlError(f"No layer named {name!r}; the model's layers are {[layer.name for layer in self.layers]}.")

    @property
    def final_activation(self) -> str:
        self._require_built("read the final activation")
        if not self._graph_model:
            return "linear"  # a model of your own: its outputs as call returns them
        layer = self.output_layer
        return layer.activation_name if not isinstance(layer, Model) else "linear"

    def count_params(self) -> int:
        self._require_built("count parameters")
        return sum(layer.count_params() for layer in self.layers)

    def summary(self, print_fn=print, **ignored) -> str:
        """Print (and return) each layer's output shape and parameter count, as Keras does."""
        self._require_built("summarise the model")
        text = format_summary(self)
        if print_fn is not None:
            print_fn(text)
        return text

    def reset_weights(self) -> None:
        """Draw every weight afresh (used by ``fit(seed=...)`` on a model that was never trained)."""
        for layer in self.layers:
            layer.reset_weights()
        self.to(self.device)
        self._torch_optimizer = None

    # -- training ----------------------------------------------------------
    def compile(self, optimizer: str | dict | optimizers_module.Optimizer = "rmsprop",
                loss: str | dict | losses_module.Loss | None = None, metrics: Sequence | None = None, *,
                learning_rate: float | None = None, device: str | torch.device = "auto",
                precision: str = "fp32", loss_weights=None, **keras_settings) -> None:
        """Choose the optimizer, loss and metrics (by name or object), the device and the precision.

        A model with several outputs takes one loss for all, a list, or a dict by output name, and
        optional ``loss_weights`` (list or dict); training minimises the weighted sum, as in Keras.
        Keras's execution settings (``jit_compile``, ``run_eagerly``, ``steps_per_execution``) are accepted
        and have no effect; ``weighted_metrics`` is refused (meddl's metrics are unweighted).
        """
        if keras_settings.get("weighted_metrics"):
            raise MeddlError("compile(weighted_metrics=...) is not supported: meddl computes every metric unweighted "
                             "over the epoch. Pass them as metrics=... instead.")
        _refuse_unknown("compile", keras_settings, {"run_eagerly", "steps_per_execution", "jit_compile",
                                                    "auto_scale_loss", "weighted_metrics"},
                        {"sample_weight_mode": None, "target_tensors": None})
        self.optimizer = optimizers_module.get(optimizer, learning_rate)
        self.output_losses, self.loss_weights = None, None
        if len(self.outputs_list()) > 1:
            names = self.output_names
            self.output_losses = multi_output.output_losses(loss, names)
            self.loss_weights = multi_output.per_output(1.0 if loss_weights is None else loss_weights, names,
                                                        "loss_weights", float)
            self.metric_functions, self.metric_specs = multi_output.output_metrics(
                metrics or {}, names, self.output_losses)
            loss = next(item for item in self.output_losses if item is not None)
        self.loss = losses_module.check_loss(loss)
        if self.output_losses is None:
            if isinstance(metrics, str) or callable(metrics):
                metrics = [metrics]
            self.metric_functions = [metrics_module.get(m) for m in (metrics or [])]
            self.metric_specs = [metrics_module.serialize(m) for m in (metrics or [])]
        self.device = resolve_device(device)
        if precision not in PRECISIONS:
            raise MeddlError(f"The 'precision' must be one of {PRECISIONS}. Got {precision!r} instead.")
        self.precision = precision
        self._torch_optimizer = None
        self.to(self.device)

    @property
    def metrics_names(self) -> list[str]:
        """``loss``, each output's own loss (several outputs), then the metrics, as ``evaluate`` lists them."""
        own_losses = [] if self.output_losses is None else multi_output.logged_loss_names(self.output_losses,
                                                                                           self.output_names)
        return ["loss", *own_losses, *(name for name, _ in self.metric_functions)]

    def _require_compiled(self, action: str) -> None:
        if self.loss is None:
            raise NotFittedError(f"Cannot {action}: call compile(optimizer=..., loss=...) first.")

    def _uses_logits(self) -> bool:
        if self.output_losses is not None or self.output_layer.activity_regularizer is not None:
            return False  # an activity regularizer penalises the output layer's activated output
        return (not self.loss.from_logits) and self.loss.logits_activation == self.final_activation

    def _regularized_layers(self) -> list[Layer]:
        return [m for m in self.modules() if isinstance(m, Layer) and m is not self and m.has_regularizers]

    def _step_loss(self, logits_mode: bool, module: nn.Module | None = None):
        loss, model, k = self.loss, self, self.n_inputs
        module = self if module is None else module  # the DistributedDataParallel wrapper when distributed
        if logits_mode:
            loss = type(self.loss)(**{key: v for key, v in self.loss.get_config().items() if key != "name"})
            loss.from_logits = True
        regularized = self._regularized_layers()

        no_loss = isinstance(self.loss, losses_module.NoLoss)

        def with_penalties(value: torch.Tensor, added: list[torch.Tensor]) -> torch.Tensor:
            if no_loss and not added and not regularized:
                raise MeddlError("No loss to compute: compile() was given no 'loss' and no layer of the model added "
                                 "one with add_loss(). Pass compile(loss=...), e.g. loss='mse'.")
            for layer in regularized:  # Keras adds the weight penalties to every step's loss
                penalty = layer.regularization_penalty()
                if penalty is not None:
                    value = value + penalty
            for term in added:  # and the losses layers added in this step's forward pass (add_loss)
                value = value + term.sum()
            return value

        if self.output_losses is not None:
            losses, weights, m = self.output_losses, self.loss_weights, len(self.output_losses)

            def step_losses(batch):
                with collect_added_losses() as added:
                    out = module(batch[0] if k == 1 else list(batch[:k]))
                sample_weight = batch[k + m] if len(batch) > k + m else None
                return with_penalties(multi_output.weighted_loss(losses, weights, out, batch[k:k + m],
                                                                 sample_weight), added), list(out)

            return step_losses

        def step_loss(batch):
            if model.batch_transform is not None and model.training:
                batch = model.batch_transform(batch)
            with collect_added_losses() as added:
                out = module(batch[0] if k == 1 else list(batch[:k]), logits=logits_mode)
            return with_penalties(loss.compute(out, batch[k], batch[k + 1] if len(batch) > k + 1 else None),
                                  added), out

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
            device=self.device, precision=self.precision, threads=self._training_threads(), n_inputs=self.n_inputs,
            n_targets=1 if self.output_losses is None else len(self.output_losses),
            batch_terms=None if self.output_losses is None else multi_output.output_loss_terms(
                self.output_losses, self.output_names, self.n_inputs),
        )

    # Below this many multiply-adds per batch (about 2 x parameters x batch size), one CPU thread trains a
    # dense network faster than two: the seed MLP at batch 32 went from 75k to 81k samples/s on 2 cores
    # (bench/seed_throughput.py), and far more on a busy machine. Convolutions keep torch's threads.
    SINGLE_THREAD_WORK = 4_000_000

    def _training_threads(self, batch_size: int = 32) -> int | None:
        if self.device.type != "cpu" or any(len(p.shape) > 2 for p in self.parameters()):
            return None  # a convolution kernel (rank > 2) among the weights
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
            # Stored outside nn.Module's registry so the wrapper is not part of this model's state.
            object.__setattr__(self, "_ddp", DistributedDataParallel(
                self, device_ids=[self.device.index] if self.device.type == "cuda" else None))
        return self._ddp

    # -- data ------------------------------------------------------------------
    def _prepare_x(self, x: Any, argument: str = "x") -> list[np.ndarray]:
        """One checked array per input (a list, tuple or ``{input name: array}`` for several inputs)."""
        k = self.n_inputs
        if k == 1 and isinstance(x, dict):  # Keras's {input name: array}
            names = self.input_names
            if len(x) != 1 or (names and next(iter(x)) not in names):
                raise DataError(f"'{argument}' is a dict with keys {sorted(map(str, x))}; this model has one input, "
                                f"{names[0]!r}: pass the array, or {{{names[0]!r}: array}}.")
            items = [next(iter(x.values()))]
        elif k == 1:
            items = [x[0] if isinstance(x, (list, tuple)) and len(x) == 1 and not np.isscalar(x[0])
                     and np.ndim(x[0]) >= 2 else x]
        elif isinstance(x, dict):
            names = self.input_names
            missing = [name for name in names if name not in x]
            if missing:
                raise DataError(f"'{argument}' is missing the inputs {missing}; the model's inputs are {names}.")
            items = [x[name] for name in names]
        elif isinstance(x, (list, tuple)) and len(x) == k:
            items = list(x)
        else:
            raise DataError(f"The model has {k} inputs ({self.input_names}); pass '{argument}' as a list of {k} "
                            f"arrays or a dict {{input name: array}}. Got {type(x).__name__} instead.")
        shapes = self.sample_input_shapes
        arrays = []
        for index, item in enumerate(items):
            name = argument if k == 1 else f"{argument}[{index}]"
            array = as_array(item, name)
            check_finite(array, name)
            if array.ndim < 2:
                raise DataError(f"'{name}' must have one row per sample, shape (N, features...); got shape "
                                f"{array.shape}. For a single feature use {name}.reshape(-1, 1).")
            if shapes is not None:
                check_input_shape(array, shapes[index], name)
            arrays.append(array)
        for array in arrays[1:]:
            check_same_length(arrays[0], array, f"{argument}[0]", f"{argument}[i]")
        return arrays

    def _prepare_xy(self, x, y, x_name="x", y_name="y") -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Input tensors and target tensors (one per output)."""
        arrays = self._prepare_x(x, x_name)
        if self.output_losses is not None:
            return [self._to_device(a) for a in arrays], multi_output.prepare_targets(self, y, len(arrays[0]), y_name)
        if isinstance(y, (list, tuple)) and len(y) == 1 and np.ndim(y[0]) >= 1:
            y = y[0]
        if y is None and isinstance(self.loss, losses_module.NoLoss):  # the layers' add_loss needs no targets
            y = np.zeros(len(arrays[0]), dtype=np.float32)
        y_array = as_array(y, y_name)
        check_finite(y_array, y_name)
        check_same_length(arrays[0], y_array, x_name, y_name)
        if not self.built:
            self.build(arrays[0].shape[1:] if len(arrays) == 1 else [a.shape[1:] for a in arrays])
        if y_array.ndim > 2 and tuple(y_array.shape[1:]) != tuple(self.output_shape_):
            raise DataError(f"'{y_name}' has one target per position, shape {y_array.shape}, but the model's outputs "
                            f"have shape {(len(y_array), *self.output_shape_)}; they must match.")
        targets = self.loss.prepare_targets(y_array, self._output_units(), y_name)
        if targets.is_floating_point():
            targets = targets.to(self.dtype)
        return [self._to_device(a) for a in arrays], [targets.to(self.device)]

    def outputs_list(self) -> list:
        return [None]

    def _output_units(self) -> int:
        shape = self.output_shape_
        return shape[-1]

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(array), dtype=self.dtype).to(self.device)

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = 32, epochs: int = 1, verbose: int = 1,
            callbacks: Sequence[Callback] | None = None, validation_split: float = 0.0,
            validation_data: tuple | None = None, shuffle: bool = True,
            class_weight: dict[int, float] | str | None = None, sample_weight: Any = None,
            initial_epoch: int = 0, seed: int | None = None, sampler=None, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: int = 1) -> History:
        """Train for ``epochs`` epochs; return a :class:`~meddl.training.History`.

        ``batch_size=None`` is full-batch gradient descent. ``validation_split``
        holds out the last fraction of ``x``/``y`` (before shuffling, as Keras).
        ``class_weight`` is a ``{class: weight}`` dict or ``"balanced"``.
        ``seed`` makes the run repeatable (and re-draws the initial weights of a never-trained model).
        ``sampler`` (``epoch -> row indices``) draws each epoch's rows, e.g. balanced sampling.
        ``x`` may also be a torch ``DataLoader`` or a generator of ``(x, y[, sample_weight])`` batches
        (with ``steps_per_epoch`` / ``validation_steps`` as in Keras; see :mod:`meddl.models.batch_sources`).
        """
        self._require_compiled("fit")
        _check_int(epochs, "epochs", minimum=1)
        _check_int(validation_freq, "validation_freq", minimum=1)
        if validation_batch_size is not None:
            _check_int(validation_batch_size, "validation_batch_size", minimum=1)
        if batch_size is not None:
            _check_int(batch_size, "batch_size", minimum=1)
        if verbose not in (0, 1, 2, "auto"):
            raise MeddlError(f"The 'verbose' parameter must be 0, 1 or 2 (or 'auto'). Got {verbose!r} instead.")
        verbose = 1 if verbose == "auto" else verbose
        if seed is not None:
            set_seed(seed)
            if self.built and not self._trained:
                self.reset_weights()
        if batch_sources.is_batch_source(x):
            history, self.precision_used_ = batch_sources.fit_on_batches(
                self, x, y, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                validation_data=validation_data, validation_steps=validation_steps, validation_split=validation_split,
                class_weight=class_weight, sample_weight=sample_weight, callbacks=callbacks, verbose=verbose,
                validation_freq=validation_freq, shuffle=shuffle)
            self._trained, self.history = True, history
            return history
        xs, ys = self._prepare_xy(x, y)
        if len(ys) > 1 and class_weight is not None:
            raise MeddlError("class_weight is for single-output models; use sample_weight with several outputs.")
        weights = sample_weights(ys[0], self.loss, class_weight, sample_weight)
        validation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
                raise DataError("'validation_data' must be a tuple (x_val, y_val); got "
                                f"{type(validation_data).__name__}.")
            val_xs, val_ys = self._prepare_xy(validation_data[0], validation_data[1], "validation_data[0]",
                                              "validation_data[1]")
            validation = (*val_xs, *val_ys, *validation_weights(val_ys, self.loss, validation_data))
        elif validation_split:
            if not 0 < validation_split < 1:
                raise MeddlError(f"The 'validation_split' must be a float in (0, 1). Got {validation_split!r} instead.")
            n = len(ys[0])
            cut = int(round(n * (1 - validation_split)))
            if cut <= 0 or cut >= n:
                raise DataError(f"validation_split={validation_split} leaves no samples for training or validation "
                                f"with {n} samples.")
            validation = (*(t[cut:] for t in xs), *(t[cut:] for t in ys))
            xs, ys = [t[:cut] for t in xs], [t[:cut] for t in ys]
            weights = None if weights is None else weights[:cut]
        train = (*xs, *ys) if weights is None else (*xs, *ys, weights)
        loop = self._loop()
        history = loop.fit(train, epochs=epochs, batch_size=batch_size, validation=validation, shuffle=shuffle,
                           callbacks=callbacks or (), verbose=verbose, initial_epoch=initial_epoch, sampler=sampler,
                           validation_batch_size=validation_batch_size, validation_freq=validation_freq,
                           validation_weighted=validation is not None and len(validation) > len(xs) + len(ys))
        self._trained = True
        self.history = history
        self.precision_used_ = loop.precision  # what "auto" chose, or the precision asked for
        return history

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None, verbose: int = 0,
                 sample_weight: Any = None, return_dict: bool = False, steps: int | None = None, **keras_settings):
        """Loss and metrics on ``(x, y)`` (or a DataLoader / generator of batches): a float, a list
        ``[loss, *metrics]``, or a dict with ``return_dict``. The loss is unweighted."""
        if sample_weight is not None:
            raise MeddlError("evaluate in meddl reports the unweighted loss and metrics; it takes no sample_weight "
                             "(weigh the rows yourself from predict's outputs).")
        _refuse_unknown("evaluate", keras_settings, _LOADER_SETTINGS, {"callbacks": None})
        self._require_compiled("evaluate")
        self._require_built("evaluate")
        if batch_sources.is_batch_source(x):
            if y is not None:
                raise MeddlError(f"evaluate on a {type(x).__name__} takes no 'y': each batch holds its targets.")
            logs = batch_sources.evaluate_on_batches(self, x, steps)
        else:
            xs, ys = self._prepare_xy(x, y)
            logs = self._loop().evaluate((*xs, *ys), batch_size=batch_size)
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    @torch.no_grad()
    def predict(self, x: Any, batch_size: int | None = None, verbose: int = 0, steps: int | None = None,
                **keras_settings):
        """Model outputs (after the final activation) for ``x`` (or a DataLoader / generator of batches)
        as NumPy (a list for several outputs)."""
        _refuse_unknown("predict", keras_settings, _LOADER_SETTINGS, {"callbacks": None})
        self._require_built("predict")
        if batch_sources.is_batch_source(x):
            return batch_sources.predict_on_batches(self, x, steps)
        tensors = [self._to_device(a) for a in self._prepare_x(x)]
        outputs = self.predict_tensor(tensors[0] if len(tensors) == 1 else tensors, batch_size)
        if isinstance(outputs, list):
            arrays = [o.cpu().numpy() for o in outputs]
            keys = getattr(self, "output_keys", None)
            return dict(zip(keys, arrays)) if keys else arrays
        return outputs.cpu().numpy()

    @torch.no_grad()
    def predict_tensor(self, x, batch_size: int | None = None, logits: bool = False):
        """Outputs for already-checked tensors, in inference mode and batches."""
        was_training = self.training
        self.eval()
        tensors = x if isinstance(x, list) else [x]
        size = inference_batch_size(tensors[0], batch_size)
        forward = self.forward_logits if logits else self.forward
        chunks = []
        for start in range(0, tensors[0].shape[0], size):
            batch = [t[start:start + size] for t in tensors]
            with top_level_call():  # one call per batch: the losses layers add start afresh
                chunks.append(forward(batch if isinstance(x, list) else batch[0]))
        self.train(was_training)
        if not chunks:
            return torch.empty((0, *self.output_shape_))
        if isinstance(chunks[0], list):
            return [torch.cat([chunk[i] for chunk in chunks]) for i in range(len(chunks[0]))]
        return torch.cat(chunks)

    def predict_on_batch(self, x):
        return self.predict(x)

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, class_weight: Any = None,
                       return_dict: bool = False):
        """One gradient step on this batch (Keras's ``train_on_batch``): the batch's loss and metrics,
        computed during the step; ``model.history`` is left as ``fit`` made it."""
        history = self.history
        logs = self.fit(x, y, batch_size=None, epochs=1, verbose=0, shuffle=False, sample_weight=sample_weight,
                        class_weight=class_weight).history
        self.history = history
        logs = {key: values[-1] for key, values in logs.items()}
        if return_dict:
            return logs
        values = [logs[name] for name in self.metrics_names]
        return values[0] if len(values) == 1 else values

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None, return_dict: bool = False):
        """Loss and metrics on this batch (Keras's ``test_on_batch``; unweighted, as ``evaluate``)."""
        return self.evaluate(x, y, batch_size=None, sample_weight=sample_weight, return_dict=return_dict)

    # -- weights and config -----------------------------------------------
    def named_weights(self) -> dict[str, torch.Tensor]:
        """All weights and statistics keyed ``"<layer name>.<weight>"`` (the saved-file keys)."""
        self._require_built("read weights")
        if not self._graph_model:  # by attribute path (hidden.kernel): stable across processes, unlike layer names
            return dict(self.state_dict())
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
        """Every layer's weights in Keras's order and layouts (a Conv2D kernel is (kh, kw, in, out))."""
        self._require_built("read weights")
        return [array for layer in self.layers for array in layer.get_weights()]

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Set the weights from arrays as ``get_weights`` returns them (Keras's order and layouts)."""
        self._require_built("set weights")
        counts = [len(layer.weights) for layer in self.layers]
        if len(weights) != sum(counts):
            raise MeddlError(f"set_weights needs {sum(counts)} arrays; got {len(weights)}.")
        start = 0
        for layer, count in zip(self.layers, counts):
            if count:
                layer.set_weights(list(weights[start:start + count]))
            start += count

    def export(self, filepath, format: str = "tf_saved_model", verbose: bool = True,  # noqa: A002 - Keras's
               input_signature: Any = None, **keras_settings) -> None:
        """Keras's ``export`` writes an artifact for serving outside Python Keras (a TensorFlow SavedModel, ONNX or
        OpenVINO); meddl writes none of them from a model, and says what to use instead.

        Raises:
            MeddlError: always, naming the format asked for and meddl's ways to ship a model.
        """
        raise MeddlError(f"model.export(format={format!r}) is not supported by meddl: Keras's export writes a "
                         "serving artifact (a TensorFlow SavedModel needs TensorFlow). Use model.save('model.keras') "
                         "(a Keras 3 file, which Keras loads and can export), or, for ONNX, train a meddl run and "
                         "export it with `meddl export RUN_DIR` (meddl.runs.export_onnx).")

    def save_weights(self, filepath, overwrite: bool = True) -> Path:
        """Write the weights alone to a ``.safetensors`` file (atomically), keyed by layer name;
        ``overwrite=False`` refuses to replace an existing file."""
        if not overwrite and Path(filepath).exists():
            raise ModelFileError(f"'{filepath}' already exists and save_weights(overwrite=False) was asked; give "
                                 "another path or overwrite=True.")
        if str(filepath).endswith(".weights.h5"):  # Keras 3's weights file
            self._require_built("save weights")
            keras_export.save_keras_weights(self, Path(filepath))
            return Path(filepath)
        return saving.save_weights(self, filepath)

    def load_weights(self, filepath, skip_mismatch: bool = False) -> None:
        """Read weights written by ``save_weights`` (by layer name; ``skip_mismatch`` ignores unknown keys), or
        Keras 3's ``.weights.h5`` file of the same architecture."""
        if str(filepath).endswith(".weights.h5"):
            if skip_mismatch:
                raise MeddlError("load_weights(skip_mismatch=True) reads meddl's .safetensors weights; a Keras "
                                 ".weights.h5 file must fit the model layer for layer.")
            keras_import.load_keras_weights(self, Path(filepath))
            return
        saving.load_weights(self, filepath, strict=not skip_mismatch)

    def compile_config(self) -> dict[str, Any] | None:
        if self.loss is None:
            return None
        if self.output_losses is not None:
            return {"optimizer": self.optimizer.get_config(),
                    "loss": [None if l is None else l.get_config() for l in self.output_losses],
                    "loss_weights": self.loss_weights, "metrics": self.metric_specs, "precision": self.precision}
        return {"optimizer": self.optimizer.get_config(),
                "loss": None if isinstance(self.loss, losses_module.NoLoss) else self.loss.get_config(),
                "metrics": self.metric_specs, "precision": self.precision}

    def get_compile_config(self) -> dict[str, Any] | None:
        """Keras's name for :meth:`compile_config`: the compile settings as plain data (``None`` before compile)."""
        return self.compile_config()

    def compile_from_config(self, config: dict[str, Any]) -> None:
        """Keras's ``compile_from_config``: compile with what :meth:`get_compile_config` returned."""
        if not isinstance(config, dict) or "optimizer" not in config or "loss" not in config:
            raise MeddlError("compile_from_config takes what get_compile_config() returned (a dict with 'optimizer' "
                             f"and 'loss'). Got {config!r} instead.")
        self.compile(optimizer=config["optimizer"], loss=config["loss"], metrics=config.get("metrics"),
                     loss_weights=config.get("loss_weights"), precision=config.get("precision", "fp32"))

    def save(self, path, overwrite: bool = True, *, metadata: dict[str, Any] | None = None,
             **keras_settings) -> None:
        """Save to a folder: architecture + compile settings as JSON, weights as safetensors (atomic).

        ``overwrite=False`` refuses to replace an existing ``path``. A ``.keras`` name writes Keras 3's file
        instead (architecture, weights and compile settings in Keras's format, which Keras loads compiled;
        the optimizer's state is not written).
        """
        _refuse_unknown("save", keras_settings, {"include_optimizer", "zipped", "signatures", "options",
                                                 "save_traces"}, {"save_format": None})
        if not overwrite and Path(path).exists():
            raise ModelFileError(f"'{path}' already exists and save(overwrite=False) was asked; give another path "
                                 "or overwrite=True.")
        if Path(path).suffix == ".keras":  # Keras 3's file, which Keras (and meddl) loads
            self._require_built("save as a Keras file")
            keras_export.save_keras_model(self, Path(path))
            return
        if Path(path).suffix in (".h5", ".hdf5"):
            raise ModelFileError(f"meddl writes Keras 3's '.keras' files, not the legacy '{Path(path).suffix}' format; "
                                 f"give '{Path(path).with_suffix('.keras')}', or a folder name for meddl's format.")
        saving.save_model(self, path, metadata=metadata)

    def to_json(self) -> str:
        return saving.architecture_json(self)


# Keras's hooks into its own fit loop; meddl's loop never calls them, so a model defining one is refused.
_KERAS_STEP_METHODS = ("train_step", "test_step", "predict_step", "compute_loss", "compute_metrics")

# Keras's data-loading settings for evaluate / predict: meddl's loaders need none of them.
_LOADER_SETTINGS = {"workers", "use_multiprocessing", "max_queue_size"}


def _refuse_unknown(method: str, settings: dict[str, Any], harmless: set[str], defaults: dict[str, Any]) -> None:
    """Keras arguments that change nothing here pass; anything else (a typo, an unsupported setting) is
    refused by name rather than silently ignored."""
    unknown = sorted(key for key, value in settings.items()
                     if key not in harmless and not (key in defaults and value in (defaults[key], [], ())))
    if unknown:
        raise MeddlError(f"{method}() got unexpected argument(s) {unknown} (or a value meddl does not support); "
                         f"see help(meddl.Model.{method}).")


_FUNCTIONAL_CLASS: list[type] = []  # filled by functional.py, so Model(inputs, outputs) can make one


def _one_or_all(tensors, name: str, what: str):
    if not tensors:
        raise MeddlError(f"Model '{name}' has no symbolic {what} yet: give it an Input or input_shape, or build it.")
    return tensors[0] if len(tensors) == 1 else list(tensors)


def _check_int(value: Any, argument: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise MeddlError(f"The '{argument}' parameter must be an integer >= {minimum}. Got {value!r} instead.")
