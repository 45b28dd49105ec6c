"""Dragonnet (Shi, Blei & Veitch, NeurIPS 2019): outcome heads + a propensity head + targeted regularisation."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from meddl.treatment.neural import DEFAULT_ACTIVATION, COMMON_CONSTRAINTS, NeuralEffectEstimator
from meddl.saving import register_class

__all__ = ["Dragonnet"]


@register_class("treatment")
class Dragonnet(NeuralEffectEstimator):
    """TARNet with a propensity head on the shared representation, trained jointly.

    Loss = factual outcome loss + ``alpha`` · cross-entropy(ĝ(x), t)
    + ``beta`` · targeted regularisation, where the targeted term is the squared
    error of the perturbed prediction Q̃ = Q + ε·(t/ĝ − (1−t)/(1−ĝ)) with a
    learned scalar ε (the TMLE-style fluctuation of Shi et al.). Predicting the
    propensity from Φ keeps in Φ what matters for confounding.

    Args:
        alpha: weight of the propensity cross-entropy (Shi et al.: 1).
        beta: weight of targeted regularisation (Shi et al.: 1); 0 turns it off.
        Other arguments: as :class:`~meddl.treatment.TARNet`.

    Example:
        >>> from meddl.treatment import Dragonnet
        >>> model = Dragonnet(alpha=1.0, beta=1.0, random_state=0)
    """

    _parameter_constraints = {**COMMON_CONSTRAINTS, "alpha": ("float", 0.0, None), "beta": ("float", 0.0, None)}
    _network_options = {"normalize": False, "propensity": True, "targeted": True}

    def __init__(self, *, alpha: float = 1.0, beta: float = 1.0,
                 representation_units: tuple[int, ...] = (64,), head_units: tuple[int, ...] = (100, 100),
                 activation: str = DEFAULT_ACTIVATION, outcome: str = "auto", learning_rate: float = 1e-3,
                 weight_decay: float = 0.03, batch_size: int = 100, max_epochs: int = 500, patience: int = 30,
                 validation_fraction: float = 0.3, balance_arms: bool = False, random_state: int | None = None,
                 verbose: int = 0):
        self.alpha = alpha
        self.beta = beta
        self.representation_units = representation_units
        self.head_units = head_units
        self.activation = activation
        self.outcome = outcome
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.balance_arms = balance_arms
        self.random_state = random_state
        self.verbose = verbose

    def _penalty(self, network, out, target) -> torch.Tensor:
        y, t = target[:, 0], target[:, 1]
        penalty = float(self.alpha) * F.binary_cross_entropy_with_logits(out.propensity_logit, t)
        if self.beta > 0:
            # Shi et al. keep ĝ away from 0 and 1 before dividing by it.
            g = (torch.sigmoid(out.propensity_logit) + 0.01) / 1.02
            q = torch.where(t > 0.5, out.outcomes[:, 1], out.outcomes[:, 0])
            if self.outcome_type_ == "binary":
                q = torch.sigmoid(q)
            clever = t / g - (1.0 - t) / (1.0 - g)
            perturbed = q + network.epsilon * clever
            penalty = penalty + float(self.beta) * ((y - perturbed) ** 2).mean()
        return penalty

    def predict_propensity(self, x: Any) -> np.ndarray:
        """The propensity head's estimate of P(t = 1 | x), shape (N,)."""
        logit = self._forward(x).propensity_logit.double().numpy()
        return 1.0 / (1.0 + np.exp(-logit))
