"""The outputs and targets an epoch records for its metrics: one tensor, or one per output of a model with
several outputs (lists), detached from the graph, joined along the rows, gathered from every process."""

from __future__ import annotations

from typing import Any

import torch

from meddl.training.distributed import gather_rows

__all__ = ["detached", "gathered", "joined"]


def detached(out: Any) -> Any:
    """A batch's outputs (a tensor, or one per output) without their graph."""
    return [item.detach() for item in out] if isinstance(out, list) else out.detach()


def joined(chunks: list[Any]) -> Any:
    """The batches' outputs or targets joined along the rows: a tensor, or one per output."""
    if chunks and isinstance(chunks[0], list):
        return [torch.cat([chunk[index] for chunk in chunks]) for index in range(len(chunks[0]))]
    return torch.cat(chunks)


def gathered(rows: Any) -> Any:
    """Rows from every process (distributed training): a tensor, or one per output."""
    return [gather_rows(item) for item in rows] if isinstance(rows, list) else gather_rows(rows)
