"""Deep ensembles: several members trained with different seeds, probabilities averaged, spread as uncertainty.

``training.ensemble: 5`` trains members with seeds ``seed, seed + 1, ...``.
Classification members are combined by averaging their probabilities; the
combined output is handed on as ``log(mean probability)``, whose softmax is the
mean probability, so calibration, thresholds and conformal sets work unchanged
and an ensemble of identical members gives exactly that member's predictions.
Regression members are averaged. The members' spread is the uncertainty:
``prob_<class>_sd`` (standard deviation across members) and
``prob_<class>_low``/``_high`` (2.5th and 97.5th percentiles across members, a
95% interval; with few members it is close to their range). Spreads are of the
members' uncalibrated probabilities.

A run folder holds member 0 in ``model/`` and the others in ``model_1/``, ...
(:class:`meddl.runs.folder.RunFolder` owns those names).

The rules are the same for every model family, and live here once:
:func:`member_seeds` (member ``k`` trains with ``seed + k``) and
:func:`member_spread` (mean, standard deviation and the central 95% of the
members' values). ``meddl.survival.SurvivalEnsemble`` and
``meddl.treatment.EffectEnsemble`` use them for their members too.

Test-time augmentation (``evaluation.tta`` of an image run) is the same trick
over views instead of members: :func:`member_outputs` with ``tta`` gives each
member's output averaged over the image and its mirrored copies (``log`` of the
mean probability for classification, the mean output for regression), so
everything downstream sees one output per member, as without it.
"""

from __future__ import annotations

import numpy as np

from meddl.errors import DataError, MeddlError

__all__ = ["member_seeds", "member_spread", "member_outputs", "combine_outputs", "spread_columns", "TTA_FLIPS",
           "describe_tta"]

COVERAGE = 0.95

#: Test-time augmentation settings -> the mirrored copies averaged with the original image, as the axes flipped
#: in an (N, height, width, channels) batch (horizontal: width, axis 2; vertical: height, axis 1; as training's
#: augmentation flips them).
TTA_FLIPS: dict[str, tuple[tuple[int, ...], ...]] = {
    "none": (),
    "horizontal": ((2,),),
    "vertical": ((1,),),
    "horizontal_and_vertical": ((2,), (1,), (1, 2)),
}


def member_seeds(seed: int, n_members: int) -> list[int]:
    """The members' seeds: ``seed, seed + 1, ..., seed + n_members - 1`` (the rule of every ensemble in meddl)."""
    return [int(seed) + k for k in range(int(n_members))]


def member_spread(values: np.ndarray, *, coverage: float = COVERAGE, method: str = "linear") -> dict[str, np.ndarray]:
    """Mean, standard deviation and central ``coverage`` interval across members (axis 0 of ``values``).

    Returns ``{"mean", "sd", "lower", "upper"}``. The interval is the members' ``(1 - coverage) / 2`` and
    ``(1 + coverage) / 2`` percentiles; ``method="nearest"`` takes member values themselves (for values that
    may be inf, such as a median survival time that is never reached). It describes training variability
    (a deep ensemble), not a confidence interval for the true value.
    """
    values = np.asarray(values, dtype=np.float64)
    tail = 50.0 * (1.0 - coverage)
    with np.errstate(invalid="ignore"):
        lower, upper = np.percentile(values, [tail, 100.0 - tail], axis=0, method=method)
        sd = values.std(axis=0, ddof=1 if len(values) > 1 else 0)
    return {"mean": values.mean(axis=0), "sd": sd, "lower": lower, "upper": upper}


def _check_tta(tta: str) -> tuple[tuple[int, ...], ...]:
    if tta not in TTA_FLIPS:
        raise MeddlError(f"The 'tta' setting must be one of {', '.join(TTA_FLIPS)}. Got {tta!r} instead.")
    return TTA_FLIPS[tta]


def describe_tta(tta: str) -> str:
    """One sentence for the log and the report: what test-time augmentation setting ``tta`` averages."""
    _check_tta(tta)
    if tta == "none":
        return "No test-time augmentation: each image is predicted as it is."
    copies = {"horizontal": "its left-right mirror image", "vertical": "its upside-down mirror image",
              "horizontal_and_vertical": "its left-right, upside-down and both-ways mirror images"}[tta]
    return (f"Test-time augmentation '{tta}': each image's class probabilities are the mean over the image and "
            f"{copies} ({len(TTA_FLIPS[tta]) + 1} views), before calibration, for validation, test and new images "
            "alike, so the threshold, calibration and conformal sets are fitted on these averaged outputs "
            "(early stopping still picks the epoch on the images as they are).")


def member_outputs(models, x: np.ndarray, *, tta: str = "none", classification: bool = True) -> np.ndarray:
    """Each member's raw outputs (logits for classification), shape ``(members, N, outputs)``, float64.

    ``tta`` (a key of :data:`TTA_FLIPS`) averages each member over the images ``x`` and their mirrored
    copies: ``classification`` outputs become ``log`` of the mean probability over the views (their softmax
    is that mean), regression outputs the mean output. ``"none"`` returns the network's outputs unchanged.
    """
    flips = _check_tta(tta)
    if flips and np.ndim(x) != 4:
        raise DataError(f"Test-time augmentation (tta {tta!r}) mirrors images, so it needs a batch of images "
                        f"(N, height, width, channels); got an array of shape {np.shape(x)}.")
    outputs = []
    for model in models:
        tensor = model._to_device(x)
        views = [model.predict_tensor(tensor.flip(axes) if axes else tensor, logits=True).cpu().numpy()
                 .astype(np.float64) for axes in ((), *flips)]
        outputs.append(views[0] if len(views) == 1 else combine_outputs(np.stack(views), classification)[0])
    return np.stack(outputs)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    proba = np.exp(shifted)
    return proba / proba.sum(axis=-1, keepdims=True)


def combine_outputs(outputs: np.ndarray, classification: bool) -> tuple[np.ndarray, np.ndarray]:
    """``(combined, per_member)`` from ``member_outputs``.

    Classification: ``combined`` is ``log`` of the members' mean probabilities
    (use it as logits), ``per_member`` the members' probabilities ``(members, N, classes)``.
    Regression: ``combined`` is the members' mean output, ``per_member`` the outputs.
    """
    if not classification:
        return outputs.mean(axis=0), outputs
    proba = _softmax(outputs)
    if len(proba) == 1:
        return outputs[0], proba
    mean = proba.mean(axis=0)
    return np.log(np.clip(mean, np.finfo(np.float64).tiny, None)), proba


def spread_columns(per_member: np.ndarray, class_names: list[str] | None,
                   target_scaling: dict | None = None) -> dict[str, np.ndarray]:
    """Uncertainty columns for the prediction table: ``prob_<class>_sd/_low/_high`` (or ``predicted_*``)."""
    if class_names is None:
        values = per_member[..., 0]
        if target_scaling:
            values = values * target_scaling["std"] + target_scaling["mean"]
        spread = member_spread(values)
        return {"predicted_sd": spread["sd"], "predicted_low": spread["lower"], "predicted_high": spread["upper"]}
    columns = {}
    for k, name in enumerate(class_names):
        spread = member_spread(per_member[:, :, k])
        columns[f"prob_{name}_sd"] = spread["sd"]
        columns[f"prob_{name}_low"] = spread["lower"]
        columns[f"prob_{name}_high"] = spread["upper"]
    return columns
