"""The base class of every meddl layer (and of models, which are layers too).

A layer is a ``torch.nn.Module`` whose weights are created lazily by
``build(input_shape)`` the first time it sees an input, as in Keras, so
input sizes are optional. Shapes exclude the batch axis; images are
channels-last ``(H, W, C)``.

Keras semantics kept here, once for every layer:

- Calling a layer or model directly runs it in **inference** mode (Dropout off,
  BatchNormalization on its moving statistics) unless ``training=True`` is
  passed. Layers are created in torch's eval mode; the training loop switches
  the model to train mode for ``fit`` and back, so the per-batch path pays no
  extra cost.
- ``layer.trainable = False`` freezes the layer and every layer inside it at
  once (``requires_grad``), so ``summary`` and the optimizer see it.
- Calling a layer on NumPy data or a tensor builds it; calling it on a symbolic
  tensor (``meddl.Input``) records a node of a functional graph instead.
"""

from __future__ import annotations

import inspect
import itertools
import math
import re
import warnings
from collections import defaultdict
from typing import Any

import numpy as np
import torch
from torch import nn

from meddl.errors import MeddlError, NotFittedError
from meddl.layers import activations, regularizers
from meddl.layers.added_losses import CALLS, collect_added_losses, record
from meddl.layers.initializers import check_initializer, initialize_
from meddl.layers.symbolic import call_layer_symbolically, is_symbolic

__all__ = ["Layer", "unique_layer_name", "reserve_layer_name", "reset_layer_names", "refuse_unsupported",
           "padding_mask", "snake_case"]

_NAME_COUNTERS: defaultdict[str, itertools.count] = defaultdict(itertools.count)
_TAKEN_NAMES: set[str] = set()


def unique_layer_name(base: str) -> str:
    """Keras's process-wide naming: ``dense``, ``dense_1``, ``dense_2``, ... (skipping names already given)."""
    while True:
        index = next(_NAME_COUNTERS[base])
        name = base if index == 0 else f"{base}_{index}"
        if name not in _TAKEN_NAMES:
            _TAKEN_NAMES.add(name)
            return name


def reset_layer_names() -> None:
    """Start the process-wide naming again (``dense``, ``dense_1``, ...), as Keras's ``clear_session`` does."""
    _NAME_COUNTERS.clear()
    _TAKEN_NAMES.clear()


