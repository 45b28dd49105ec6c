"""The two-headed network shared by TARNet, CFRNet and Dragonnet.

x → Φ(x) (representation, a ``Sequential`` of ``Dense`` layers) → one outcome head
per arm (``Sequential``), plus, for Dragonnet, a propensity head and the scalar ε of
targeted regularisation. Every piece is a meddl ``Sequential`` so it serialises as
plain data (``get_config``) and its weights by name (``named_weights``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import nn

from meddl.layers import Dense
from meddl.models import Sequential

PARTS = ("representation", "head_control", "head_treated", "propensity_head")


class NetworkOutput(NamedTuple):
    outcomes: torch.Tensor            # (N, 2): head outputs for control and treated (logits for binary outcomes)
    propensity_logit: torch.Tensor | None
    representation: torch.Tensor


class EffectNetwork(nn.Module):
    """Representation Φ, outcome heads for control and treated, optional propensity head and ε."""

    def __init__(self, representation: Sequential, head_control: Sequential, head_treated: Sequential,
                 propensity_head: Sequential | None = None, *, normalize: bool = False, targeted: bool = False):
        super().__init__()
        self.representation = representation
        self.head_control = head_control
        self.head_treated = head_treated
        self.propensity_head = propensity_head
        self.normalize = bool(normalize)
        self.epsilon = nn.Parameter(torch.zeros(1)) if targeted else None

    def represent(self, x: torch.Tensor) -> torch.Tensor:
        phi = self.representation(x)
        if self.normalize:
            # Shalit et al.'s "divide" normalisation, so the IPM cannot shrink by scaling Φ down; times √d so
            # the coordinates stay of order 1 and the heads need no large (weight-decayed) kernels.
            phi = phi * (phi.shape[1] ** 0.5) / torch.sqrt((phi * phi).sum(dim=1, keepdim=True) + 1e-10)
        return phi

    def forward(self, x: torch.Tensor) -> NetworkOutput:
        phi = self.represent(x)
        outcomes = torch.cat([self.head_control(phi), self.head_treated(phi)], dim=1)
        propensity = self.propensity_head(phi)[:, 0] if self.propensity_head is not None else None
        return NetworkOutput(outcomes, propensity, phi)

    def parts(self) -> dict[str, Sequential]:
        return {name: getattr(self, name) for name in PARTS if getattr(self, name) is not None}

    def get_config(self) -> dict[str, Any]:
        return {"parts": {name: part.get_config() for name, part in self.parts().items()},
                "normalize": self.normalize, "targeted": self.epsilon is not None}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "EffectNetwork":
        parts = {name: Sequential.from_config(spec) for name, spec in config["parts"].items()}
        return cls(parts["representation"], parts["head_control"], parts["head_treated"],
                   parts.get("propensity_head"), normalize=config["normalize"], targeted=config["targeted"])

    def named_weights(self) -> dict[str, torch.Tensor]:
        weights = {f"{name}.{key}": value for name, part in self.parts().items()
                   for key, value in part.named_weights().items()}
        if self.epsilon is not None:
            weights["epsilon"] = self.epsilon.data
        return weights

    def load_named_weights(self, weights: dict[str, torch.Tensor]) -> None:
        own = self.named_weights()
        missing, unexpected = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
        if missing or unexpected:
            raise ValueError(f"weights missing {missing[:5]}, unexpected {unexpected[:5]}")
        for name, part in self.parts().items():
            prefix = name + "."
            part.load_named_weights({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
        if self.epsilon is not None:
            with torch.no_grad():
                self.epsilon.copy_(weights["epsilon"])
    def kernels(self) -> list[nn.Parameter]:
        """The Dense kernels of every part (the weights an L2 penalty applies to; not biases, not ε)."""
        return [p for part in self.parts().values() for name, p in part.named_parameters() if name.endswith("kernel")]


def _stack(n_inputs: int, units: tuple[int, ...], activation: str, output_units: int | None) -> Sequential:
    layers = []
    for index, width in enumerate(units):
        layers.append(Dense(int(width), activation, input_shape=(n_inputs,) if index == 0 else None))
    if output_units is not None:
        layers.append(Dense(output_units, input_shape=(n_inputs,) if not units else None))
    return Sequential(layers)


def build_network(n_features: int, representation_units: tuple[int, ...], head_units: tuple[int, ...],
                  activation: str, *, normalize: bool = False, propensity: bool = False,
                  targeted: bool = False) -> EffectNetwork:
    """Build an :class:`EffectNetwork` for inputs with ``n_features`` columns."""
    representation = _stack(n_features, tuple(representation_units), activation, None)
    width = int(representation_units[-1])
    heads = [_stack(width, tuple(head_units), activation, 1) for _ in range(2)]
    propensity_head = _stack(width, (), activation, 1) if propensity else None
    return EffectNetwork(representation, heads[0], heads[1], propensity_head, normalize=normalize, targeted=targeted)
