"""Transfer learning: start a model from another run's weights, matched by layer name and shape.

``model: {init_from: RUN_DIR, freeze: [...], pretrained_learning_rate_factor: 0.1}``

A layer is loaded when the source has every one of its weights under the same
``"<layer name>.<weight>"`` key with the same shape. The head (the last layer)
may differ, e.g. another number of classes: it then keeps its fresh
initialisation. Any other layer the two models share by name must match, and
at least one layer must load; otherwise a ``ConfigError`` lists each mismatch
(name, shape wanted, shape found). Frozen layers (``set_trainable(False)``)
keep their weights, and their batch-norm statistics, through training; the
other loaded layers train at ``learning rate x pretrained_learning_rate_factor``.
The source is a run folder (``model/`` is read) or a saved model folder, e.g. one
written by ``meddl pretrain`` or by supervised training on a related data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meddl.errors import ConfigError, did_you_mean
from meddl.models import load_model
from meddl.models.saving import CONFIG_FILE

__all__ = ["WeightMatch", "read_source_weights", "match_weights", "initialise_from", "ALL_BUT_HEAD"]

ALL_BUT_HEAD = "all_but_head"


@dataclass
class WeightMatch:
    """Which layers of a model a source of weights can fill.

    Attributes:
        loaded: layer names whose weights all match (name and shape).
        mismatches: ``(weight key, shape wanted, shape found or None when absent)``
            for layers present in both models that do not match.
        not_in_source: layers with weights that the source does not have at all.
        weights: the source tensors to copy, for the ``loaded`` layers.
    """

    loaded: list[str] = field(default_factory=list)
    mismatches: list[tuple[str, tuple, tuple | None]] = field(default_factory=list)
    not_in_source: list[str] = field(default_factory=list)
    weights: dict[str, Any] = field(default_factory=dict)

    def mismatched_layers(self) -> list[str]:
        return sorted({key.split(".", 1)[0] for key, _, _ in self.mismatches})


def read_source_weights(path: str | Path) -> dict[str, Any]:
    """The named weights of a run folder (its ``model/``) or of a saved model folder."""
    path = Path(path).expanduser()
    folder = path if (path / CONFIG_FILE).is_file() else path / "model"
    if not (folder / CONFIG_FILE).is_file():
        raise ConfigError(f"model.init_from: '{path}' is neither a run folder (with model/) nor a saved model "
                          f"folder (with {CONFIG_FILE}).")
    return load_model(folder, device="cpu").named_weights()


def _shape(tensor) -> tuple[int, ...]:
    return tuple(int(d) for d in tensor.shape)


def match_weights(model, source: dict[str, Any]) -> WeightMatch:
    """Match ``model``'s layers to ``source`` weights by ``"<layer>.<weight>"`` name and shape."""
    match = WeightMatch()
    source_layers = {key.split(".", 1)[0] for key in source}
    for layer in model.layers:
        own = {f"{layer.name}.{key}": tensor for key, tensor in layer.state_dict().items()}
        if not own:
            continue
        if layer.name not in source_layers:
            match.not_in_source.append(layer.name)
            continue
        problems = [(key, _shape(tensor), _shape(source[key]) if key in source else None)
                    for key, tensor in own.items() if key not in source or _shape(source[key]) != _shape(tensor)]
        if problems:
            match.mismatches.extend(problems)
        else:
            match.loaded.append(layer.name)
            match.weights.update({key: source[key] for key in own})
    return match


def _describe(mismatches) -> str:
    """One entry per layer: its first mismatched weight (name, shape wanted, shape found) and how many more."""
    by_layer: dict[str, list] = {}
    for item in mismatches:
        by_layer.setdefault(item[0].split(".", 1)[0], []).append(item)
    parts = []
    for items in by_layer.values():
        key, wanted, found = items[0]
        more = f" (+{len(items) - 1} more weight(s))" if len(items) > 1 else ""
        parts.append(f"{key}: wanted {wanted}, found {'nothing' if found is None else found}{more}")
    return "; ".join(parts)


