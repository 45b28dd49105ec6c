"""Which trial a search hands back: the untuned config, unless a trial beat it by more than the noise.

Trial 0 of every search is the config as written (:data:`UNTUNED`). Picking the
trial with the best mean score is biased towards luck: with many trials, the best
of them is partly the one whose folds happened to suit it. On Wisconsin (569 rows)
the best of ~30 trials on an 85-row validation split had test AUROC 0.931, the
untuned default 0.993.

The one-standard-error rule (Breiman et al. 1984; Hastie, Tibshirani & Friedman,
*The Elements of Statistical Learning*, 7.10) guards against it: the standard
error of the best trial's mean is ``sd(fold scores) / sqrt(K)``; the untuned config
is kept unless the best trial's mean is better than the untuned mean by more than
that. The untuned config plays the role of the "simplest model" of the classic rule:
it is the one the user would have had anyway. Without fold scores (a search
scored on one validation split, on large data) the best trial is taken, as its
score is then precise (see :mod:`meddl.studies.search_folds`).

``tune.selection: best`` turns the rule off.

Measured with ``bench/accuracy.py`` (120 s of search, 5-fold CV, on a shared
2-core machine): Wisconsin, 28 trials: best mean Brier 0.0256 against the
untuned 0.0262, one SE 0.0043: kept (an earlier run with 6 trials switched, gain
0.0055 against SE 0.0052, and its test AUROC was 0.989 against 0.993: inside the
noise either way). GBSG2, 31 trials: C-index 0.690 against 0.682, SE 0.010: kept.
IHDP realisation 1, 6 trials: factual RMSE 1.12 against 1.40, SE 0.027: switched
to a DragonNet, test sqrt(PEHE) 0.64 [0.52, 0.76] against the default's 1.13
[0.89, 1.34]. With today's smaller treatment default and 300 s of search, IHDP 1-5
switched twice: realisation 2 (gain 0.044, SE 0.010; test sqrt(PEHE) 0.356 against
0.564) and realisation 3 (gain 0.033, SE 0.032, just past the rule; 0.309 against 0.197:
the one switch that lost on the 75 test patients). Scored by PEHE_nn instead of the
factual RMSE (:func:`meddl.studies.objective.default_metric`), the same searches switched on
realisations 1 (gain 0.060, SE 0.019; 0.290 against 0.304) and 2 (0.083, SE 0.037; 0.340
against 0.564) and kept the default on 3 (gain 0.040, SE 0.056), 4 and 5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from meddl.errors import ConfigError

__all__ = ["UNTUNED", "Selection", "select_trial", "standard_error", "untuned_trial"]

UNTUNED = "untuned"  # the user attribute that marks trial 0, the config as written


@dataclass
class Selection:
    """The chosen trial, the rule that chose it, and the numbers behind the choice."""

    trial: Any  # an optuna FrozenTrial
    rule: str
    reason: str
    untuned_value: float | None = None
    best_value: float | None = None
    standard_error: float | None = None

    @property
    def is_untuned(self) -> bool:
        return bool(self.trial.user_attrs.get(UNTUNED))

    def to_dict(self) -> dict[str, Any]:
        return {"trial": self.trial.number, "rule": self.rule, "reason": self.reason, "untuned": self.is_untuned,
                "untuned_value": self.untuned_value, "best_value": self.best_value,
                "standard_error": self.standard_error}


def _completed(study) -> list:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def untuned_trial(study):
    """The completed trial that trained the config as written, or ``None``."""
    return next((t for t in _completed(study) if t.user_attrs.get(UNTUNED)), None)


def standard_error(scores: list[float]) -> float | None:
    """``sd / sqrt(K)`` of K fold scores (``None`` for fewer than 2)."""
    values = np.asarray([s for s in scores if s is not None and math.isfinite(s)], dtype=float)
    if values.size < 2:
        return None
    return float(values.std(ddof=1) / math.sqrt(values.size))


def select_trial(study, rule: str = "one_se") -> Selection:
    """The trial to train: the best one, or the untuned one under the one-standard-error rule.

    Raises:
        ConfigError: no trial completed.
    """
    completed = _completed(study)
    if not completed:
        raise ConfigError("No search trial completed, so there is no config to choose; give the search more time "
                          "or trials.")
    best = study.best_trial
    untuned = untuned_trial(study)
    if untuned is None:
        return Selection(best, "best", "the best mean score (the untuned config did not complete)",
                         best_value=best.value)
    if best.number == untuned.number:
        return Selection(best, rule, "the untuned config scored best", untuned.value, best.value)
    if rule == "best":
        return Selection(best, "best", "the best mean score (tune.selection: best)", untuned.value, best.value)
    error = standard_error(best.user_attrs.get("fold_scores") or [])
    if error is None:
        return Selection(best, "best", "the best validation score (one split: no fold scores to measure the noise)",
                         untuned.value, best.value)
    sign = 1.0 if study.direction.name == "MAXIMIZE" else -1.0
    gain = sign * (best.value - untuned.value)
    numbers = (f"trial {best.number} mean {best.value:.4f}, untuned {untuned.value:.4f}, gain {gain:.4f}, "
               f"one standard error {error:.4f}")
    if gain > error:
        return Selection(best, "one_se", f"the best trial beat the untuned config by more than one standard error "
                         f"({numbers})", untuned.value, best.value, error)
    return Selection(untuned, "one_se", f"no trial beat the untuned config by more than one standard error "
                     f"({numbers}): kept the untuned config", untuned.value, best.value, error)
