"""Keras 3's ``compile_config`` (the optimizer, loss and metrics a ``.keras`` file's ``config.json`` holds) read
into meddl's ``compile`` arguments, and written from a compiled meddl model.

Keras writes the optimizer as a serialised object (class and settings; the learning rate as its float32
variable, or a schedule), each loss and metric as a name (``"mse"``, ``"accuracy"``), a serialised object
(``BinaryCrossentropy`` with ``from_logits``, ``AUC``) or a serialised function, and ``loss_weights`` as
given. What has no meddl (or, writing, no Keras) counterpart is never dropped silently: it is listed in what
the functions return, for the caller to warn about. The optimizer's state (its slot variables) is not carried
either way.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from meddl.errors import MeddlError
from meddl.layers.base import snake_case
from meddl.training import losses as losses_module
from meddl.training import metrics as metrics_module
from meddl.training import optimizers as optimizers_module
from meddl.training import schedules

__all__ = ["compile_arguments", "compile_config"]

# Keras's optimizers meddl has, by class name (meddl's AdamL2 is not Keras's: its decay is an L2 term)
_OPTIMIZERS = {cls.__name__: cls for cls in (optimizers_module.SGD, optimizers_module.Adam, optimizers_module.AdamW,
                                             optimizers_module.RMSprop, optimizers_module.Adagrad,
                                             optimizers_module.Adadelta, optimizers_module.Adamax,
                                             optimizers_module.Nadam)}
# Keras's loss classes meddl has, with the name Keras also takes as a string
_LOSSES = {losses_module.MeanSquaredError: ("MeanSquaredError", "mean_squared_error"),
           losses_module.MeanAbsoluteError: ("MeanAbsoluteError", "mean_absolute_error"),
           losses_module.BinaryCrossentropy: ("BinaryCrossentropy", "binary_crossentropy"),
           losses_module.CategoricalCrossentropy: ("CategoricalCrossentropy", "categorical_crossentropy"),
           losses_module.SparseCategoricalCrossentropy: ("SparseCategoricalCrossentropy",
                                                         "sparse_categorical_crossentropy"),
           losses_module.BinaryFocalCrossentropy: ("BinaryFocalCrossentropy", "binary_focal_crossentropy"),
           losses_module.Huber: ("Huber", "huber"),
           losses_module.LogCosh: ("LogCosh", "log_cosh"),
           losses_module.Dice: ("Dice", "dice")}
_LOSS_CLASSES = {keras_name: cls for cls, (keras_name, _) in _LOSSES.items()}
# Keras's losses without a from_logits argument
_NO_LOGITS = ("MeanSquaredError", "MeanAbsoluteError", "Huber", "LogCosh", "Dice")
# meddl's metric names that Keras's metrics.get also reads (Keras has no 'acc', 'binary_iou' or 'dice')
_KERAS_METRIC_NAMES = {"accuracy", "auc", "mse", "mae", "mean_squared_error", "mean_absolute_error", "precision",
                       "recall", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
                       "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"}
# meddl's metric classes that are also Keras's (same name, same constructor arguments)
_KERAS_METRIC_CLASSES = {"AUC", "Precision", "Recall", "Accuracy", "BinaryAccuracy", "CategoricalAccuracy",
                         "SparseCategoricalAccuracy", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
                         "BinaryIoU", "TruePositives", "TrueNegatives", "FalsePositives", "FalseNegatives",
                         "SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall",
                         "RecallAtPrecision", "FBetaScore", "F1Score", "RootMeanSquaredError",
                         "MeanAbsolutePercentageError", "R2Score", "BinaryCrossentropy", "CategoricalCrossentropy",
                         "SparseCategoricalCrossentropy", "MeanSquaredError", "MeanAbsoluteError", "Mean"}
# compile_config keys that change nothing in meddl's training loop
_HARMLESS = {"run_eagerly": (False, None), "steps_per_execution": (1, None), "jit_compile": (False, True, "auto", None),
             "auto_scale_loss": (True, False, None)}


_SKIPPED = object()  # a metric left out while mapping a (nested) list of them


class _Unsupported(Exception):
    """Something in a compile config with no counterpart on the other side (its description is the message)."""


# -- reading ----------------------------------------------------------------------------------------------
def compile_arguments(config: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """meddl ``compile()`` keyword arguments for Keras's ``compile_config``, and what is not restored.

    Returns ``None`` as the arguments when the optimizer or the loss has no meddl counterpart (the model
    then stays uncompiled); a metric or setting meddl lacks is left out and named in the list."""
    not_restored: list[str] = []
    for key, value in config.items():
        if key in _HARMLESS:
            continue
        if key == "weighted_metrics" and value:
            not_restored.append(f"weighted_metrics {value!r} (meddl's metrics are unweighted)")
        elif key not in ("optimizer", "loss", "loss_weights", "metrics", "weighted_metrics"):
            not_restored.append(f"the compile setting {key}={value!r}")
    metrics = _map_nested(config.get("metrics"), _metric, not_restored)
    try:
        optimizer = _optimizer(config.get("optimizer", "rmsprop"))
    except (_Unsupported, MeddlError, TypeError) as exc:
        return None, [f"the optimizer: {exc}", *not_restored]
    try:
        loss = _map_nested(config.get("loss"), _loss, None)
    except (_Unsupported, MeddlError, TypeError) as exc:
        return None, [f"the loss: {exc}", *not_restored]
    return {"optimizer": optimizer, "loss": loss, "metrics": metrics,
            "loss_weights": config.get("loss_weights")}, not_restored


def _map_nested(value: Any, convert, not_restored: list[str] | None) -> Any:
    """``convert`` each item of a single value, a list (of lists) or a dict by output name. With a list for
    ``not_restored``, an item that cannot be converted is left out and named there; without one, it raises."""
    if value is None:
        return None
    if isinstance(value, dict) and "class_name" not in value:
        return {key: _map_nested(item, convert, not_restored) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        mapped = [_map_nested(item, convert, not_restored) for item in value]
        return [item for item in mapped if item is not _SKIPPED]
    if not_restored is None:
        return convert(value)
    try:
        return convert(value)
    except (_Unsupported, MeddlError, TypeError) as exc:
        not_restored.append(f"the metric {_describe(value)}: {exc}")
        return _SKIPPED


def _describe(spec: Any) -> str:
    return repr(spec) if not isinstance(spec, dict) else f"{spec.get('class_name')}({spec.get('config')!r})"


def _optimizer(spec: Any) -> optimizers_module.Optimizer:
    if isinstance(spec, str):
        return optimizers_module.get(spec)
    class_name = spec.get("class_name") if isinstance(spec, dict) else None
    cls = _OPTIMIZERS.get(class_name)
    if cls is None:
        raise _Unsupported(f"{class_name or spec!r} is not one of meddl's optimizers ({', '.join(_OPTIMIZERS)})")
    settings = {key: value for key, value in (spec.get("config") or {}).items() if key != "name"}
    rate = settings.get("learning_rate")
    if isinstance(rate, float):
        settings["learning_rate"] = _float32_value(rate)
    elif isinstance(rate, dict):
        schedule_settings = {key: value for key, value in (rate.get("config") or {}).items() if key != "name"}
        settings["learning_rate"] = schedules.deserialize({"class_name": rate.get("class_name"),
                                                           "config": schedule_settings})
    return cls(**settings)


def _float32_value(value: float) -> float:
    """The number Keras was given for a float32 variable (``3e-4``, written as ``0.0003000000142492354``)."""
    return float(str(np.float32(value)))


def _loss(spec: Any) -> losses_module.Loss:
    if isinstance(spec, str):
        return losses_module.get(spec)
    if not isinstance(spec, dict):
        raise _Unsupported(f"{spec!r} is not a loss Keras writes")
    if spec.get("class_name") == "function":  # keras.losses.mean_squared_error and the like, by name
        return losses_module.get(str(spec.get("config")))
    cls = _LOSS_CLASSES.get(spec.get("class_name"))
    if cls is None:
        raise _Unsupported(f"{spec.get('class_name')!r} is not one of the Keras losses meddl has "
                           f"({', '.join(_LOSS_CLASSES)})")
    settings = {key: value for key, value in (spec.get("config") or {}).items() if key not in ("name", "dtype")}
    return cls(**_known_settings(cls, settings))


def _known_settings(cls: type, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` less the ones meddl's ``cls`` lacks that Keras writes as None (its "not used", e.g. a
    metric's ``ignore_class``); any other setting ``cls`` lacks stays, to be refused by name."""
    parameters = inspect.signature(cls).parameters
    if any(p.kind == p.VAR_KEYWORD for p in parameters.values()):
        return settings
    return {key: value for key, value in settings.items() if value is not None or key in parameters}


