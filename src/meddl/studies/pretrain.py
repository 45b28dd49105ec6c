"""Self-supervised pretraining of the image encoder on images without labels (SimCLR, Chen et al. 2020).

``meddl pretrain CONFIG --out RUN_DIR`` takes the images a config names (its
training split: validation and test images are never seen, labelled or not),
makes two augmented views of each, and trains the ``default`` image encoder
(the preset without its head; :func:`meddl.models.presets.image_encoder`) plus
a small projection head to tell the two views of an image apart from every
other image in the batch (the NT-Xent loss). The run folder's ``model/`` holds
encoder and projection head with the preset's layer names, so a supervised run
with ``model: {init_from: RUN_DIR}`` loads the encoder and ignores the head.

The views come from meddl's batched augmentation policies
(:mod:`meddl.data.augmentation`), ``strong`` unless ``training.augmentation``
says otherwise: contrastive learning needs strong, varied views, and the
batched version runs ~90x faster than MONAI's per-image transforms here.
Training goes through the one ``TrainingLoop``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from meddl.data import ImageAugmenter, ImagePreprocessor, augmentation_examples_png, resolve_policy
from meddl.errors import ConfigError, MeddlError
from meddl.layers import Dense, Input
from meddl.models import Sequential
from meddl.models.presets import image_encoder
from meddl.runs import RunFolder, RunInfo, RunLog, RunResult, load_config
from meddl.runs.datasets import load_data, split_rows
from meddl.runs.fitting import policy_name
from meddl.runs.supervised import encode_classes
from meddl.training import TrainingLoop, optimizers, resolve_device, set_seed

__all__ = ["pretrain", "nt_xent_loss", "build_pretraining_model", "PROJECTION_LAYERS"]

PROJECTION_LAYERS = ("projection", "projection_output")


def nt_xent_loss(z: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's normalised temperature-scaled cross-entropy for ``z = [views_1; views_2]`` of shape ``(2N, d)``.

    Row ``i`` and row ``i + N`` are the two views of one image: each must pick
    its partner out of the other ``2N - 1`` rows by cosine similarity / temperature.
    """
    if z.dim() != 2 or z.shape[0] % 2 or z.shape[0] < 2:
        raise MeddlError(f"nt_xent_loss needs 'z' of shape (2N, features) holding two views per image; "
                         f"got shape {tuple(z.shape)}.")
    if temperature <= 0:
        raise MeddlError(f"The 'temperature' of nt_xent_loss must be > 0. Got {temperature!r} instead.")
    n = z.shape[0] // 2
    z = F.normalize(z.float(), dim=1)
    similarity = z @ z.T / temperature
    similarity = similarity.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return F.cross_entropy(similarity, partner)


def build_pretraining_model(input_shape: tuple[int, ...], options: dict[str, Any] | None = None,
                            projection_units: int = 64):
    """The ``default`` image encoder plus a two-layer projection head (``projection``, ``projection_output``)."""
    return Sequential([Input(shape=tuple(input_shape)), *image_encoder(options),
                       Dense(projection_units, activation="relu", name=PROJECTION_LAYERS[0]),
                       Dense(projection_units, name=PROJECTION_LAYERS[1])], name="simclr_encoder")


def _training_images(config, log) -> tuple[np.ndarray, Any, int]:
    data = load_data(config.data, classification=True)
    if data.kind != "image":
        raise ConfigError("meddl pretrain trains the image encoder; data.source must hold images "
                          f"(medmnist, image_folder, dicom, nifti), not '{config.data.source}'.")
    for note in data.notes:
        log(note)
    # The same split as a supervised run with this config, so its validation and test images stay unseen.
    y, _ = encode_classes(data.target, class_names=data.class_names, positive_class=config.data.positive_class)
    splits = split_rows(data, y, config.data.split)
    images = data.features[splits.train]
    # scaled as the supervised run of this config scales them (meddl.runs.supervised): a DICOM window is kept
    windowed = getattr(config.data, "window", None) is not None
    preprocessor = ImagePreprocessor(scaling="none" if windowed else "auto").fit(images)
    log(f"Pretraining on the {len(images)} training images of {data.source} (labels unused; "
        f"{len(splits.val)} validation and {len(splits.test)} test images left out).")
    return preprocessor.transform(images), preprocessor, len(data)


