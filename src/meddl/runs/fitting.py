"""The training recipe of a supervised run: model, loss, augmentation, sampling, transfer, ensemble members.

``fit_models`` turns the ``model`` and ``training`` sections of a config into
one or more trained ``Sequential`` members (``training.ensemble``), each built
from the preset, optionally initialised from another run (``model.init_from``),
compiled with the configured loss (cross-entropy or focal, soft-target
versions when mixup is on), given the augmentation policy as its training-batch
transform, and fitted with early stopping on the validation split. With
``training.ensemble_method: snapshots`` the members are instead the snapshots of
one training run in ``training.ensemble`` cosine cycles
(:mod:`meddl.training.snapshots`), without early stopping.

Balanced sampling (``training.sampling: balanced``) is random oversampling,
drawn afresh every epoch through the training loop's ``sampler`` hook: each
class's rows are drawn (seeded, every row at least ``floor(majority / class
size)`` times, the rest without replacement) up to the majority class's count,
so every epoch sees the classes equally often.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from meddl.data import (AugmentationPolicy, ImageAugmenter, augmentation_examples_png, augmentation_section,
                        resolve_policy)
from meddl.errors import ConfigError
from meddl.evaluation.ensemble import ensemble_section, ensemble_summary
from meddl.models.ensemble import combine_outputs, describe_tta, member_outputs
from meddl.models.presets import build_model, default_epochs
from meddl.models.transfer import initialise_from
from meddl.runs.folder import RunFolder
from meddl.sections import Section, paragraph
from meddl.training import set_seed
from meddl.training.callbacks import stop_after_tolerating
from meddl.training.snapshots import SnapshotCycles

__all__ = ["FittedModels", "RecipeOutputs", "fit_models", "recipe_outputs", "balanced_indices", "training_loss",
           "policy_name"]


@dataclass
class FittedModels:
    """Trained members and what was done to train them."""

    models: list
    histories: list
    early_stops: list
    policy: AugmentationPolicy
    policy_name: str
    transfer: dict | None = None
    recipe: dict[str, Any] = field(default_factory=dict)
    tta: str = "none"  # test-time augmentation of every output (meddl.models.ensemble.TTA_FLIPS)

    @property
    def model(self):
        return self.models[0]

    @property
    def history(self):
        return self.histories[0]

    def outputs(self, x: np.ndarray, classification: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(combined, per_member)`` outputs for ``x`` (see :func:`meddl.models.ensemble.combine_outputs`),
        with the run's test-time augmentation."""
        return combine_outputs(member_outputs(self.models, x, tta=self.tta, classification=classification),
                               classification)


def policy_name(setting: Any, kind: str) -> str:
    """A readable name for the ``training.augmentation`` setting (``light``, ``custom (medium + mixup)``, ...)."""
    if setting is None:
        return "light" if kind == "image" else "none"
    if isinstance(setting, bool):
        return "light" if setting and kind == "image" else "none"
    if isinstance(setting, str):
        return setting
    values = setting if isinstance(setting, dict) else setting.model_dump()
    overrides = sorted(k for k, v in values.items() if k != "policy" and v is not None)
    return f"custom ({values.get('policy') or 'none'} + {', '.join(overrides) or 'no changes'})"


def training_loss(config, *, classification: bool, soft_targets: bool) -> str | dict:
    """The loss for ``compile``: by ``training.loss``, and a soft-target form when targets are one-hot (mixup)."""
    setting = config.training.loss
    if not classification:
        if setting.name != "auto":
            raise ConfigError(f"training.loss {setting.name!r} is for diagnosis; regression trains with 'auto' "
                              "(mean squared error).")
        return "mse"
    if setting.name == "focal":
        return {"name": "categorical_focal" if soft_targets else "focal", "gamma": setting.gamma}
    return "categorical_crossentropy" if soft_targets else "sparse_categorical_crossentropy"