def _metric(spec: Any) -> Any:
    if isinstance(spec, dict) and spec.get("class_name") == "function":
        spec = str(spec.get("config"))
    if isinstance(spec, str):
        metrics_module.get(spec)  # an unknown name is refused here, by name
        return spec
    if not isinstance(spec, dict):
        raise _Unsupported(f"{spec!r} is not a metric Keras writes")
    class_name = spec.get("class_name")
    cls = metrics_module.METRIC_CLASSES.get(class_name)
    if cls is None:
        raise _Unsupported(f"meddl has no metric {class_name!r}")
    settings = _known_settings(cls, {key: value for key, value in (spec.get("config") or {}).items()
                                     if key != "dtype"})
    if "from_logits" not in inspect.signature(cls).parameters:  # (AUC would swallow it in its **kwargs)
        if settings.pop("from_logits", False):
            raise _Unsupported(f"meddl's {class_name} reads probabilities, not logits (from_logits=True)")
    return cls.from_config(settings)


# -- writing ----------------------------------------------------------------------------------------------
def compile_config(model) -> tuple[dict[str, Any], list[str]]:
    """Keras's ``compile_config`` for a compiled meddl ``model`` (``{}`` when it is not compiled, or when its
    optimizer or loss has no Keras counterpart), and what is left out of it."""
    if getattr(model, "loss", None) is None:
        return {}, []
    try:
        optimizer = _keras_optimizer(model.optimizer)
        if model.output_losses is not None:
            names = model.output_names
            keyed = getattr(model, "output_keys", None)
            loss_items = [None if loss is None else _keras_loss(loss) for loss in model.output_losses]
            loss: Any = dict(zip(names, loss_items)) if keyed else loss_items
            weights = [float(weight) for weight in model.loss_weights]
            loss_weights: Any = dict(zip(names, weights)) if keyed else weights
        else:
            loss, loss_weights = _keras_loss(model.loss), None
    except _Unsupported as exc:
        return {}, [f"the compile settings (Keras loads the model uncompiled): {exc}"]
    left_out: list[str] = []
    metrics = _keras_metrics(model.metric_specs, left_out)
    return {"optimizer": optimizer, "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
            "weighted_metrics": None, "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}, left_out


def _keras_object(module: str, class_name: str, config: Any) -> dict[str, Any]:
    return {"module": module, "class_name": class_name, "config": config, "registered_name": None}


def _keras_optimizer(optimizer: optimizers_module.Optimizer) -> dict[str, Any]:
    class_name = type(optimizer).__name__
    if _OPTIMIZERS.get(class_name) is not type(optimizer):
        raise _Unsupported(f"the optimizer {class_name} has no Keras counterpart")
    config = {key: value for key, value in optimizer.get_config().items() if key != "name"}
    if isinstance(config.get("learning_rate"), dict):
        schedule = config["learning_rate"]
        config["learning_rate"] = _keras_object("keras.optimizers.schedules", schedule["class_name"],
                                                schedule["config"])
    if hasattr(optimizer, "centered"):
        config["centered"] = optimizer.centered
    if not config.get("weight_decay") and class_name != "AdamW":  # Keras's "no decay" (AdamW needs a number)
        config["weight_decay"] = None
    return _keras_object("keras.optimizers", class_name, {"name": snake_case(class_name), **config})


def _keras_loss(loss: losses_module.Loss) -> Any:
    names = _LOSSES.get(type(loss))
    if names is None:
        raise _Unsupported(f"the loss {type(loss).__name__} ('{loss.name}') has no Keras counterpart")
    class_name, keras_name = names
    config = loss.get_config()
    if config == type(loss)().get_config():
        return keras_name  # the name, as Keras writes a loss compiled by name
    if class_name in _NO_LOGITS:
        if config.pop("from_logits", False):
            raise _Unsupported(f"Keras's {class_name} takes no from_logits=True")
    return _keras_object("keras.losses", class_name, {**config, "name": keras_name,
                                                      "reduction": "sum_over_batch_size"})


def _keras_metrics(specs: Any, left_out: list[str]) -> Any:
    if isinstance(specs, dict):
        return {name: _keras_metrics(items, left_out) for name, items in specs.items()}
    written = []
    for spec in specs or []:
        if isinstance(spec, str) and spec.lower() in _KERAS_METRIC_NAMES | {"acc"}:
            written.append("accuracy" if spec.lower() == "acc" else spec.lower())
        elif isinstance(spec, dict) and spec.get("class_name") in _KERAS_METRIC_CLASSES:
            written.append(_keras_object("keras.metrics", spec["class_name"], spec.get("config") or {}))
        elif isinstance(spec, dict) and spec.get("function") in _KERAS_METRIC_NAMES:
            written.append({"module": "builtins", "class_name": "function", "config": spec["function"],
                            "registered_name": "function"})  # as Keras writes a metric function
        elif isinstance(spec, str) and spec in _KERAS_METRIC_CLASSES:
            written.append(spec)
        else:
            left_out.append(f"the metric {spec!r} (no Keras counterpart)")
    return written or None
