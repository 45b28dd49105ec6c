"""The run log: timestamped lines kept for ``train.log``, echoed when verbose."""

from __future__ import annotations

import sys
import time

__all__ = ["RunLog", "stamped"]


def stamped(message: str) -> str:
    """``message`` as a line of ``train.log``: ``[YYYY-mm-dd HH:MM:SS] message``."""
    return f"[{time.strftime('%Y-%m-%d %H:%M:%S')}] {message}"


class RunLog:
    """Collects the lines of ``train.log``; ``echo=True`` also prints each to stderr as it happens."""

    def __init__(self, echo: bool = False):
        self.lines: list[str] = []
        self.echo = echo
        self.started = time.perf_counter()

    def __call__(self, message: str) -> None:
        line = stamped(message)
        self.lines.append(line)
        if self.echo:
            print(line, file=sys.stderr, flush=True)

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"
