"""Replace the train/validation/test rows of every run started inside a ``with split_override(plan)`` block.

A tuning trial must never touch the test split, and nested cross-validation
needs folds of its own; both run the task pipelines unchanged, which split
their rows in one place (``split_rows``). That place asks for the active plan:
``plan(data, splits) -> splits`` receives the loaded data and the run's own
split and returns the rows to use. Rows the plan leaves out are never
transformed, fitted or scored.

Example:
    >>> from meddl.data.split_override import active_split_override, split_override
    >>> with split_override(lambda data, splits: splits):
    ...     active_split_override() is not None
    True
    >>> active_split_override() is None
    True
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["active_split_override", "split_override"]

_PLANS: list[Callable[[Any, Any], Any]] = []


@contextlib.contextmanager
def split_override(plan: Callable[[Any, Any], Any]) -> Iterator[None]:
    """Use ``plan(data, splits) -> splits`` for the runs inside the block (the innermost block wins)."""
    _PLANS.append(plan)
    try:
        yield
    finally:
        _PLANS.remove(plan)


def active_split_override() -> Callable[[Any, Any], Any] | None:
    """The innermost active plan, or ``None``."""
    return _PLANS[-1] if _PLANS else None