def balanced_indices(y: np.ndarray, seed: int) -> np.ndarray:
    """Row indices in which every class appears as often as the largest one (random oversampling, seeded).

    Each row of a class of size ``n_c`` appears ``majority // n_c`` times, plus
    ``majority % n_c`` rows of it drawn once more without replacement; the
    result is shuffled. Training draws it afresh every epoch (seed + epoch) through the
    training loop's ``sampler`` hook.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    target = int(counts.max())
    parts = []
    for label, count in zip(classes, counts):
        rows = np.flatnonzero(y == label)
        parts.append(np.tile(rows, target // count))
        parts.append(rng.choice(rows, target % count, replace=False))
    indices = np.concatenate(parts)
    return indices[rng.permutation(len(indices))]


def _build(config, kind: str, input_shape: tuple, n_outputs: int, classification: bool):
    return build_model(config.model.preset, kind=kind, input_shape=input_shape, n_outputs=n_outputs,
                       output_activation="softmax" if classification else "linear", augment=False,
                       options=config.model.options.model_dump(exclude_none=True), layers=config.model.layers)


def fit_models(config, *, kind: str, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
               y_val: np.ndarray, classification: bool, n_outputs: int, class_weight=None, log) -> FittedModels:
    """Build, initialise, compile and train ``training.ensemble`` member(s); see the module docstring.

    Args:
        config: the ``RunConfig``.
        kind: ``"table"`` or ``"image"``.
        x_train, y_train, x_val, y_val: features and fitting targets (class indices, or scaled values);
            ``x_val`` ``None``: no validation (a fixed number of epochs, no early stopping).
        classification: diagnosis (softmax outputs) or regression.
        n_outputs: classes, or 1.
        class_weight: ``"balanced"`` or ``None`` (already resolved from ``training.class_weight``).
        log: the run log.
    """
    training = config.training
    members = config.ensemble_members
    policy = resolve_policy(training.augmentation, kind=kind, legacy_options=config.model.options.augmentation)
    name = policy_name(training.augmentation, kind)
    soft = bool(policy.mixup)
    if soft and not classification:
        raise ConfigError("training.augmentation: mixup mixes class labels, so it is for diagnosis, not regression.")
    if training.sampling == "balanced":
        if not classification:
            raise ConfigError("training.sampling 'balanced' balances classes, so it is for diagnosis, not regression.")
        if training.class_weight == "balanced":
            raise ConfigError("training.sampling 'balanced' and training.class_weight 'balanced' would correct the "
                              "imbalance twice; use one of them (class_weight: auto becomes none with balanced sampling).")
        class_weight = None
    loss = training_loss(config, classification=classification, soft_targets=soft)
    if soft:
        y_train = np.eye(n_outputs, dtype=np.float32)[y_train]
        y_val = None if y_val is None else np.eye(n_outputs, dtype=np.float32)[y_val]
    epochs = training.epochs or default_epochs(kind)
    snapshots = training.ensemble_method == "snapshots"
    if snapshots:  # one training run in `members` cosine cycles, a member kept at the end of each
        snapshot_cycles = SnapshotCycles(members, epochs)
        if training.early_stopping is not None:
            log(f"Snapshot ensemble: {members} cosine cycles of about {epochs // members} epochs; every cycle runs "
                "to its end (no early stopping).")
    models, histories, stops, transfer = [], [], [], None
    for member in range(1 if snapshots else members):
        member_seed = training.seed + member
        set_seed(member_seed)
        model = _build(config, kind, x_train.shape[1:], n_outputs, classification)
        if model.output_shape[1:] != (n_outputs,):  # Keras's (None, units)
            raise ConfigError(f"model.layers: the last layer must have {n_outputs} output(s) for this data; "
                              f"it has shape {model.output_shape}.")
        if config.model.init_from:
            transfer = initialise_from(model, config.model.init_from, freeze=config.model.freeze,
                                       learning_rate_factor=config.model.pretrained_learning_rate_factor,
                                       log=log if member == 0 else None)
        model.compile(optimizer=training.optimizer, learning_rate=training.learning_rate, loss=loss,
                      metrics=["auc"] if classification else ["mae"], device=training.device,
                      precision=training.precision)
        if policy.active:
            model.batch_transform = ImageAugmenter(policy, seed=member_seed)
        x_fit, y_fit, sampler = x_train, y_train, None
        if training.sampling == "balanced":
            labels = y_train if not soft else y_train.argmax(axis=1)
            sampler = lambda epoch, labels=labels, seed=member_seed: balanced_indices(labels, seed + epoch)  # noqa: E731
            rows_per_epoch = len(sampler(0))
        callbacks = []
        if snapshots:
            callbacks.append(snapshot_cycles)
        elif training.early_stopping is not None:
            monitor = training.early_stopping.monitor or ("val_auc" if classification else "val_loss")
            callbacks.append(stop_after_tolerating(training.early_stopping.patience, monitor=monitor,
                                                    restore_best_weights=True,
                                                    tie_monitor="val_loss" if monitor != "val_loss" else None))
        if member == 0:
            log(f"Model '{config.model.preset}': {model.count_params():,} parameters; training up to {epochs} epochs, "
                f"batch size {training.batch_size}, {training.optimizer}, loss {loss if isinstance(loss, str) else loss['name']}"
                + (f", augmentation '{name}'" if policy.active else "")
                + (f", balanced sampling ({rows_per_epoch} rows per epoch, drawn afresh each epoch)"
                   if training.sampling == "balanced" else "")
                + (f", ensemble of {members}" + (" snapshots" if snapshots else "") if members > 1 else "") + ".")
        # A model initialised from another run must not have its weights re-drawn by fit(seed=...).
        history = model.fit(x_fit, y_fit, validation_data=None if x_val is None else (x_val, y_val), epochs=epochs,
                            batch_size=training.batch_size, class_weight=class_weight, callbacks=callbacks,
                            verbose=training.verbose, seed=None if config.model.init_from else member_seed,
                            sampler=sampler)
        stop = callbacks[0] if callbacks and not snapshots else None
        log(("Trained" if members == 1 or snapshots else f"Member {member} (seed {member_seed}): trained")
            + f" {len(history.epoch)} epochs in {log.elapsed:.1f}s"
            + (f"; best epoch {stop.best_epoch + 1} ({stop.monitor} {stop.best:.4f}), weights restored."
               if stop is not None and stop.best_epoch is not None else "."))
        models.append(model)
        histories.append(history)
        stops.append(stop)
    if snapshots:  # the final weights are the last cycle's snapshot; the earlier ones become the other members
        for snapshot in snapshot_cycles.snapshots[:-1]:
            member_model = _build(config, kind, x_train.shape[1:], n_outputs, classification)
            member_model.load_state_dict(snapshot)
            member_model.eval()
            models.append(member_model)
            histories.append(histories[0])
            stops.append(None)
        log(f"Snapshot ensemble: {len(models)} members, kept at epochs "
            + ", ".join(str((k + 1) * snapshot_cycles.cycle_length) for k in range(members - 1))
            + f" and {epochs}.")
    recipe = {"augmentation_policy": name, "augmentation": policy.settings(), "loss": loss,
              "sampling": training.sampling, "class_weight": class_weight, "ensemble": members,
              "ensemble_method": training.ensemble_method,
              "epochs": epochs}
    # evaluation.tta: diagnosis configs only (refused for tables there); a regression config has no such key
    tta = config.evaluation.tta if classification else "none"
    return FittedModels(models, histories, stops, policy, name, transfer, recipe, tta)


@dataclass
class RecipeOutputs:
    """What the recipe adds to a run: files (by name, with their writers), ensemble members, report sections."""

    files: dict[str, Any] = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    members: list = field(default_factory=list)
    member_histories: list = field(default_factory=list)


def recipe_outputs(fitted: FittedModels, combined: dict, predictions: dict, metrics: dict, *, x_train, y_train,
                   problem: str, class_names, target_scaling, truths: dict, seed: int, log) -> RecipeOutputs:
    """What the recipe produced: the augmentation example grid, the other ensemble members and their
    histories, report sections; the ensemble summary goes into ``metrics[split]["ensemble"]``.

    ``combined`` maps each evaluated split to :meth:`FittedModels.outputs`; ``truths`` to its targets.
    """
    outputs = RecipeOutputs()
    extra, sections = outputs.files, outputs.sections
    if fitted.policy.active:
        classes = np.unique(y_train) if class_names else [None]
        picks = np.concatenate([np.flatnonzero(y_train == c)[:3] if c is not None else np.arange(6) for c in classes])[:6]
        png = augmentation_examples_png(x_train[picks], fitted.policy, seed=seed)
        extra[RunFolder.AUGMENTATION_EXAMPLES] = lambda path, png=png: path.write_bytes(png)
        sections.append(Section(*augmentation_section(fitted.policy, png, fitted.policy_name)))
    if fitted.tta != "none":
        sections.append(Section("Test-time augmentation", paragraph(describe_tta(fitted.tta))))
    if len(fitted.models) > 1:
        outputs.members, outputs.member_histories = fitted.models[1:], fitted.histories[1:]
        split = "test" if "test" in combined else "val"
        _, per_member = combined[split]
        if problem == "regression":
            member_scores = [(m[:, 0] * target_scaling["std"] + target_scaling["mean"]) for m in per_member]
            spread = np.std(member_scores, axis=0, ddof=1)
        elif problem == "binary":
            member_scores = [m[:, 1] for m in per_member]
            spread = per_member[:, :, 1].std(axis=0, ddof=1)
        else:
            member_scores = list(per_member)
            spread = per_member.std(axis=0, ddof=1).mean(axis=1)
        scores = predictions[split]
        ensemble_scores = (scores["predicted"].to_numpy() if problem == "regression" else
                           scores[f"prob_{class_names[-1]}"].to_numpy() if problem == "binary" else
                           scores[[f"prob_{c}" for c in class_names]].to_numpy())
        summary = ensemble_summary(member_scores, ensemble_scores, truths[split], spread, problem)
        metrics.setdefault(split, {})["ensemble"] = summary
        sections.append(ensemble_section(summary, len(fitted.models), split))
        shown = lambda value: "n/a" if value is None else f"{value:.4f}"  # noqa: E731
        log(f"Ensemble of {len(fitted.models)}: {summary['metric']} on {split} {shown(summary['ensemble'])} "
            f"(members {', '.join(shown(v) for v in summary['members'])}).")
    return outputs