def pretrain(config, out: str | Path, *, epochs: int | None = None, batch_size: int | None = None,
             temperature: float = 0.2, projection_units: int = 64, verbose: bool = False) -> Path:
    """Contrastive (SimCLR) pretraining of the image encoder; writes a run folder ``init_from`` can load.

    Args:
        config: a YAML path, dict or ``RunConfig`` naming image data (labels are not used);
            ``model.options`` (e.g. ``width``) shapes the encoder, ``training`` gives the
            seed, optimizer, learning rate and augmentation (default ``strong``).
        out: the run folder to write (replaced atomically).
        epochs: passes over the images (default ``training.epochs``, else 20).
        batch_size: images per batch (default the larger of ``training.batch_size`` and 128:
            every other image in the batch is a negative, so bigger batches help).
        temperature: NT-Xent temperature.
        projection_units: width of the projection head.
        verbose: echo the log.

    Returns:
        The run folder: ``model/``, ``run.json`` (task ``pretrain``), ``config.yaml``,
        ``preprocessing.json``, ``history.csv``, ``augmentation_examples.png``, ``train.log``.

    Example:
        >>> meddl.pretrain("xrays.yaml", out="runs/xray-encoder")                     # doctest: +SKIP
        >>> meddl.train({..., "model": {"init_from": "runs/xray-encoder"}}, out=...)  # doctest: +SKIP
    """
    config = load_config(config)
    for value, name in ((epochs, "epochs"), (batch_size, "batch_size"), (projection_units, "projection_units")):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ConfigError(f"The '{name}' parameter of pretrain must be an integer >= 1. Got {value!r} instead.")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or temperature <= 0:
        raise ConfigError(f"The 'temperature' parameter of pretrain must be a float > 0. Got {temperature!r} instead.")
    training = config.training
    log = RunLog(echo=verbose)
    log(f"meddl pretrain: SimCLR on {config.data.source} images.")
    x, preprocessor, n_rows = _training_images(config, log)
    setting = "strong" if training.augmentation is None else training.augmentation
    policy = resolve_policy(setting, kind="image")
    if not policy.active:
        raise ConfigError("training.augmentation: contrastive pretraining learns from two different augmented "
                          "views of each image, so it needs augmentation (e.g. 'strong').")
    if policy.mixup:
        raise ConfigError("training.augmentation: mixup mixes labels, which pretraining does not have; leave it out.")
    epochs = epochs or training.epochs or 20
    batch_size = batch_size or max(training.batch_size or 0, 128)
    device = resolve_device(training.device)
    set_seed(training.seed)
    model = build_pretraining_model(x.shape[1:], config.model.options.model_dump(exclude_none=True), projection_units)
    model.to(device)
    augmenter = ImageAugmenter(policy, seed=training.seed)

    def step_loss(batch):
        images = batch[0]
        views = torch.cat([augmenter.images(images), augmenter.images(images)])
        return nt_xent_loss(model(views), temperature), None

    optimizer = optimizers.get(training.optimizer, training.learning_rate).build(
        [p for p in model.parameters() if p.requires_grad])
    loop = TrainingLoop(model, step_loss, optimizer, device=device, precision=training.precision)
    log(f"Encoder + projection head: {model.count_params():,} parameters; {epochs} epochs, batch size {batch_size}, "
        f"temperature {temperature}, augmentation '{policy_name(setting, 'image')}'.")
    history = loop.fit((torch.as_tensor(x).to(device),), epochs=epochs, batch_size=batch_size,
                       verbose=1 if training.verbose == 1 else 0)
    losses = history.history["loss"]
    log(f"Contrastive loss {losses[0]:.4f} -> {losses[-1]:.4f} (chance level log(2N - 1) = "
        f"{np.log(2 * min(batch_size, len(x)) - 1):.4f}) in {log.elapsed:.1f}s.")
    model.to("cpu")
    info = RunInfo(task="pretrain", input={"kind": "image", "input_shape": list(x.shape[1:])},
                   data_summary={"source": config.data.source, "n_rows": int(n_rows), "n_images": int(len(x))},
                   model={"preset": "simclr_encoder", "n_parameters": int(model.count_params())}, seed=training.seed,
                   details={"method": "simclr", "temperature": float(temperature),
                            "projection_units": projection_units, "epochs": epochs, "batch_size": batch_size,
                            "n_images": int(len(x)), "n_rows": int(n_rows),
                            "encoder_layers": [layer.name for layer in model.layers
                                               if layer.name not in PROJECTION_LAYERS],
                            "augmentation": policy.settings(), "augmentation_policy": policy_name(setting, "image"),
                            "final_loss": float(losses[-1])})
    png = augmentation_examples_png(x[:6], policy, seed=training.seed)
    out = Path(out)
    log(f"Writing the encoder to '{out}'; use it with model: {{init_from: {out}}}.")
    result = RunResult(config=config, info=info, model=model, metrics={}, predictions={}, split=None,
                       preprocessor=preprocessor, history=history,
                       extra_files={RunFolder.AUGMENTATION_EXAMPLES: lambda path: path.write_bytes(png)})
    RunFolder(out).write(result, log.text())
    return out