def _frozen_layers(model, freeze: list[str] | None) -> list[str]:
    if not freeze:
        return []
    names = [layer.name for layer in model.layers]
    if ALL_BUT_HEAD in freeze:
        return names[:-1]
    unknown = [name for name in freeze if name not in names]
    if unknown:
        raise ConfigError(f"model.freeze: layer(s) {unknown} are not in the model."
                          f"{did_you_mean(unknown[0], names)} Layers: {names}.")
    return list(dict.fromkeys(freeze))


def initialise_from(model, init_from: str | Path, *, freeze: list[str] | None = None,
                    learning_rate_factor: float = 1.0, log=None) -> dict[str, Any]:
    """Load matching weights from ``init_from`` into ``model``, freeze layers, set learning-rate factors.

    Args:
        model: a built ``Sequential``.
        init_from: a run folder or saved model folder.
        freeze: layer names to keep fixed, or ``["all_but_head"]``; each must have been loaded
            (weightless layers such as pooling may be named too).
        learning_rate_factor: the loaded, trainable layers learn at this multiple of the learning rate.
        log: a ``RunLog`` (or any callable taking a line).

    Returns:
        A JSON-ready summary: source, loaded / frozen / freshly initialised layers.

    Raises:
        ConfigError: nothing matches, a shared layer other than the head does not match, or
            a layer to freeze was not loaded; the message lists name, shape wanted, shape found.
    """
    source = read_source_weights(init_from)
    match = match_weights(model, source)
    head = model.layers[-1].name
    if not match.loaded:
        details = _describe(match.mismatches) or "the models share no layer names"
        raise ConfigError(f"model.init_from: no layer of the model matches '{init_from}' by name and shape "
                          f"({details}). The model's layers: {[layer.name for layer in model.layers]}; the source's: "
                          f"{sorted({key.split('.', 1)[0] for key in source})}.")
    body_mismatches = [m for m in match.mismatches if m[0].split(".", 1)[0] != head]
    if body_mismatches:
        raise ConfigError(f"model.init_from: layer(s) {sorted({m[0].split('.', 1)[0] for m in body_mismatches})} "
                          f"of '{init_from}' do not fit the model: {_describe(body_mismatches)}. Use the same preset "
                          "and options (e.g. width, image channels) as the source run.")
    with_weights = {layer.name for layer in model.layers if layer.state_dict()}
    # Layers without weights (activations, pooling, dropout) have nothing to freeze.
    frozen = [name for name in _frozen_layers(model, freeze) if name in with_weights]
    not_loaded = [name for name in frozen if name in with_weights and name not in match.loaded]
    if not_loaded:
        problems = [m for m in match.mismatches if m[0].split(".", 1)[0] in not_loaded]
        raise ConfigError(f"model.freeze: layer(s) {not_loaded} were not loaded from '{init_from}', so freezing "
                          f"them would fix random weights. "
                          + (f"Mismatches: {_describe(problems)}." if problems else "The source does not have them."))
    model.load_named_weights(match.weights, strict=False)
    for layer in model.layers:
        if layer.name in frozen:
            layer.set_trainable(False)
    trainable_loaded = [name for name in match.loaded if name not in frozen]
    if learning_rate_factor != 1.0 and trainable_loaded:
        model.learning_rate_factors = {name: float(learning_rate_factor) for name in trainable_loaded}
    fresh = [name for name in with_weights if name not in match.loaded]
    if log is not None:
        log(f"Initialised {len(match.loaded)} layer(s) from '{init_from}': {', '.join(match.loaded)}"
            + (f"; fresh: {', '.join(sorted(fresh))}" if fresh else "")
            + (f" (head {head}: {_describe(match.mismatches)})" if match.mismatches else "") + ".")
        if frozen:
            log(f"Frozen: {', '.join(frozen)}.")
        if model.learning_rate_factors:
            log(f"Pretrained layers learn at {learning_rate_factor:g} x the learning rate.")
    return {"init_from": str(init_from), "loaded": match.loaded, "fresh": sorted(fresh), "frozen": frozen,
            "head_mismatch": [[k, list(w), None if f is None else list(f)] for k, w, f in match.mismatches],
            "pretrained_learning_rate_factor": float(learning_rate_factor)}
