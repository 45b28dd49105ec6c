"""Data-parallel training on PyTorch's own distributed engine (``torch.distributed``).

Launch with ``torchrun`` (or ``meddl train CONFIG --nproc N``, which calls it):
each process trains on its share of every global batch, gradients are averaged
by ``DistributedDataParallel`` (gloo on CPU, NCCL on GPU), and only rank 0
writes files. Epoch losses and metrics are computed over all ranks' samples,
so an uneven last batch is counted exactly.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

__all__ = ["rank_and_world", "is_main_process", "init_from_environment", "all_sum", "gather_rows", "barrier"]


def rank_and_world() -> tuple[int, int]:
    """``(rank, world size)``; ``(0, 1)`` outside a distributed run."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    return rank_and_world()[0] == 0


def init_from_environment(device: torch.device | None = None) -> bool:
    """Join the process group ``torchrun`` describes in the environment (if any); return whether distributed."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        use_cuda = (device is None and torch.cuda.is_available()) or (device is not None and device.type == "cuda")
        if use_cuda:
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return True


def all_sum(value: torch.Tensor) -> torch.Tensor:
    """Sum a tensor over all ranks (the tensor itself outside a distributed run)."""
    if rank_and_world()[1] > 1:
        value = value.clone()
        dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return value


def gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate every rank's rows (first axis), in rank order; lengths may differ."""
    _, world = rank_and_world()
    if world == 1:
        return tensor
    length = torch.tensor([tensor.shape[0]], device=tensor.device)
    lengths = [torch.zeros_like(length) for _ in range(world)]
    dist.all_gather(lengths, length)
    longest = int(max(l.item() for l in lengths))
    padded = torch.zeros((longest, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
    padded[: tensor.shape[0]] = tensor
    parts = [torch.zeros_like(padded) for _ in range(world)]
    dist.all_gather(parts, padded)
    return torch.cat([part[: int(l.item())] for part, l in zip(parts, lengths)])


def barrier() -> None:
    if rank_and_world()[1] > 1:
        dist.barrier()