def reserve_layer_name(name: str) -> None:
    """Record a name given elsewhere (a Sequential names its layers per model), so new names avoid it."""
    _TAKEN_NAMES.add(name)


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``, which names layers by default and a ``.keras`` file's weight groups:
    ``Conv2D`` -> ``conv2d``, ``Conv2DTranspose`` -> ``conv2d_transpose``, ``GRU`` -> ``gru``."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer(nn.Module):
    """Base class: stores its config, builds its weights on first use.

    Subclasses implement ``build(input_shape)`` (create weights with
    :meth:`add_weight`, or as ``torch.nn.Parameter`` attributes), ``call(x)``
    (the computation before the activation) and
    ``compute_output_shape(input_shape)``, and list their constructor
    arguments in ``get_config()``. Layers whose stored weight layout differs
    from Keras's override ``keras_weight(key, tensor)`` / ``from_keras_weight``.

    Example (a custom layer, as in Keras; register it so saved models load):
        >>> import meddl
        >>> @meddl.layers.register_layer_class
        ... class Scale(meddl.layers.Layer):
        ...     def __init__(self, factor=1.0, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.factor = factor
        ...     def build(self, input_shape):
        ...         self.gain = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        ...     def call(self, x):
        ...         return x * self.gain * self.factor
        ...     def get_config(self):
        ...         return {**super().get_config(), "factor": self.factor}
        >>> Scale(2.0)([[1.0, 2.0]]).tolist()  # nested lists are one batch, as in Keras
        [[2.0, 4.0]]
    """

    def __init__(self, *, name: str | None = None, input_shape: tuple[int, ...] | None = None,
                 activation: Any = None, trainable: bool = True, dtype: Any = None):
        super().__init__()
        if name is not None and (not isinstance(name, str) or not name):
            raise MeddlError(f"The 'name' of a layer must be a non-empty string. Got {name!r} instead.")
        self.training = False  # Keras's default: inference unless training=True (fit switches it)
        self.name = name
        self.input_shape_arg = None if input_shape is None else _as_shape(input_shape, "input_shape")
        self.activation_name = activations.serialize(activation)
        self._activation_fn = activations.get(activation)
        self.built = False
        self.input_shape_: Any = None
        self.output_shape_: Any = None
        self._trainable = bool(trainable)
        self._inbound_nodes: list = []
        self.dtype_arg = _check_dtype(dtype)

    # -- to override -------------------------------------------------------
    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the layer's weights for inputs of ``input_shape`` (no batch axis)."""

    def call(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def compute_output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        if type(self).__module__.startswith("meddl."):
            return input_shape
        return _shape_by_calling(self, input_shape)  # a layer of your own, e.g. one made of other layers

    def add_weight(self, shape: Any = (), initializer: Any = "glorot_uniform", dtype: Any = None,
                   trainable: bool = True, name: str | None = None, regularizer: Any = None, constraint: Any = None,
                   **ignored) -> torch.Tensor:
        """Keras's ``add_weight``: create a weight of ``shape``, register it on this layer and return it.

        Call it in ``build`` and assign the result, ``self.kernel = self.add_weight(...)``:
        the weight is then saved under that attribute's name (else under ``name``, or
        ``variable``, ``variable_1``, ...). A trainable weight is a ``torch.nn.Parameter``
        the optimizer updates; a non-trainable one is a buffer (saved, never trained),
        like BatchNormalization's moving statistics. ``initializer`` is a Keras name
        (``"glorot_uniform"``, ``"zeros"``, ``"he_normal"``, ...) with Keras's fans.
        """
        owner = f"{type(self).__name__}.add_weight"
        if regularizer is not None or constraint is not None:
            raise MeddlError(f"{owner}: regularizer and constraint are not supported by meddl; add the penalty to "
                             "the loss, or apply the constraint after each epoch in a callback.")
        shape = () if shape is None or (isinstance(shape, (tuple, list)) and not shape) else _as_shape(shape, "shape")
        if name is not None and (not isinstance(name, str) or not name.isidentifier()):
            raise MeddlError(f"The 'name' of {owner} must be a Python identifier such as 'kernel'. Got {name!r} instead.")
        initializer = check_initializer("glorot_uniform" if initializer is None else initializer, "initializer", owner)
        dtype = _check_dtype(dtype) or self.dtype_arg or torch.get_default_dtype()
        tensor = initialize_(torch.empty(shape, dtype=dtype), initializer, *_fans(shape))
        pending = self.__dict__.setdefault("_unassigned_weights", {})
        if name is not None:
            self._parameters.pop(name, None)
            self._buffers.pop(name, None)
        key = name or _free_key(self, "variable")
        if trainable:
            weight = nn.Parameter(tensor, requires_grad=self._trainable)
            self.register_parameter(key, weight)
        else:
            weight = tensor
            self.register_buffer(key, weight)
        pending[id(weight)] = key
        return weight

    # -- Keras's weight regularizers (kernel_regularizer=..., added to the training loss) --------------
    #: each ``*_regularizer`` argument a layer takes -> the weight it penalises
    REGULARIZED_WEIGHTS: dict[str, str] = {"kernel_regularizer": "kernel", "bias_regularizer": "bias"}

    def _set_regularizers(self, activity_regularizer: Any = None, **given: Any) -> None:
        """Keep the layer's weight regularizers and its ``activity_regularizer`` (checked)."""
        self.activity_regularizer = regularizers.get(activity_regularizer, "activity_regularizer")
        for argument, value in given.items():
            setattr(self, argument, regularizers.get(value, argument))

    #: Keras's ``activity_regularizer``: a penalty on the layer's output, added to the loss (divided by the batch
    #: size, as Keras 3 does); set by the layers that take weight regularizers, and by ActivityRegularization
    activity_regularizer = None

    @property
    def has_regularizers(self) -> bool:
        return any(getattr(self, argument, None) is not None for argument in self.REGULARIZED_WEIGHTS)

    def regularization_penalty(self) -> torch.Tensor | None:
        """The sum of this layer's weight penalties (None without regularizers or weights)."""
        total = None
        for argument, attribute in self.REGULARIZED_WEIGHTS.items():
            regularizer, weight = getattr(self, argument, None), getattr(self, attribute, None)
            if regularizer is not None and weight is not None:
                term = regularizer(weight)
                total = term if total is None else total + term
        return total

    def _regularizer_config(self) -> dict[str, Any]:
        return {argument: regularizers.serialize(getattr(self, argument))
                for argument in (*self.REGULARIZED_WEIGHTS, "activity_regularizer")
                if getattr(self, argument, None) is not None}

    # -- Keras's add_loss ----------------------------------------------------------------------------------
    def add_loss(self, loss: Any) -> None:
        """Keras's ``add_loss``, inside ``call``: a loss term the layer computes (a penalty on its activations, a
        KL divergence), summed into the loss of each training and evaluation step. ``losses`` lists those of
        the layer's latest call."""
        for item in (loss if isinstance(loss, (list, tuple)) else [loss]):
            if not isinstance(item, torch.Tensor):
                raise MeddlError(f"add_loss takes tensors computed in call() (e.g. meddl.ops.sum(...) of an "
                                 f"output); got {type(item).__name__}.")
            generation, kept = self.__dict__.get("_added_losses", (None, None))
            if generation != CALLS.generation:  # a new top-level call: the previous call's losses go
                kept = []
                self.__dict__["_added_losses"] = (CALLS.generation, kept)
            kept.append(item)
            record(item)

    @property
    def losses(self) -> list[torch.Tensor]:
        """Keras's ``losses``: those this layer and the layers inside it added in their latest call
        (``add_loss``, activity regularizers), then their weight regularizers' penalties."""
        added, penalties = [], []
        for module in self.modules():
            if isinstance(module, Layer):
                added.extend(module.__dict__.get("_added_losses", (None, []))[1])
                penalty = module.regularization_penalty() if module.has_regularizers else None
                if penalty is not None:
                    penalties.append(penalty)
        return added + penalties

    def _add_activity_loss(self, outputs: Any) -> None:
        for output in (outputs if isinstance(outputs, (list, tuple)) else [outputs]):
            if isinstance(output, torch.Tensor):
                penalty = self.activity_regularizer(output)
                self.add_loss(penalty / output.shape[0] if output.dim() and output.shape[0] else penalty)

    def __setattr__(self, name: str, value: Any) -> None:
        pending = self.__dict__.get("_unassigned_weights")
        if pending and isinstance(value, torch.Tensor) and id(value) in pending:
            key = pending.pop(id(value))  # add_weight's result: keep it once, under the attribute's name
            buffer = key in self._buffers
            self._parameters.pop(key, None)
            self._buffers.pop(key, None)
            if buffer:
                self.register_buffer(name, value)
                return
        super().__setattr__(name, value)

    def get_config(self) -> dict[str, Any]:
        defined_by = next(k for k in type(self).__mro__ if "get_config" in k.__dict__)
        if defined_by.__module__.startswith("meddl."):  # a class of your own that does not override get_config
            _check_saved_arguments(type(self))
        config: dict[str, Any] = {"name": self.name}
        if self.input_shape_arg is not None:
            config["input_shape"] = list(self.input_shape_arg)
        if self.activation_name is None:
            raise MeddlError(f"Layer '{self.name}' uses an activation function without a name (a lambda), which "
                             "cannot be saved as plain data. Use an activation by name (e.g. 'relu') or a function "
                             "defined with def (registered with @meddl.saving.register_keras_serializable(), or "
                             "given to load_model as custom_objects).")
        if self.activation_name != "linear":
            config["activation"] = self.activation_name
        if not self.trainable:
            config["trainable"] = False
        if self.dtype_arg is not None:
            config["dtype"] = str(self.dtype_arg).replace("torch.", "")
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Layer":
        config = dict(config)
        trainable = config.pop("trainable", True)  # every layer can be frozen, whatever its __init__ takes
        layer = cls(**config)
        layer.trainable = bool(trainable)
        return layer

    # -- Keras's properties --------------------------------------------------
    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze or unfreeze this layer and every layer inside it (Keras propagates the same way)."""
        value = bool(value)
        for module in self.modules():
            if isinstance(module, Layer):
                module._trainable = value
            for parameter in module.parameters(recurse=False):
                parameter.requires_grad_(value)

    def set_trainable(self, trainable: bool) -> None:
        """Freeze (``False``) or unfreeze this layer's weights (same as ``layer.trainable = ...``)."""
        self.trainable = trainable

    @property
    def default_name(self) -> str:
        return snake_case(type(self).__name__)

    @property
    def weights(self) -> list[torch.Tensor]:
        """Every weight and statistic (trainable first within each layer, as Keras lists them)."""
        return [tensor for _, tensor in self._named_tensors()]

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        return [tensor for _, tensor in self._named_tensors() if isinstance(tensor, nn.Parameter) and tensor.requires_grad]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        return [tensor for _, tensor in self._named_tensors()
                if not (isinstance(tensor, nn.Parameter) and tensor.requires_grad)]

    @property
    def variables(self) -> list[torch.Tensor]:
        return self.weights

    def _named_tensors(self) -> list[tuple[str, torch.Tensor]]:
        return [(key, tensor) for key, tensor in self.state_dict(keep_vars=True).items()
                if tensor.dtype.is_floating_point]

    def keras_weight(self, key: str, tensor: torch.Tensor) -> np.ndarray:
        """The weight ``key`` in Keras's layout (the identity unless a layer stores it differently)."""
        return tensor.detach().cpu().numpy().copy()

    def from_keras_weight(self, key: str, array: np.ndarray) -> torch.Tensor:
        """Inverse of :meth:`keras_weight`: a Keras-layout array to this layer's stored layout."""
        return torch.as_tensor(np.asarray(array))

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays in Keras's order and layout (a Conv2D kernel is (kh, kw, in, out))."""
        self._require_built_layer("read weights")
        return [self.keras_weight(key, tensor) for key, tensor in self._named_tensors()]

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Set the weights from NumPy arrays in Keras's order and layout (as ``get_weights`` returns them)."""
        self._require_built_layer("set weights")
        named = self._named_tensors()
        if len(weights) != len(named):
            raise MeddlError(f"Layer '{self.name}' expects {len(named)} weight arrays "
                             f"({', '.join(k for k, _ in named)}); got {len(weights)}.")
        for (key, tensor), array in zip(named, weights):
            value = self.from_keras_weight(key, array)
            if tuple(value.shape) != tuple(tensor.shape):
                raise MeddlError(f"Weight '{key}' of layer '{self.name}' has shape "
                                 f"{tuple(self.keras_weight(key, tensor).shape)}; got an array of shape {np.shape(array)}.")
            with torch.no_grad():
                tensor.copy_(value.to(tensor.device, tensor.dtype))

    @property
    def input_shape(self):
        """Keras's ``(None, ...)`` shape of the inputs this layer was built for."""
        self._require_built_layer("read input_shape")
        return _with_batch(self.input_shape_)

    @property
    def output_shape(self):
        self._require_built_layer("read output_shape")
        return _with_batch(self.output_shape_)

    @property
    def input(self):
        """The symbolic input of this layer's first call in a functional graph."""
        return self._node_attribute("input", lambda node: node.inputs[0] if node.single_input else node.inputs)

    @property
    def output(self):
        """The symbolic output of this layer's first call in a functional graph."""
        return self._node_attribute("output", lambda node: node.outputs[0] if len(node.outputs) == 1 else node.outputs)

    def _node_attribute(self, what: str, pick):
        if not self._inbound_nodes:
            raise MeddlError(f"Layer '{self.name}' has no symbolic {what}: it has not been called on meddl.Input "
                             "(give the model an Input or input_shape first).")
        return pick(self._inbound_nodes[0])

    # -- shared machinery --------------------------------------------------
    def build_for(self, input_shape) -> Any:
        """Build once for ``input_shape`` and return the output shape."""
        input_shape = _normalize_shape(input_shape)
        if self.built:
            if input_shape != self.input_shape_:
                raise MeddlError(
                    f"Layer '{self.name}' was built for inputs of shape {_fmt(self.input_shape_)} "
                    f"but received shape {_fmt(input_shape)}."
                )
            return self.output_shape_
        if self.name is None:
            self.name = unique_layer_name(self.default_name)
        self.__dict__["_building"] = True
        try:
            self.build(input_shape)
        finally:
            self.__dict__["_building"] = False
        if self.dtype_arg is not None:
            self.to(self.dtype_arg)
        self.input_shape_ = input_shape
        self.output_shape_ = _normalize_shape(self.compute_output_shape(input_shape))
        self.built = True
        if not self._trainable:
            self.trainable = False  # weights created by build follow the flag
        self.train(self.training)  # sub-layers created by build follow this layer's mode
        return self.output_shape_

    def reset_weights(self) -> None:
        """Draw this layer's weights afresh (same shapes, Keras's initializers)."""
        if not self.built:
            return
        for key in self.__dict__.get("_unassigned_weights", {}).values():  # build adds them again
            self._parameters.pop(key, None)
            self._buffers.pop(key, None)
        self.__dict__["_unassigned_weights"] = {}
        self.build(self.input_shape_)
        if self.dtype_arg is not None:
            self.to(self.dtype_arg)
        if not self._trainable:
            self.trainable = False
        self.train(self.training)

    def _require_built_layer(self, action: str) -> None:
        if not self.built:
            raise NotFittedError(f"Cannot {action}: layer '{self.name}' is not built yet; call it on data first "
                                 "(or give the model an Input / input_shape).")

    def __call__(self, *args, **kwargs):
        # The per-batch path of training is the first checks, `built`, and the try: kept this short on purpose.
        if not CALLS.depth:  # a top-level call: the losses layers add (add_loss) start afresh
            CALLS.generation += 1
            CALLS.depth = 1
            first = args[0] if args else None
            first = first[0] if isinstance(first, (list, tuple)) and first else first
            CALLS.device = first.device if isinstance(first, torch.Tensor) else None
            try:
                return Layer.__call__(self, *args, **kwargs)  # this method again (not a subclass's __call__)
            finally:
                CALLS.depth = 0
        inputs = args[0] if args else None
        if type(inputs) is not torch.Tensor:  # noqa: E721 - the fast path is exactly a plain tensor
            if is_symbolic(inputs):
                if len(args) > 1 and is_symbolic(list(args)):  # call(a, b): several tensors, as arguments
                    return call_layer_symbolically(self, list(args), kwargs.get("training"), positional=True)
                return call_layer_symbolically(self, inputs, kwargs.get("training"))
            inputs = _as_tensors(inputs, self._compute_dtype())
            args = (inputs, *args[1:])
        if not self.built:
            self.build_for(_shape_of(inputs))
        if kwargs and "training" in kwargs:
            training = kwargs.pop("training")
            if training is not None and bool(training) != self.training:
                return self._call_in_mode(bool(training), inputs, args, kwargs)
        try:
            result = nn.Module.__call__(self, *args, **kwargs)
        except RuntimeError as exc:
            raise self._explain(exc, inputs) from None
        if self.activity_regularizer is not None:
            self._add_activity_loss(result)
        if getattr(inputs, "_keras_mask", None) is not None:  # Keras's masks (Embedding(mask_zero=True), Masking)
            self._pass_mask(inputs._keras_mask, result)
        elif type(inputs) is list and any(getattr(item, "_keras_mask", None) is not None for item in inputs):
            self._pass_mask(None, result)  # a merge of masked inputs: the mask is not carried on
        return result

    #: Keras's ``supports_masking``: the layer keeps the steps of its input, so the input's mask (which steps
    #: are padding) is passed on to its output
    supports_masking = False
    #: the layer reads the mask itself (a recurrent layer, GlobalAveragePooling1D) and says what it passes on
    consumes_mask = False

    def _pass_mask(self, mask: torch.Tensor, result: Any) -> None:
        if self.consumes_mask:
            return
        if mask is not None and self.supports_masking and isinstance(result, torch.Tensor):
            if getattr(result, "_keras_mask", None) is None:
                result._keras_mask = mask
        elif not self.__dict__.get("_mask_warned"):
            self.__dict__["_mask_warned"] = True
            warnings.warn(f"Layer '{self.name}' ({type(self).__name__}) was passed an input with a mask (which steps "
                          "are padding) but does not support masking: layers after it will not see the mask, as in "
                          "Keras.", stacklevel=3)

    def _call_in_mode(self, training: bool, inputs, args, kwargs):
        previous = self.training
        self.train(training)
        try:
            return self(*args, **kwargs)
        finally:
            self.train(previous)

    def _explain(self, exc: RuntimeError, inputs) -> Exception:
        """A shape mismatch becomes meddl's error with the expected and received shapes; anything else stays."""
        received = _shape_of(inputs)
        if received != self.input_shape_ and not isinstance(received, list):
            return MeddlError(
                f"Input 0 of layer '{self.name}' ({type(self).__name__}) is incompatible with the layer: "
                f"expected shape {_fmt(self.input_shape_)}, but received input with shape {_fmt(received)}."
            )
        return exc

    def _compute_dtype(self) -> torch.dtype:
        for tensor in itertools.chain(self.parameters(), self.buffers()):
            if tensor.dtype.is_floating_point:
                return tensor.dtype
        return self.dtype_arg or torch.get_default_dtype()

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of this layer's weights (torch's default dtype when they are created, as Keras's floatx)."""
        return self._compute_dtype()

    def forward(self, x: torch.Tensor, *more: torch.Tensor) -> torch.Tensor:
        # ``more``: the further tensors of a layer whose call takes several (Keras's call(targets, logits))
        if self._call_takes_training:  # the per-batch path: call_in_mode, inlined
            return self._activation_fn(self.call(x, *more, training=self.training))
        return self._activation_fn(self.call(x, *more))

    def call_in_mode(self, x: Any) -> Any:
        """``call(x)``, with ``training=`` the layer's mode when ``call`` takes it (as Keras passes it)."""
        if self._call_takes_training:
            return self.call(x, training=self.training)
        return self.call(x)

    #: whether ``call`` takes ``training`` (set for every subclass when it is defined)
    _call_takes_training = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        parameters = inspect.signature(cls.call).parameters.values()
        cls._call_takes_training = any(p.name == "training" or p.kind is p.VAR_KEYWORD for p in parameters)
        if "build" in cls.__dict__ and not hasattr(cls, "fit"):  # a model's build takes Keras's shapes itself
            cls.build = _keras_public_build(cls.__dict__["build"])

    def count_params(self) -> int:
        self._require_built_layer("count parameters")
        return sum(p.numel() for p in self.parameters()) + sum(b.numel() for b in self.buffers() if b.dtype.is_floating_point)

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


_BASE_ARGUMENTS = {"self", "name", "input_shape", "activation", "trainable", "dtype"}


# Keras arguments that change nothing in meddl: accepted and ignored (others at their Keras default only).
_HARMLESS_KERAS_ARGUMENTS = {"seed", "implementation", "use_cudnn", "autocast", "dtype_policy", "input_length"}
_KERAS_DEFAULT_ARGUMENTS = {"lora_rank": None, "lora_alpha": None, "time_major": False, "sparse": False,
                            "ragged": False, "optional": False, "beta_initializer": "zeros", "gamma_initializer": "ones"}


def _keras_public_build(build):
    """``build`` as Keras users call it, ``layer.build((None, 784))``: a shape whose first axis is the batch's
    (None) builds the layer for that sample shape and marks it built, as fit would. meddl's own calls (sample
    shapes, which never hold None) reach ``build`` unchanged."""
    def public_build(self, input_shape, *args, **kwargs):
        shapes = input_shape if isinstance(input_shape, list) and input_shape and isinstance(input_shape[0], (list, tuple)) \
            else [input_shape]
        batched = all(isinstance(shape, (list, tuple)) and len(shape) > 1 and shape[0] is None for shape in shapes)
        if self.__dict__.get("_building") or self.built or args or kwargs or not batched:
            return build(self, input_shape, *args, **kwargs)
        samples = [tuple(shape[1:]) for shape in shapes]
        self.build_for(samples if len(shapes) > 1 or isinstance(input_shape, list) and shapes is input_shape
                       else samples[0])
        return None
    public_build.__doc__, public_build.__name__, public_build.__wrapped__ = build.__doc__, build.__name__, build
    return public_build


def padding_mask(tensor: Any) -> torch.Tensor | None:
    """The padding mask ``(N, steps)`` that ``Embedding(mask_zero=True)`` or ``Masking`` left on ``tensor``
    (Keras's ``_keras_mask``: True at real steps), or None."""
    return getattr(tensor, "_keras_mask", None)


def refuse_unsupported(extras: dict[str, Any], layer: str) -> None:
    """Keras arguments a layer accepts but meddl does not apply: refused when set, never silently dropped
    (a regularizer, a constraint or RMS scaling would change the training; a misspelt argument would go unseen)."""
    changing = {key: value for key, value in extras.items()
                if (key.endswith(("_regularizer", "_constraint")) and value is not None)
                or (key == "rms_scaling" and value)}
    if changing:
        raise MeddlError(f"{layer} in meddl does not support {sorted(changing)}; leave them unset (weight "
                         "regularizers are supported on Dense, the convolutions, the recurrent layers and Embedding).")
    unknown = sorted(key for key, value in extras.items()
                     if not key.endswith(("_regularizer", "_constraint")) and key != "rms_scaling"
                     and key not in _HARMLESS_KERAS_ARGUMENTS
                     and not (key in _KERAS_DEFAULT_ARGUMENTS and _KERAS_DEFAULT_ARGUMENTS[key] == value))
    if unknown:
        raise MeddlError(f"{layer} got unexpected argument(s) {unknown} (or a value meddl does not support). "
                         f"See help(meddl.layers.{layer}) for its arguments.")


def _check_saved_arguments(cls: type) -> None:
    """Keras's rule: a layer of your own whose ``__init__`` takes arguments must list them in ``get_config``."""
    if cls.__module__.startswith("meddl."):
        return
    parameters = inspect.signature(cls.__init__).parameters.values()
    missing = [p.name for p in parameters if p.name not in _BASE_ARGUMENTS
               and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    if missing:
        raise MeddlError(f"Layer {cls.__name__} takes {missing} in __init__, so it must override get_config() to "
                         f"return them, e.g. return {{**super().get_config(), '{missing[0]}': self.{missing[0]}}}; "
                         "otherwise a saved model would rebuild it with the default values.")


def _shape_by_calling(layer: Layer, input_shape: Any) -> Any:
    """The output shape of a layer of your own, found as Keras's ``compute_output_spec`` finds it: by running
    ``call`` once on a zero sample (float, else integer indices for an embedding), in inference mode."""
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    was_training = layer.training
    layer.train(False)
    try:
        with torch.no_grad(), collect_added_losses():  # a loss the call adds here is no step's
            for dtype in (layer._compute_dtype(), torch.long):
                samples = [torch.zeros((1, *shape), dtype=dtype) for shape in shapes]
                try:
                    if layer.__dict__.get("_positional_inputs"):  # called as layer(a, b)
                        out = layer.call(*samples)
                    else:
                        out = layer.call(samples if isinstance(input_shape, list) else samples[0])
                    break
                except (RuntimeError, TypeError, IndexError) as exc:
                    error = exc
            else:
                raise MeddlError(f"Could not find the output shape of layer '{layer.name}' ({type(layer).__name__}) "
                                 f"by calling it on inputs of shape {_fmt(input_shape)}: {error}. Override "
                                 "compute_output_shape(input_shape).") from None
    finally:
        layer.train(was_training)
    if isinstance(out, (list, tuple)):
        return [tuple(item.shape[1:]) for item in out]
    return tuple(out.shape[1:])


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Keras's ``compute_fans``: (fan_in, fan_out) of a weight of ``shape``."""
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _free_key(module: nn.Module, base: str) -> str:
    taken = set(module._parameters) | set(module._buffers) | set(module._modules) | set(module.__dict__)
    key, index = base, 0
    while key in taken:
        index += 1
        key = f"{base}_{index}"
    return key


def _check_dtype(dtype: Any) -> torch.dtype | None:
    if dtype is None:
        return None
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {"float32": torch.float32, "float64": torch.float64, "float16": torch.float16, "bfloat16": torch.bfloat16}
    if isinstance(dtype, str) and dtype in names:
        return names[dtype]
    if isinstance(dtype, dict) and dtype.get("config", {}).get("name") in names:  # a Keras 3 DTypePolicy
        return names[dtype["config"]["name"]]
    raise MeddlError(f"The 'dtype' of a layer must be one of {sorted(names)}. Got {dtype!r} instead.")


def _as_tensors(inputs: Any, dtype: torch.dtype):
    if isinstance(inputs, (list, tuple)) and any(isinstance(item, (np.ndarray, torch.Tensor)) for item in inputs):
        return [_as_tensors(item, dtype) for item in inputs]  # several inputs (a merge layer's)
    if isinstance(inputs, (list, tuple)):  # nested lists of numbers: one batch, as Keras reads them
        try:
            inputs = np.asarray(inputs)
        except ValueError:
            raise MeddlError("A layer was called on nested lists of different lengths; give an array of shape "
                             "(batch, features...), or a list of arrays for a layer with several inputs.") from None
    if isinstance(inputs, torch.Tensor):
        return inputs
    if inputs is None:
        raise MeddlError("A layer was called without inputs.")
    array = np.asarray(inputs)
    if array.dtype.kind in "fcb":
        return torch.as_tensor(array, dtype=dtype)
    return torch.as_tensor(array)


def _shape_of(inputs: Any):
    if isinstance(inputs, (list, tuple)):
        return [tuple(item.shape[1:]) for item in inputs]
    return tuple(inputs.shape[1:])


def _normalize_shape(shape: Any):
    """A shape is a tuple of ints; layers with several inputs or outputs use a list of them."""
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return [tuple(int(d) for d in item) for item in shape]
    return tuple(int(d) for d in shape)


def _with_batch(shape: Any):
    if isinstance(shape, list):
        return [(None, *item) for item in shape]
    return (None, *shape)


def _as_shape(shape: Any, argument: str) -> tuple[int, ...]:
    if isinstance(shape, int):
        shape = (shape,)
    if isinstance(shape, (tuple, list)) and any(d is None for d in shape):
        raise MeddlError(f"The '{argument}' must be a tuple of positive integers: meddl fixes every dimension of "
                         f"an input, so Keras's variable-length dimensions (None) are not supported. Got {shape!r} "
                         "instead; give the length (e.g. pad every sequence to one length).")
    try:
        dims = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise MeddlError(f"The '{argument}' must be a tuple of positive integers. Got {shape!r} instead.") from None
    if not dims or any(d <= 0 for d in dims) or any(int(d) != d for d in shape):
        raise MeddlError(f"The '{argument}' must be a tuple of positive integers. Got {shape!r} instead.")
    return dims


def _fmt(shape: Any) -> str:
    if isinstance(shape, list):
        return "[" + ", ".join(_fmt(item) for item in shape) + "]"
    return "(None, " + ", ".join(str(d) for d in shape) + ")" if shape else "(None,)"
