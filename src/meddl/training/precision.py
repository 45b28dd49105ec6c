"""``precision="auto"``: measure, then train in the fastest precision the hardware offers.

Candidates: fp32 always; bf16 on a CPU with native bfloat16 instructions
(AVX512-BF16 or AMX) and on CUDA devices that support it; fp16 (with a gradient
scaler) on other CUDA devices. Mixed precision keeps fp32 master weights and
computes the loss in fp32, so accuracy is kept; a candidate whose probe loss is
not finite is dropped. The probe runs a few real training steps per candidate
on the first batch and then restores the weights, the optimizer state and the
random generators exactly, so "auto" changes speed, not the run's randomness.
"""

from __future__ import annotations

import copy
import time

import torch

__all__ = ["candidate_precisions", "choose_precision"]


def _cpu_has_native_bf16() -> bool:
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def candidate_precisions(device: torch.device) -> list[str]:
    if device.type == "cuda":
        return ["fp32", "bf16" if torch.cuda.is_bf16_supported() else "fp16"]
    return ["fp32", "bf16"] if _cpu_has_native_bf16() else ["fp32"]


def choose_precision(loop, batch: tuple[torch.Tensor, ...], steps: int = 6) -> tuple[str, dict[str, float]]:
    """Time ``steps`` training steps of ``loop`` on ``batch`` in each candidate precision; return the fastest."""
    candidates = candidate_precisions(loop.device)
    if len(candidates) == 1:
        return candidates[0], {}
    module, optimizer = loop.module, loop.optimizer
    saved_weights = copy.deepcopy(module.state_dict())
    saved_optimizer = copy.deepcopy(optimizer.state_dict())
    saved_rng = torch.get_rng_state()
    saved_cuda_rng = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    was_training = module.training
    module.train()
    timings: dict[str, float] = {}
    original = loop.precision
    try:
        for precision in candidates:
            loop.precision = precision
            elapsed = []
            finite = True
            for step in range(steps + 1):  # the first step warms kernels up and is not timed
                if loop.device.type == "cuda":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                optimizer.zero_grad(set_to_none=True)
                with loop._autocast():
                    loss, _ = loop.step_loss(batch)
                loop._backward(loss)
                if loop.device.type == "cuda":
                    torch.cuda.synchronize()
                if step:
                    elapsed.append(time.perf_counter() - start)
                finite = finite and bool(torch.isfinite(loss.detach()).all())
            if finite:
                timings[precision] = sorted(elapsed)[len(elapsed) // 2]
    finally:
        loop.precision = original
        module.load_state_dict(saved_weights)
        optimizer.load_state_dict(saved_optimizer)
        optimizer.zero_grad(set_to_none=True)
        torch.set_rng_state(saved_rng)
        if saved_cuda_rng is not None:
            torch.cuda.set_rng_state_all(saved_cuda_rng)
        module.train(was_training)
    if not timings:
        return "fp32", {}
    # Prefer fp32 unless another precision is clearly (>10%) faster: timing noise should not flip it.
    best = min(timings, key=timings.get)
    if best != "fp32" and "fp32" in timings and timings[best] > 0.9 * timings["fp32"]:
        best = "fp32"
    return best, timings
