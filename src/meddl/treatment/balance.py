"""Integral probability metrics (IPMs) between the treated and control representations.

CFRNet adds ``alpha * IPM(Φ(x) | t=1, Φ(x) | t=0)`` to its loss so the learned
representation Φ has similar distributions in both arms (Shalit et al., ICML 2017).
These follow the reference implementation (cfrnet, ``cfr/util.py``) with the arms
weighted ``p = 0.5`` (no propensity correction, as in its IHDP settings).

Each function takes ``representation`` (N, d) and ``treatment`` (N,) of 0/1 and
returns a scalar tensor; it is 0 when an arm is empty (a mini-batch may hold one arm only).
"""

from __future__ import annotations

import torch

from meddl.errors import ConfigError, unknown_name_error

__all__ = ["sinkhorn_wasserstein", "mmd_rbf", "mmd_linear", "IPMS", "get_ipm"]


def _split(representation: torch.Tensor, treatment: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    treated = treatment > 0.5
    return representation[treated], representation[~treated]


def _squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a.pow(2).sum(1, keepdim=True) - 2.0 * a @ b.T + b.pow(2).sum(1)[None, :]).clamp_min(0.0)


def sinkhorn_wasserstein(representation: torch.Tensor, treatment: torch.Tensor, *, p: float = 0.5,
                         lam: float = 10.0, iterations: int = 10) -> torch.Tensor:
    """Entropy-regularised Wasserstein-1 distance between the arms (Sinkhorn iterations).

    As in Shalit et al.'s code: Euclidean costs, a dummy point at the largest cost
    absorbing the mass ``1 - p`` / ``p``, regularisation ``lam / mean(cost)`` and the
    transport plan back-propagated. With ``p = 0.5`` it approximates W1 of the two
    empirical distributions.

    Example:
        >>> import torch
        >>> z = torch.randn(40, 3)
        >>> t = torch.arange(40) % 2
        >>> float(sinkhorn_wasserstein(z, t)) >= 0
        True
    """
    treated, control = _split(representation, treatment)
    n_treated, n_control = treated.shape[0], control.shape[0]
    if n_treated == 0 or n_control == 0:
        return representation.sum() * 0.0
    cost = torch.sqrt(_squared_distances(treated, control) + 1e-10)
    delta = cost.max().detach()
    effective_lam = (lam / cost.mean()).detach()
    device, dtype = cost.device, cost.dtype
    cost = torch.cat([cost, torch.full((1, n_control), float(delta), device=device, dtype=dtype)], dim=0)
    cost = torch.cat([cost, torch.cat([torch.full((n_treated, 1), float(delta), device=device, dtype=dtype),
                                       torch.zeros((1, 1), device=device, dtype=dtype)], dim=0)], dim=1)
    a = torch.cat([torch.full((n_treated, 1), p / n_treated, device=device, dtype=dtype),
                   torch.full((1, 1), 1.0 - p, device=device, dtype=dtype)])
    b = torch.cat([torch.full((n_control, 1), (1.0 - p) / n_control, device=device, dtype=dtype),
                   torch.full((1, 1), p, device=device, dtype=dtype)])
    kernel = torch.exp(-effective_lam * cost) + 1e-6
    a_inverse_kernel = kernel / a
    u = a
    for _ in range(int(iterations)):
        u = 1.0 / (a_inverse_kernel @ (b / (u.T @ kernel).T))
    v = b / (u.T @ kernel).T
    transport = u * (v.T * kernel)
    return 2.0 * (transport * cost).sum()


def mmd_rbf(representation: torch.Tensor, treatment: torch.Tensor, *, p: float = 0.5,
            sigma: float | None = None) -> torch.Tensor:
    """Squared maximum mean discrepancy with a Gaussian kernel (unbiased within-arm terms).

    ``sigma=None`` uses the median heuristic (median pairwise distance, not back-propagated),
    so the kernel stays informative whatever the scale of the representation.
    """
    treated, control = _split(representation, treatment)
    m, n = control.shape[0], treated.shape[0]
    if m < 2 or n < 2:
        return representation.sum() * 0.0
    d_cc = _squared_distances(control, control)
    d_ct = _squared_distances(control, treated)
    d_tt = _squared_distances(treated, treated)
    if sigma is None:
        bandwidth = d_ct.detach().median().clamp_min(1e-6)
    else:
        bandwidth = torch.as_tensor(float(sigma) ** 2, dtype=representation.dtype, device=representation.device)
    k_cc, k_ct, k_tt = (torch.exp(-d / bandwidth) for d in (d_cc, d_ct, d_tt))
    mmd = (1.0 - p) ** 2 / (m * (m - 1.0)) * (k_cc.sum() - m)
    mmd = mmd + p ** 2 / (n * (n - 1.0)) * (k_tt.sum() - n)
    mmd = mmd - 2.0 * p * (1.0 - p) / (m * n) * k_ct.sum()
    return 4.0 * mmd


def mmd_linear(representation: torch.Tensor, treatment: torch.Tensor, *, p: float = 0.5) -> torch.Tensor:
    """Linear-kernel MMD: the squared distance between the arms' (weighted) mean representations."""
    treated, control = _split(representation, treatment)
    if treated.shape[0] == 0 or control.shape[0] == 0:
        return representation.sum() * 0.0
    return (2.0 * p * treated.mean(0) - 2.0 * (1.0 - p) * control.mean(0)).pow(2).sum()


IPMS = {"wasserstein": sinkhorn_wasserstein, "mmd": mmd_rbf, "mmd_linear": mmd_linear}


def get_ipm(name: str):
    """The IPM function called ``name`` (``"wasserstein"``, ``"mmd"`` (RBF kernel) or ``"mmd_linear"``)."""
    if name not in IPMS:
        raise unknown_name_error("ipm", name, IPMS, error_class=ConfigError)
    return IPMS[name]
